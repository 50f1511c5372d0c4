"""KnowledgeBase: the passages of the event's documents, searchable by words (BM25), meaning or both.

The corpus of an event is small (hundreds of passages), so the BM25 index is simply rebuilt whenever the
documents change, and dense search is one matrix-vector product. Only the vectors are expensive (the
model's time), so they are computed once per passage, kept across changes and saved with the passages; so
are the vectors of the passages' quotable units, which the answerer compares with each question. A
knowledge base is therefore also an :class:`Embedder` that answers from what it holds: a question costs
one query embedding, not one per unit.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assistant.local.engine.chunking import Passage, chunk_document
from assistant.local.engine.documents import Document
from assistant.local.engine.embedding import DIMENSIONS, Embedder, Vectors
from assistant.local.engine.needs import named
from assistant.local.engine.text import terms

SearchMode = Literal["lexical", "dense", "hybrid"]
RRF_K = 60
"""Reciprocal rank fusion's constant: damps the head of each list so one list alone cannot dominate."""
FUSION_DEPTH = 50
"""How many of each list's best passages take part in the fusion."""
LEXICAL_WEIGHT = 0.7
DENSE_WEIGHT = 1.0
"""Weights of each list's reciprocal ranks in the fusion."""
FORMAT_VERSION = 2
PASSAGES_FILE = "passages.json"
VECTORS_FILE = "vectors.npy"
UNITS_FILE = "units.json"
UNIT_VECTORS_FILE = "unit-vectors.npy"
_QUERY_CACHE = 64


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
    """BM25 score (lexical), cosine similarity of the closest unit (dense) or fused reciprocal-rank score."""


class KnowledgeBase:
    """Passages with a lexical and a dense index; not thread-safe while it is being changed.

    The dense index holds the vectors of the passages' quotable units (a sentence, a record, a list with
    its introduction), not of whole passages: a passage's closeness to a question is that of its closest
    unit. A long passage's single vector blurs its many facts; a unit's does not.
    """

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._passages: list[Passage] = []
        self._bm25: Any = None
        self._positions: dict[str, int] = {}
        self._units: dict[str, Vectors] = {}
        """Passage-side vectors by text: the units of the passages held (and any text embedded since)."""
        self._queries: dict[str, Vectors] = {}
        self._cache_lock = threading.RLock()
        self._vocabulary: frozenset[str] = frozenset()
        self._matrix: Vectors = np.zeros((0, 0), dtype=np.float32)
        self._starts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        """Where each passage's rows begin in ``_matrix`` (rows are grouped by passage, in order)."""

    @classmethod
    def build(cls, documents: Iterable[Document], embedder: Embedder) -> KnowledgeBase:
        knowledge = cls(embedder)
        knowledge.add(documents)
        return knowledge

    @property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(self._passages)

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word (as ``terms`` gives them) the passages hold."""
        return self._vocabulary

    def __len__(self) -> int:
        return len(self._passages)

    def documents(self) -> list[str]:
        """The doc_ids held, in the order they were first added."""
        return list(dict.fromkeys(p.doc_id for p in self._passages))

    def add(self, documents: Iterable[Document]) -> None:
        """Add documents; a document whose doc_id is already held replaces the earlier version whole."""
        batch: dict[str, Document] = {}
        for document in documents:
            batch[document.doc_id] = document  # the last of two same-named documents wins, as on disk
        if not batch:
            return
        new = [p for document in batch.values() for p in chunk_document(document)]
        self.embed(_unit_texts(new))  # computed now, at ingestion, rather than on each question
        self._passages = [p for p in self._passages if p.doc_id not in batch] + new
        self._reindex()

    def remove(self, doc_id: str) -> bool:
        """Drop a document's passages; returns whether it was there."""
        keep = [p for p in self._passages if p.doc_id != doc_id]
        if len(keep) == len(self._passages):
            return False
        self._passages = keep
        self._reindex()
        return True

    # -- the Embedder port, from what is held ---------------------------------------------------------------

    def embed(self, texts: list[str]) -> Vectors:
        """Passage-side vectors, from the store when held (every unit of every passage is)."""
        with self._cache_lock:  # the local stand-ins answer requests on several threads
            missing = list(dict.fromkeys(t for t in texts if t not in self._units))
            for text in missing:
                # One at a time: the engine pads a batch to its longest text, which costs more than it saves.
                self._units[text] = self._embedder.embed([text])[0]
            if not texts:
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return np.stack([self._units[t] for t in texts]).astype(np.float32, copy=False)

    def embed_queries(self, texts: list[str]) -> Vectors:
        """Query-side vectors; the last few are kept (a question is searched, then its answer scored)."""
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._queries))
            if missing:
                if len(self._queries) + len(missing) > _QUERY_CACHE:
                    self._queries.clear()
                for text, vector in zip(missing, self._embedder.embed_queries(missing), strict=True):
                    self._queries[text] = vector
            if not texts:
                return np.zeros((0, DIMENSIONS), dtype=np.float32)
            return np.stack([self._queries[t] for t in texts]).astype(np.float32, copy=False)

    def _reindex(self) -> None:
        self._positions = {p.passage_id: i for i, p in enumerate(self._passages)}
        if not self._passages:
            self._bm25 = None
            self._vocabulary = frozenset()
            self._matrix = np.zeros((0, DIMENSIONS), dtype=np.float32)
            self._starts = np.zeros(0, dtype=np.int64)
            return
        import bm25s  # type: ignore[import-untyped]

        # bm25s's own tokenizer is bypassed so that the answerer's overlap counts words exactly as here.
        # Empty passages get a placeholder token: bm25s needs every document to have one.
        corpus = [terms(p.indexed_text()) or ["\x00"] for p in self._passages]
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        self._bm25 = index
        self._vocabulary = frozenset(word for words in corpus for word in words)
        rows: list[str] = []
        starts: list[int] = []
        for passage in self._passages:
            starts.append(len(rows))
            rows += _unit_texts([passage]) or [passage.indexed_text()]
        self._matrix = self.embed(rows)
        self._starts = np.asarray(starts, dtype=np.int64)
        held = set(rows)
        self._units = {t: v for t, v in self._units.items() if t in held}

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        """The ``k`` best passages for ``query``, best first; fewer when fewer match (lexical) or exist."""
        if not self._passages or k <= 0:
            return []
        if mode == "lexical":
            return self._lexical(query)[:k]
        if mode == "dense":
            return self._dense(query)[:k]
        if mode != "hybrid":
            raise ValueError(f"unknown search mode {mode!r}: use 'lexical', 'dense' or 'hybrid'")
        fused: dict[int, float] = {}
        for weight, ranking in ((LEXICAL_WEIGHT, self._lexical(query)), (DENSE_WEIGHT, self._dense(query))):
            for rank, hit in enumerate(ranking[:FUSION_DEPTH]):
                index = self._positions[hit.passage.passage_id]
                fused[index] = fused.get(index, 0.0) + weight / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return [Hit(self._passages[i], score) for i, score in best]

    def _lexical(self, query: str) -> list[Hit]:
        words = terms(f"{query} {named(query)}")  # "my phone is dying" finds "charging lockers"
        if not words or self._bm25 is None:
            return []
        scores = np.asarray(self._bm25.get_scores(words), dtype=np.float32)
        order = np.argsort(-scores, kind="stable")
        return [Hit(self._passages[i], float(scores[i])) for i in order if scores[i] > 0]

    def _dense(self, query: str) -> list[Hit]:
        if not query.strip():
            return []
        vector = self.embed_queries([query])[0]
        scores = np.maximum.reduceat(self._matrix @ vector, self._starts)
        order = np.argsort(-scores, kind="stable")
        return [Hit(self._passages[i], float(scores[i])) for i in order]

    def save(self, directory: Path) -> None:
        """Write the passages and their units' vectors (no pickle: JSON and ``.npy`` are plain data).

        All or nothing: the units and vectors go to files named after their content, then ``passages.json``,
        which names them, replaces the old one in one rename. A save cut short (Ctrl-C, a crash) leaves the
        previous knowledge base whole; the previous version's files are removed once the new one stands."""
        directory.mkdir(parents=True, exist_ok=True)
        units = list(self._units)
        units_json = json.dumps(units, ensure_ascii=False)
        version = hashlib.sha256(units_json.encode()).hexdigest()[:12]
        units_file, vectors_file = f"units-{version}.json", f"unit-vectors-{version}.npy"
        _write_atomically(directory / units_file, units_json.encode())
        vectors = io.BytesIO()
        np.save(vectors, self.embed(units), allow_pickle=False)
        _write_atomically(directory / vectors_file, vectors.getvalue())
        payload = {
            "format": FORMAT_VERSION,
            "model": _model_name(self._embedder),
            "units_file": units_file,
            "vectors_file": vectors_file,
            "passages": [asdict(p) for p in self._passages],
        }
        _write_atomically(
            directory / PASSAGES_FILE, json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")
        )
        for stale in (VECTORS_FILE, UNITS_FILE, UNIT_VECTORS_FILE):  # earlier formats' names
            (directory / stale).unlink(missing_ok=True)
        for old in (*directory.glob("units-*.json"), *directory.glob("unit-vectors-*.npy")):
            if old.name not in (units_file, vectors_file):
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path, embedder: Embedder) -> KnowledgeBase:
        """Read what :meth:`save` wrote. Passages saved by another model (or an older format) keep their
        text and are embedded again with ``embedder``; the caller saves to keep the new vectors."""
        payload = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
        if payload.get("format") not in (1, FORMAT_VERSION):
            raise ValueError(f"{directory / PASSAGES_FILE}: unsupported format {payload.get('format')!r}")
        knowledge = cls(embedder)
        knowledge._passages = [Passage(**item) for item in payload["passages"]]
        current = payload.get("format") == FORMAT_VERSION and payload.get("model") == _model_name(embedder)
        units_path = directory / str(payload.get("units_file") or UNITS_FILE)
        vectors_path = directory / str(payload.get("vectors_file") or UNIT_VECTORS_FILE)
        if current and units_path.exists() and vectors_path.exists():
            units = json.loads(units_path.read_text(encoding="utf-8"))
            vectors = np.load(vectors_path, allow_pickle=False)
            if len(units) != (vectors.shape[0] if vectors.ndim == 2 else 0):
                raise ValueError(f"{directory}: {len(units)} units but {vectors.shape[0]} vectors")
            knowledge._units = {str(t): vectors[i].astype(np.float32) for i, t in enumerate(units)}
        knowledge._reindex()  # embeds whatever is missing
        return knowledge


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _model_name(embedder: Embedder) -> str:
    return str(getattr(embedder, "model_name", type(embedder).__name__))


def _unit_texts(passages: list[Passage]) -> list[str]:
    """What the answerer embeds of these passages (see ``answer.unit_texts``)."""
    from assistant.local.engine.answer import unit_texts  # the answerer imports this module

    return unit_texts(passages)
