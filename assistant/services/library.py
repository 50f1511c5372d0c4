"""The content team's library: what may be published, and how an evaluation set is scored.

The same rules hold for the local knowledge base and for a deployed stack's: a file is refused before
anything is uploaded when the knowledge base could not use it, and ``kb eval`` scores both the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.ports import IngestionJob

DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
"""Searched and quoted (Bedrock knowledge bases read these too)."""
AGENDA_SUFFIXES = (".json", ".csv", ".ics")
"""Agenda files: read into the schedule."""
MAX_BYTES = 50 * 1024 * 1024
"""Bedrock knowledge bases refuse a source file over 50 MB."""
METADATA_SUFFIX = ".metadata.json"
"""Bedrock's sidecar beside a document: its title, link, track and language for citations."""


@dataclass(frozen=True, slots=True)
class Published:
    """What an upload did: the ingestion (when it already ran), and what to tell the person who ran it."""

    job: IngestionJob | None
    lines: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class Refused(ValueError):
    """A file the knowledge base could not use: the message says why, for the person who picked it."""


def check(path: Path) -> None:
    """Refuse what cannot be published, before anything is uploaded."""
    name = path.name
    if not path.is_file():
        raise Refused(f"{name}: no such file")
    if name.endswith(METADATA_SUFFIX):
        raise Refused(f"{name}: metadata sidecars are written for you; upload the document itself")
    suffix = path.suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES + AGENDA_SUFFIXES:
        kinds = ", ".join(DOCUMENT_SUFFIXES + AGENDA_SUFFIXES)
        raise Refused(f"{name}: not a document or agenda file the knowledge base reads ({kinds})")
    size = path.stat().st_size
    if size == 0:
        raise Refused(f"{name}: the file is empty")
    if size > MAX_BYTES:
        raise Refused(
            f"{name}: {size / 1024 / 1024:.1f} MB is over the knowledge base's {MAX_BYTES // 2**20} MB"
        )


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files, and the readable files of directories (recursively, sorted), in the order given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in DOCUMENT_SUFFIXES + AGENDA_SUFFIXES
                and not p.name.endswith(METADATA_SUFFIX)
                and "eval" not in p.relative_to(path).parts[:-1]
            )
        else:
            files.append(path)
    return files


def sidecar(
    title: str, *, url: str | None = None, track: str | None = None, language: str | None = None
) -> str:
    """A Bedrock metadata sidecar (``<document>.metadata.json``): citations then show the title or link
    instead of an S3 key."""
    attributes = {"title": title}
    attributes |= {k: v for k, v in (("url", url), ("track", track), ("language", language)) if v}
    return json.dumps({"metadataAttributes": attributes}, ensure_ascii=False)


def title_from(path: Path, text: str | None = None) -> str:
    """A document's title: its first Markdown heading or HTML title, else its file name made readable."""
    if text:
        heading = re.search(r"^#\s+(.+?)\s*$", text, re.MULTILINE) or re.search(
            r"<title>\s*(.+?)\s*</title>", text, re.IGNORECASE | re.DOTALL
        )
        if heading:
            return " ".join(heading.group(1).split())[:200]
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.name


# -- evaluation ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One line of a content team's question set."""

    question: str
    document: str | None = None
    """The file that should answer it (its name); None: any."""
    facts: tuple[str, ...] = ()
    answerable: bool = True


def read_questions(lines: Iterable[str]) -> list[EvalQuestion]:
    """Parse a JSONL question set; raises ``ValueError`` naming the line for one that cannot be read. The
    project's own evaluation files (with ``doc`` and ``kind``) are read too."""
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise ValueError(f"line {number}: not JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not item["question"]:
            raise ValueError(f'line {number}: needs "question", a text')
        document = item.get("document", item.get("doc"))
        facts = item.get("facts") or []
        if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
            raise ValueError(f'line {number}: "facts" must be a list of texts')
        answerable = item.get("answerable", item.get("kind") != "unanswerable")
        if not isinstance(answerable, bool):
            raise ValueError(f'line {number}: "answerable" must be true or false')
        questions.append(
            EvalQuestion(
                question=item["question"],
                document=str(document) if document else None,
                facts=tuple(facts),
                answerable=answerable,
            )
        )
    return questions


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    question: EvalQuestion
    retrieved: tuple[str, ...]
    """The documents retrieved for it, best first (file names)."""
    reply: str
    dont_know: bool
    """The assistant said it does not know (or could not answer)."""

    @property
    def hit(self) -> bool | None:
        """Whether the expected document was retrieved; None when the question names none."""
        if self.question.document is None:
            return None
        return self.question.document in self.retrieved

    @property
    def facts_found(self) -> bool:
        lowered = self.reply.lower()
        return all(fact.lower() in lowered for fact in self.question.facts)

    @property
    def right(self) -> bool:
        if not self.question.answerable:
            return self.dont_know
        return not self.dont_know and self.facts_found


@dataclass
class EvalReport:
    k: int
    outcomes: list[EvalOutcome] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures ``kb eval --json`` prints."""
        named = [o.hit for o in self.outcomes if o.hit is not None]
        answerable = [o for o in self.outcomes if o.question.answerable]
        unanswerable = [o for o in self.outcomes if not o.question.answerable]
        return {
            "questions": len(self.outcomes),
            "k": self.k,
            "hit_at_k": _share(sum(named), len(named)),
            "fact_accuracy": _share(sum(o.right for o in answerable), len(answerable)),
            "dont_know_accuracy": _share(sum(o.dont_know for o in unanswerable), len(unanswerable)),
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "answered_dont_know": sum(o.dont_know for o in answerable),
        }

    def misses(self) -> list[EvalOutcome]:
        return [o for o in self.outcomes if not o.right or o.hit is False]


def _share(count: int, total: int) -> float | None:
    return round(count / total, 3) if total else None


def evaluate(
    questions: list[EvalQuestion],
    retrieve: Callable[[str, int], list[str]],
    ask: Callable[[str], tuple[str, bool]],
    *,
    k: int = 3,
    progress: Callable[[str, int, int], None] | None = None,
) -> EvalReport:
    """Ask every question of a content team's set: ``retrieve(question, k)`` gives the documents the
    knowledge base finds (file names, best first), ``ask(question)`` the reply an attendee gets and whether
    it says it does not know."""
    report = EvalReport(k=k)
    for done, question in enumerate(questions):
        if progress is not None:
            progress("asking", done, len(questions))
        retrieved = tuple(dict.fromkeys(retrieve(question.question, k)))
        reply, dont_know = ask(question.question)
        report.outcomes.append(EvalOutcome(question, retrieved, reply, dont_know))
    if progress is not None:
        progress("asking", len(questions), len(questions))
    return report
