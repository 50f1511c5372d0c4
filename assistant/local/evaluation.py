"""End-to-end quality on an event's evaluation set: every question asked as an attendee would, through the
answer stage's decisions and engine (``LocalCloud.ask``), at its own ``now``, after its ``previous``
question in the same conversation for follow-ups. Shared by ``benchmarks/knowledge.py`` and the tests.

A question is right when:
- answerable (it names a ``doc``): every expected fact is in the reply and, for a question in another
  language, the reply speaks it (its first line, which says what follows, is in that language);
- unanswerable: the reply is "I don't know" (source ``no_answer``);
- small talk: answered as small talk, in its language.
"""

from __future__ import annotations

import functools
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.local import knowledge_home
from assistant.local.engine import KnowledgeBase
from assistant.local.engine.evaluation import Question
from assistant.services.language import detect
from assistant.services.replies import TEXTS


@dataclass(frozen=True, slots=True)
class Outcome:
    question: Question
    source: str
    reply: str
    right: bool
    seconds: float


@dataclass
class Tally:
    right: int = 0
    asked: int = 0

    def add(self, right: bool) -> None:
        self.asked += 1
        self.right += right

    @property
    def share(self) -> float:
        return self.right / self.asked if self.asked else 0.0


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def by(self, key: str) -> dict[str, Tally]:
        tallies: dict[str, Tally] = defaultdict(Tally)
        for outcome in self.outcomes:
            tallies[str(getattr(outcome.question, key))].add(outcome.right)
        return dict(sorted(tallies.items()))

    def answerable(self) -> Tally:
        tally = Tally()
        for o in self.outcomes:
            if o.question.doc and o.question.kind != "smalltalk":
                tally.add(o.right)
        return tally

    def dont_know(self) -> tuple[float, float]:
        """Precision and recall of "I don't know" (over every question but small talk)."""
        asked = [o for o in self.outcomes if o.question.kind != "smalltalk"]
        said = [o for o in asked if o.source == "no_answer"]
        unanswerable = [o for o in asked if not o.question.doc]
        hits = sum(1 for o in said if not o.question.doc)
        return (hits / len(said) if said else 0.0, hits / len(unanswerable) if unanswerable else 0.0)

    def answer_words(self) -> list[int]:
        """Words of each answer from the documents, its sources list left out."""
        return sorted(
            len(o.reply.split("\n\n_")[0].split()) for o in self.outcomes if o.source == "knowledge_base"
        )

    def latencies(self) -> list[float]:
        return sorted(o.seconds for o in self.outcomes)


def in_language(reply: str, language: str) -> bool:
    """Whether the reply's first line (what the assistant says before any quote or list) is in
    ``language``: detected as it, or written from one of that language's own texts and no other's
    ("Ahora (11:20):" is too short to detect, but it is the Spanish ``agenda_now``)."""
    if language == "en":
        return True
    first = next((line.strip() for line in reply.splitlines() if line.strip()), "")
    if detect(first) == language:
        return True
    speakers = {lang for lang, patterns in _templates().items() if any(p.fullmatch(first) for p in patterns)}
    return speakers == {language}


@functools.cache
def _templates() -> dict[str, tuple[re.Pattern[str], ...]]:
    """Each language's one-line texts as patterns (a ``{value}`` matches anything)."""
    return {
        lang: tuple(
            re.compile(re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(text)))
            for text in texts.values()
            if "\n" not in text and len(re.sub(r"\{[^}]*\}|\W", "", text)) >= 4  # not "{room}:"
        )
        for lang, texts in TEXTS.items()
    }


def judge(question: Question, source: str, reply: str) -> bool:
    if question.kind == "smalltalk":
        return source == "smalltalk" and in_language(reply, question.language)
    if not question.doc:
        return source == "no_answer"
    lowered = reply.lower()
    facts = all(fact.lower() in lowered for fact in question.facts)
    return facts and in_language(reply, question.language)


def build_home(home: Path, documents: Iterable[Path], timezone: str, knowledge: KnowledgeBase) -> None:
    """A home holding ``knowledge`` (built from ``documents``) and the schedule of ``documents``."""
    paths = sorted(documents)
    knowledge.save(knowledge_home.knowledge_dir(home))
    knowledge_home.add_to_schedule(home, paths, timezone)


def evaluate(
    documents: Iterable[Path], questions: list[Question], timezone: str, knowledge: KnowledgeBase
) -> Report:
    """Ask every question through a local twin whose home holds these documents and their schedule."""
    from assistant.local.runtime import LocalCloud

    report = Report()
    with tempfile.TemporaryDirectory(prefix="eval-home-") as directory:
        home = Path(directory)
        build_home(home, documents, timezone, knowledge)
        with LocalCloud(home, knowledge_base=knowledge, event_timezone=timezone) as cloud:
            for n, q in enumerate(questions):
                conversation = f"eval-{n}"
                if q.previous:
                    cloud.ask(q.previous, conversation=conversation, now=q.now)
                started = time.perf_counter()
                source, reply = cloud.ask(q.question, conversation=conversation, now=q.now)
                seconds = time.perf_counter() - started
                report.outcomes.append(Outcome(q, source, reply, judge(q, source, reply), seconds))
    return report
