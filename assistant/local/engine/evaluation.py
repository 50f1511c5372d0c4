"""Retrieval and answer quality on an evaluation set (``knowledge/eval/questions.jsonl``).

Shared by the benchmark that prints the README's figures and the test that keeps them from regressing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.local.engine.answer import DEFAULT_THRESHOLD, answer
from assistant.local.engine.index import KnowledgeBase, SearchMode

MODES: tuple[SearchMode, ...] = ("lexical", "dense", "hybrid")
DOCUMENT_KINDS = frozenset({"direct", "paraphrase", "unanswerable", "language"})
"""Questions the documents answer (or that nothing answers), asked on their own."""


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    question: str
    doc: str | None
    facts: tuple[str, ...]
    kind: str
    language: str = "en"
    now: str | None = None
    """The time the question is asked at (time-aware and recommendation questions)."""
    previous: str | None = None
    """The question asked before it in the same conversation (follow-ups)."""


@dataclass(frozen=True, slots=True)
class RetrievalScores:
    mode: str
    hit_at_1: float
    hit_at_3: float
    mrr: float


@dataclass(frozen=True, slots=True)
class AnswerScores:
    answerable: int
    unanswerable: int
    correct: int
    """Answerable questions answered with every expected fact."""
    dont_know_on_answerable: int
    dont_know_on_unanswerable: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.answerable if self.answerable else 0.0

    @property
    def dont_know_precision(self) -> float:
        said = self.dont_know_on_answerable + self.dont_know_on_unanswerable
        return self.dont_know_on_unanswerable / said if said else 0.0

    @property
    def dont_know_recall(self) -> float:
        return self.dont_know_on_unanswerable / self.unanswerable if self.unanswerable else 0.0


def load_questions(path: Path) -> list[Question]:
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw: dict[str, Any] = json.loads(line)
            questions.append(
                Question(
                    raw["id"],
                    raw["question"],
                    raw.get("doc"),
                    tuple(raw.get("facts") or ()),
                    raw["kind"],
                    raw.get("language") or "en",
                    raw.get("now"),
                    raw.get("previous"),
                )
            )
    return questions


def retrieval_scores(
    knowledge: KnowledgeBase, questions: list[Question], mode: SearchMode
) -> RetrievalScores:
    """A hit is a passage from the document that holds the answer; over answerable questions only (those
    the documents answer: not the schedule's, nor follow-ups, which need their conversation)."""
    answerable = [q for q in questions if q.doc and q.kind in DOCUMENT_KINDS]
    hit1 = hit3 = reciprocal = 0.0
    for q in answerable:
        ranks = [
            n
            for n, hit in enumerate(knowledge.search(q.question, k=10, mode=mode))
            if hit.passage.doc_id == q.doc
        ]
        if ranks:
            hit1 += ranks[0] == 0
            hit3 += ranks[0] < 3
            reciprocal += 1 / (ranks[0] + 1)
    n = len(answerable) or 1
    return RetrievalScores(mode, hit1 / n, hit3 / n, reciprocal / n)


def answer_scores(
    knowledge: KnowledgeBase,
    questions: list[Question],
    threshold: float = DEFAULT_THRESHOLD,
) -> AnswerScores:
    correct = idk_answerable = idk_unanswerable = 0
    questions = [q for q in questions if q.kind in DOCUMENT_KINDS]
    for q in questions:
        result = answer(
            q.question,
            knowledge.search(q.question, k=5),
            knowledge,
            threshold=threshold,
            vocabulary=knowledge.vocabulary,
        )
        if result.text is None:
            if q.doc:
                idk_answerable += 1
            else:
                idk_unanswerable += 1
        elif q.doc and all(fact.lower() in result.text.lower() for fact in q.facts):
            correct += 1
    answerable = sum(1 for q in questions if q.doc)
    return AnswerScores(answerable, len(questions) - answerable, correct, idk_answerable, idk_unanswerable)
