"""The content team's library on the embedded default: the home's knowledge base, published to as a
deployed stack's is, with the same records of what was ingested and what failed.

An "ingestion" here runs in the command itself: the documents are read, cut into passages and embedded,
and the knowledge base is saved in one step that cannot be left half done (``KnowledgeBase.save``). What
could not be read (a corrupt or image-only PDF, an agenda that does not parse) is recorded as failed, with
its reason, and is not indexed, so nothing is ever silently indexed empty.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from assistant.agenda import AgendaError
from assistant.local import knowledge_home
from assistant.local.engine import Document, KnowledgeBase, load_document
from assistant.ports import DocumentStatus, IngestionJob
from assistant.services.library import AGENDA_SUFFIXES, DOCUMENT_SUFFIXES, Published, title_from

Progress = Callable[[str, int, int], None]
"""(what, done, total)."""


INGESTIONS_FILE = "ingestions.json"
LIBRARY_FILE = "library.json"
KEEP_INGESTIONS = 20


class LocalLibrary:
    def __init__(self, home: Path, embedder: Any, *, timezone: str, clock: Callable[[], float] = time.time):
        self.home = home
        self._embedder = embedder
        self._timezone = timezone
        self._clock = clock
        self._knowledge: KnowledgeBase | None = None

    @property
    def where(self) -> str:
        return f"the local knowledge base in {knowledge_home.knowledge_dir(self.home)}"

    def knowledge(self, *, seed: bool = True) -> KnowledgeBase:
        """The home's knowledge base; a home without one gets the sample knowledge first when ``seed``
        (asking, listing), and starts empty when documents are being published into it."""
        if self._knowledge is None:
            self._knowledge = knowledge_home.open_knowledge_base(self.home, self._embedder, seed=seed)
        return self._knowledge

    # -- publishing ------------------------------------------------------------------------------------------

    def upload(self, files: list[Path], progress: Progress) -> Published:
        """Read, index and save ``files`` (each replaces its earlier version)."""
        started = self._clock()
        knowledge = self.knowledge(seed=False)
        documents: list[Document] = []
        failures: list[tuple[str, str]] = []
        for done, path in enumerate(files, start=1):
            progress(path.name, done - 1, len(files))
            problem = self._read(path, documents)
            if problem:
                failures.append((path.name, problem))
        progress("indexing", len(files), len(files))
        knowledge.add(documents)
        failed = {name for name, _ in failures}
        readable = [p for p in files if p.name not in failed]
        # A Markdown agenda is a document and a schedule; an FAQ with timed headings only a document.
        skipped: list[str] = []
        sessions = knowledge_home.add_to_schedule(self.home, readable, self._timezone, skipped)
        knowledge.save(knowledge_home.knowledge_dir(self.home))
        library = self._library()
        for path in files:
            if path.name in failed:
                library.pop(path.name, None)
                continue
            library[path.name] = {"size": path.stat().st_size, "ingested_at": self._clock()}
        self._save(LIBRARY_FILE, library)
        job = IngestionJob(
            job_id=uuid.uuid4().hex[:12],
            status="COMPLETE",
            started_at=started,
            updated_at=self._clock(),
            scanned=len(files),
            indexed=len(files) - len(failures),
            failed=len(failures),
            failure_reasons=tuple(f"{name}: {reason}" for name, reason in failures),
        )
        self._record(job, failures)
        lines = [
            f"added {d.doc_id}: {sum(1 for p in knowledge.passages if p.doc_id == d.doc_id)} passages"
            for d in documents
        ]
        if sessions:
            path = knowledge_home.schedule_path(self.home)
            lines.append(f"schedule {path}: {sessions} sessions added ({self._timezone})")
        lines.append(
            f"knowledge base {knowledge_home.knowledge_dir(self.home)}: "
            f"{len(knowledge.documents())} documents, {len(knowledge)} passages"
        )
        warnings = [
            f"{name}: added as a document; its timed headings do not read as an agenda" for name in skipped
        ]
        return Published(job=job, lines=tuple(lines), warnings=tuple(warnings))

    def _read(self, path: Path, documents: list[Document]) -> str | None:
        """Add what ``path`` holds to ``documents``; the reason it cannot be indexed, if any."""
        suffix = path.suffix.lower()
        uri = knowledge_home.LOCAL_BUCKET + path.name
        if suffix in AGENDA_SUFFIXES:
            from assistant.agenda import load_agenda

            try:
                schedule = load_agenda(path.name, path.read_text(encoding="utf-8"), self._timezone)
            except (AgendaError, ValueError, UnicodeDecodeError) as exc:
                return f"not a readable agenda ({_reason(exc)})"
            if not len(schedule):
                return "an agenda file with no sessions"
            text = schedule.to_markdown(f"Agenda ({path.name})")
            documents.append(Document(doc_id=path.name, title="Agenda", uri=uri, text=text))
            return None
        if suffix not in DOCUMENT_SUFFIXES:
            return "not a document the knowledge base reads"
        try:
            document = load_document(path, uri=uri)
        except Exception as exc:  # noqa: BLE001 - a file that breaks its reader is a failed document
            return f"cannot be read ({_reason(exc)})"
        if not document.text.strip():
            if suffix == ".pdf":
                return "no text to index: an image-only (scanned) or corrupt PDF; run it through OCR first"
            return "no text to index"
        documents.append(document)
        return None

    def remove(self, name: str) -> bool:
        knowledge = self.knowledge()
        removed = knowledge.remove(name)
        schedule = knowledge_home.load_schedule(self.home, self._timezone)
        kept = tuple(s for s in schedule.sessions if s.source != name)
        if len(kept) != len(schedule.sessions):
            knowledge_home.save_schedule(self.home, type(schedule)(kept, schedule.timezone))
            removed = True
        if removed:
            knowledge.save(knowledge_home.knowledge_dir(self.home))
        library = self._library()
        removed = library.pop(name, None) is not None or removed
        self._save(LIBRARY_FILE, library)
        return removed

    # -- what is there ---------------------------------------------------------------------------------------

    def latest(self) -> IngestionJob | None:
        records = self._ingestions()
        return _job(records[-1]) if records else None

    def failures(self) -> list[tuple[str, str]]:
        records = self._ingestions()
        return [(str(a), str(b)) for a, b in records[-1].get("failures", [])] if records else []

    def documents(self) -> list[tuple[DocumentStatus, str, int | None, int]]:
        """(status, title, size, passages) of every indexed document, by name."""
        knowledge = self.knowledge()
        library = self._library()
        counts: dict[str, int] = {}
        titles: dict[str, str] = {}
        for passage in knowledge.passages:
            counts[passage.doc_id] = counts.get(passage.doc_id, 0) + 1
            titles.setdefault(passage.doc_id, passage.title)
        rows = []
        for name in sorted(counts):
            entry = library.get(name) or {}
            status = DocumentStatus(
                uri=knowledge_home.LOCAL_BUCKET + name, status="INDEXED", updated_at=entry.get("ingested_at")
            )
            rows.append((status, titles.get(name) or title_from(Path(name)), entry.get("size"), counts[name]))
        return rows

    # -- what an evaluation needs ----------------------------------------------------------------------------

    def retrieve(self, question: str, k: int) -> list[str]:
        return [hit.passage.doc_id for hit in self.knowledge().search(question, k=k)]

    @contextmanager
    def asking(self) -> Iterator[Callable[[str], tuple[str, bool]]]:
        """``ask(question) -> (reply, dont_know)`` through the answer stage's decisions and engine."""
        import io

        from assistant.local.runtime import LocalCloud

        with LocalCloud(self.home, log_stream=io.StringIO(), knowledge_base=self.knowledge()) as cloud:

            def ask(question: str) -> tuple[str, bool]:
                source, reply = cloud.ask(question, conversation=uuid.uuid4().hex)
                return reply, source in ("no_answer", "error")

            yield ask

    # -- records ---------------------------------------------------------------------------------------------

    def _record(self, job: IngestionJob, failures: list[tuple[str, str]]) -> None:
        records = self._ingestions()
        records.append({**asdict(job), "failures": [list(f) for f in failures]})
        self._save(INGESTIONS_FILE, records[-KEEP_INGESTIONS:])

    def _ingestions(self) -> list[dict[str, Any]]:
        loaded = self._load(INGESTIONS_FILE, [])
        return loaded if isinstance(loaded, list) else []

    def _library(self) -> dict[str, Any]:
        loaded = self._load(LIBRARY_FILE, {})
        return loaded if isinstance(loaded, dict) else {}

    def _load(self, name: str, default: Any) -> Any:
        path = knowledge_home.knowledge_dir(self.home) / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def _save(self, name: str, value: Any) -> None:
        path = knowledge_home.knowledge_dir(self.home) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
        partial.replace(path)


def _job(record: dict[str, Any]) -> IngestionJob:
    return IngestionJob(
        job_id=str(record.get("job_id", "")),
        status=str(record.get("status", "")),
        started_at=record.get("started_at"),
        updated_at=record.get("updated_at"),
        scanned=int(record.get("scanned", 0)),
        indexed=int(record.get("indexed", 0)),
        deleted=int(record.get("deleted", 0)),
        failed=int(record.get("failed", 0)),
        failure_reasons=tuple(record.get("failure_reasons", ())),
    )


def _reason(exc: BaseException) -> str:
    """Why a file could not be read, in words that name no content (a parser's message may quote it)."""
    return type(exc).__name__
