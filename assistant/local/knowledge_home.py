"""The local knowledge base in a home directory, and the sample knowledge it starts from.

Beside the passages, the home keeps the event's schedule (``kb/agenda.json``), read from the agenda
documents (a Markdown agenda with session headings) and agenda files (JSON, CSV, iCalendar) as they are
added; the local answer function reads it through ``AGENDA_URI``, as the deployed one reads the bucket's.
"""

from __future__ import annotations

import json
from pathlib import Path

from assistant.agenda import AGENDA_SUFFIXES, AgendaError, Schedule, load_agenda
from assistant.local.engine import Document, Embedder, KnowledgeBase, load_document
from assistant.services.library import AGENDA_SUFFIXES as AGENDA_FILE_SUFFIXES
from assistant.services.library import DOCUMENT_SUFFIXES

SUPPORTED = DOCUMENT_SUFFIXES
"""Documents: searched and quoted."""
AGENDA_FILES = AGENDA_FILE_SUFFIXES
"""Agenda files: read into the schedule only."""
LOCAL_BUCKET = "s3://local-knowledge-bucket/"
SAMPLE_TIMEZONE = "Europe/Lisbon"
"""The sample conference's (the template's default ``EventTimezone``)."""


def sample_knowledge_dir() -> Path:
    """The sample conference's documents: the project's ``knowledge/``, shipped in the package."""
    from assistant.local.bundled import KNOWLEDGE

    return KNOWLEDGE


def sample_documents() -> list[Path]:
    return sorted(
        p for p in sample_knowledge_dir().iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED
    )


def knowledge_dir(home: Path) -> Path:
    return home / "kb"


def schedule_path(home: Path) -> Path:
    return knowledge_dir(home) / "agenda.json"


def exists(home: Path) -> bool:
    return (knowledge_dir(home) / "passages.json").exists()


def open_knowledge_base(home: Path, embedder: Embedder, *, seed: bool) -> KnowledgeBase:
    """The home's knowledge base; with ``seed``, a home without one gets the sample knowledge first."""
    if exists(home):
        return KnowledgeBase.load(knowledge_dir(home), embedder)
    knowledge_base = KnowledgeBase(embedder)
    if seed:
        add_documents(knowledge_base, sample_documents())
        knowledge_base.save(knowledge_dir(home))
        add_to_schedule(home, sample_documents(), SAMPLE_TIMEZONE)
    return knowledge_base


def add_documents(knowledge_base: KnowledgeBase, paths: list[Path], timezone: str = "UTC") -> list[str]:
    """Load and add documents (a document added again replaces its earlier version); returns their ids.
    An agenda file (iCalendar, CSV, JSON) is added as the Markdown agenda it describes, so the documents'
    search finds its sessions too. Raises ``AgendaError`` for a malformed agenda file."""
    documents = [
        load_document(path, uri=LOCAL_BUCKET + path.name)
        for path in paths
        if path.suffix.lower() in SUPPORTED
    ]
    for path in paths:
        if path.suffix.lower() in AGENDA_FILES:
            schedule = load_agenda(path.name, path.read_text(encoding="utf-8"), timezone)
            if len(schedule):
                text = schedule.to_markdown(f"Agenda ({path.name})")
                uri = LOCAL_BUCKET + path.name
                documents.append(Document(doc_id=path.name, title="Agenda", uri=uri, text=text))
    knowledge_base.add(documents)
    return [d.doc_id for d in documents]


def load_schedule(home: Path, timezone: str) -> Schedule:
    path = schedule_path(home)
    if not path.exists():
        return Schedule.empty(timezone)
    return Schedule.from_json(json.loads(path.read_text(encoding="utf-8")))


def add_to_schedule(home: Path, paths: list[Path], timezone: str, skipped: list[str] | None = None) -> int:
    """Read the sessions of these files into the home's schedule (a file read again replaces its earlier
    sessions); returns how many sessions they hold. Raises ``AgendaError`` for a malformed agenda file
    (JSON, CSV, iCalendar); a Markdown document that does not read as an agenda (an FAQ with a timed
    heading) is a document only, and its name goes to ``skipped``."""
    readable = [p for p in paths if p.suffix.lower() in AGENDA_SUFFIXES]
    if not readable:
        return 0
    names = {p.name for p in readable}
    kept = [s for s in load_schedule(home, timezone).sessions if s.source not in names]
    schedule = Schedule(tuple(kept), Schedule.empty(timezone).timezone)
    added = 0
    for path in readable:
        try:
            found = load_agenda(path.name, path.read_text(encoding="utf-8"), timezone)
        except AgendaError:
            if path.suffix.lower() in AGENDA_FILES:
                raise
            if skipped is not None:
                skipped.append(path.name)
            continue
        except (ValueError, OverflowError, AttributeError, RecursionError) as exc:
            raise AgendaError(f"{path.name}: cannot be read as an agenda ({type(exc).__name__})") from None
        added += len(found)
        schedule = schedule.merge(found)
    save_schedule(home, schedule)
    return added


def save_schedule(home: Path, schedule: Schedule) -> None:
    """Write the home's schedule whole (a partial file, then one rename)."""
    target = schedule_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(schedule.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(target)
