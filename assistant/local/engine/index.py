"""KnowledgeBase: the passages of the event's documents, searchable by words (BM25), meaning or both.

The corpus of an event is small (hundreds of passages), so the BM25 index is simply rebuilt whenever the
documents change, and dense search is one matrix-vector product. Only the vectors are expensive (the
model's time), so they are computed once per passage, kept across changes and saved with the passages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.local.engine.chunking import Passage, chunk_document
from assistant.local.engine.documents import Document
from assistant.local.engine.embedding import Embedder, Vectors
from assistant.local.engine.text import terms

SearchMode = Literal["lexical", "dense", "hybrid"]
RRF_K = 60
"""Reciprocal rank fusion's constant: damps the head of each list so one list alone cannot dominate."""
FUSION_DEPTH = 50
"""How many of each list's best passages take part in the fusion."""
LEXICAL_WEIGHT = 0.7
DENSE_WEIGHT = 1.0
"""Weights of each list's reciprocal ranks in the fusion."""
FORMAT_VERSION = 1
PASSAGES_FILE = "passages.json"
VECTORS_FILE = "vectors.npy"


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float
    """BM25 score (lexical), cosine similarity (dense) or fused reciprocal-rank score (hybrid)."""


class KnowledgeBase:
    """Passages with a lexical and a dense index; not thread-safe while it is being changed."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._passages: list[Passage] = []
        self._vectors: Vectors = np.zeros((0, 0), dtype=np.float32)
        self._bm25: Any = None
        self._positions: dict[str, int] = {}

    @classmethod
    def build(cls, documents: Iterable[Document], embedder: Embedder) -> KnowledgeBase:
        knowledge = cls(embedder)
        knowledge.add(documents)
        return knowledge

    @property
    def passages(self) -> tuple[Passage, ...]:
        return tuple(self._passages)

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
        vectors = self._embedder.embed([p.indexed_text() for p in new])
        keep = [i for i, p in enumerate(self._passages) if p.doc_id not in batch]
        old_vectors = self._vectors[keep] if keep else None
        self._passages = [self._passages[i] for i in keep] + new
        self._vectors = vectors if old_vectors is None else np.concatenate([old_vectors, vectors], axis=0)
        self._reindex()

    def remove(self, doc_id: str) -> bool:
        """Drop a document's passages; returns whether it was there."""
        keep = [i for i, p in enumerate(self._passages) if p.doc_id != doc_id]
        if len(keep) == len(self._passages):
            return False
        self._passages = [self._passages[i] for i in keep]
        self._vectors = self._vectors[keep]
        self._reindex()
        return True

    def _reindex(self) -> None:
        self._positions = {p.passage_id: i for i, p in enumerate(self._passages)}
        if not self._passages:
            self._bm25 = None
            self._vectors = np.zeros((0, 0), dtype=np.float32)
            return
        import bm25s  # type: ignore[import-untyped]

        # bm25s's own tokenizer is bypassed so that the answerer's overlap counts words exactly as here.
        # Empty passages get a placeholder token: bm25s needs every document to have one.
        corpus = [terms(p.indexed_text()) or ["\x00"] for p in self._passages]
        index = bm25s.BM25()
        index.index(corpus, show_progress=False)
        self._bm25 = index

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
        words = terms(query)
        if not words or self._bm25 is None:
            return []
        scores = np.asarray(self._bm25.get_scores(words), dtype=np.float32)
        order = np.argsort(-scores, kind="stable")
        return [Hit(self._passages[i], float(scores[i])) for i in order if scores[i] > 0]

    def _dense(self, query: str) -> list[Hit]:
        if not query.strip():
            return []
        vector = self._embedder.embed([query])[0]
        scores = self._vectors @ vector
        order = np.argsort(-scores, kind="stable")
        return [Hit(self._passages[i], float(scores[i])) for i in order]

    def save(self, directory: Path) -> None:
        """Write ``passages.json`` and ``vectors.npy`` (no pickle: both are plain data)."""
        directory.mkdir(parents=True, exist_ok=True)
        payload = {"format": FORMAT_VERSION, "passages": [asdict(p) for p in self._passages]}
        (directory / PASSAGES_FILE).write_text(
            json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        np.save(directory / VECTORS_FILE, self._vectors, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, embedder: Embedder) -> KnowledgeBase:
        """Read what :meth:`save` wrote; ``embedder`` must be the model that made the vectors."""
        payload = json.loads((directory / PASSAGES_FILE).read_text(encoding="utf-8"))
        if payload.get("format") != FORMAT_VERSION:
            raise ValueError(f"{directory / PASSAGES_FILE}: unsupported format {payload.get('format')!r}")
        passages = [Passage(**item) for item in payload["passages"]]
        vectors = np.load(directory / VECTORS_FILE, allow_pickle=False).astype(np.float32, copy=False)
        if len(passages) != (vectors.shape[0] if vectors.ndim == 2 else 0):
            raise ValueError(f"{directory}: {len(passages)} passages but {vectors.shape[0]} vectors")
        knowledge = cls(embedder)
        knowledge._passages = passages
        knowledge._vectors = vectors
        knowledge._reindex()
        return knowledge
