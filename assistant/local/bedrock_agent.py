"""A local wire-level stand-in for the ingestion side of Bedrock knowledge bases (``bedrock-agent``,
rest-json), which moto lacks: ingestion jobs of one S3 data source, and the documents they index.

Reached through ``AWS_ENDPOINT_URL_BEDROCK_AGENT`` (or a client's ``endpoint_url``), so the production
adapter runs unchanged. What it keeps of the service's behaviour is what the ingestion trigger relies on:

- a job scans the bucket as it is when the job starts: changes made later wait for the next job;
- one job at a time per data source: starting another while one runs is a ``ConflictException`` (409);
- a start is idempotent by its ``clientToken``: the same token answers the job it started, whatever its state;
- a job goes STARTING -> IN_PROGRESS -> COMPLETE (or FAILED) when the test says so (``advance``), or by
  itself after a number of status reads (``reads_per_step``).

Tests drive the bucket (``upload``, ``remove``, or ``put_document`` to seed the index directly), decide how a
job ends (``set_failures``) and inject faults (``fail_next``), as with the socialmessaging stand-in.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assistant.local.wire import RestJsonServer, ServiceError

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_BEDROCK_AGENT"
"""The variable botocore reads for this service's endpoint."""

RUNNING = ("STARTING", "IN_PROGRESS", "STOPPING")
_TOKEN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){32,255}")
_ID = r"(?P<{}>[0-9a-zA-Z]+)"
_SOURCE = "/knowledgebases/" + _ID.format("knowledgeBaseId") + "/datasources/" + _ID.format("dataSourceId")


@dataclass(frozen=True, slots=True)
class Fault:
    code: str
    status: int
    operation: str | None = None
    """Only this operation (``StartIngestionJob``, ``GetIngestionJob``, ...) takes the fault (None: any)."""
    applied: bool = False
    """The call takes effect (a start starts its job) and the caller still gets the error."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ends: the documents that fail (URI -> reason), the job's failure reasons, its status."""

    documents: Mapping[str, str] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    status: str = "COMPLETE"


@dataclass
class _Job:
    job_id: str
    token: str
    description: str
    started_at: float
    updated_at: float
    changes: dict[str, bool]
    """What the job saw change at its start: URI -> True (written) or False (removed)."""
    scanned: int
    status: str = "STARTING"
    outcome: Outcome = field(default_factory=Outcome)
    statistics: dict[str, int] = field(default_factory=dict)
    failure_reasons: list[str] = field(default_factory=list)


@dataclass
class _Document:
    status: str
    reason: str | None
    updated_at: float


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class BedrockAgentStandIn:
    """Start with ``start()`` (or ``with``); ``endpoint`` is the URL for ``AWS_ENDPOINT_URL_BEDROCK_AGENT``.

    ``reads_per_step``: a running job moves one step by itself every that many ``GetIngestionJob`` or
    ``ListIngestionJobs`` calls (None: only ``advance()`` moves it). ``page_size``: the most documents or
    jobs one list answer holds, to exercise pagination. ``clock``: the time jobs and documents carry.
    """

    def __init__(
        self,
        knowledge_base_id: str = "KB12345678",
        data_source_id: str = "DS12345678",
        *,
        reads_per_step: int | None = None,
        page_size: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.knowledge_base_id = knowledge_base_id
        self.data_source_id = data_source_id
        self.reads_per_step = reads_per_step
        self.page_size = page_size
        self.calls: list[str] = []
        """The operations called, in order (faulted calls included)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._faults: deque[Fault] = deque()
        self._jobs: list[_Job] = []
        self._tokens: dict[str, str] = {}
        self._next_outcome: Outcome | None = None
        self._reads = 0
        self._bucket: set[str] = set()
        self._pending: dict[str, bool] = {}
        self._documents: dict[str, _Document] = {}
        self._server = RestJsonServer("bedrock-agent", methods=True)
        jobs = _SOURCE + "/ingestionjobs"
        self._server.route("PUT " + jobs + "/?", self._start_job)
        self._server.route("POST " + jobs + "/?", self._list_jobs)
        self._server.route("GET " + jobs + "/" + _ID.format("ingestionJobId"), self._get_job)
        self._server.route("POST " + _SOURCE + "/documents/?", self._list_documents)

    # -- life -----------------------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def environment(self) -> dict[str, str]:
        """The variable that points botocore's ``bedrock-agent`` clients here."""
        return {ENDPOINT_VARIABLE: self.endpoint}

    def start(self) -> BedrockAgentStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> BedrockAgentStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the bucket and the index ---------------------------------------------------------------------------

    def put_document(self, uri: str, status: str = "INDEXED", reason: str | None = None) -> None:
        """Seed a document that is in the bucket and already known to the index with this status."""
        with self._lock:
            self._bucket.add(uri)
            self._documents[uri] = _Document(status, reason, self._clock())

    def upload(self, uri: str) -> None:
        """Write an object to the bucket: the next job to start indexes it."""
        with self._lock:
            self._bucket.add(uri)
            self._pending[uri] = True

    def remove(self, uri: str) -> None:
        """Delete an object from the bucket: the next job to start drops it from the index."""
        with self._lock:
            self._bucket.discard(uri)
            self._pending[uri] = False

    def pending(self) -> set[str]:
        """URIs changed in the bucket that no job has seen yet (a lost change would stay here)."""
        with self._lock:
            return set(self._pending)

    def document_statuses(self) -> dict[str, str]:
        """URI -> status, of every document the index knows."""
        with self._lock:
            return {uri: doc.status for uri, doc in self._documents.items()}

    # -- jobs -----------------------------------------------------------------------------------------------

    def set_failures(
        self,
        documents: Mapping[str, str] | None = None,
        reasons: Sequence[str] = (),
        *,
        status: str = "COMPLETE",
        job_id: str | None = None,
    ) -> None:
        """How a job ends: ``documents`` (URI -> reason) fail to index, ``reasons`` are the job's failure
        reasons, ``status`` is COMPLETE or FAILED (a FAILED job indexes nothing; its changes wait for the
        next). Applies to ``job_id``, else to the running job, else to the next job to start."""
        if status not in ("COMPLETE", "FAILED"):
            raise ValueError("a job ends COMPLETE or FAILED")
        outcome = Outcome(dict(documents or {}), tuple(reasons), status)
        with self._lock:
            job = self._find(job_id) if job_id else self._running()
            if job is None and job_id is None:
                self._next_outcome = outcome
                return
            if job is None or job.status not in RUNNING:
                raise ValueError("that job is not running")
            job.outcome = outcome

    def advance(self, steps: int = 1) -> str | None:
        """Move the running job ``steps`` steps (STARTING -> IN_PROGRESS -> its end); returns its status
        (None when no job was running)."""
        with self._lock:
            job = self._running()
            for _ in range(steps):
                if job is None or job.status not in RUNNING:
                    break
                self._step(job)
            return None if job is None else job.status

    def finish(self) -> str | None:
        """Run the running job to its end; returns its final status (None when none was running)."""
        return self.advance(steps=3)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job as ``GetIngestionJob`` answers it (plus its ``clientToken``), oldest first."""
        with self._lock:
            return [self._wire(job) | {"clientToken": job.token} for job in self._jobs]

    def fail_next(
        self,
        code: str = "ThrottlingException",
        status: int = 429,
        times: int = 1,
        operation: str | None = None,
        applied: bool = False,
    ) -> None:
        """Answer the next ``times`` calls (of ``operation``, if given) with an error. ``applied=True``
        makes the outcome ambiguous: a start starts its job and the caller gets the error all the same."""
        with self._lock:
            self._faults.extend(Fault(code, status, operation, applied) for _ in range(times))

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self._faults.clear()
            self._jobs.clear()
            self._tokens.clear()
            self._next_outcome = None
            self._reads = 0
            self._bucket.clear()
            self._pending.clear()
            self._documents.clear()

    # -- inside (with the lock held) ------------------------------------------------------------------------

    def _running(self) -> _Job | None:
        return next((job for job in reversed(self._jobs) if job.status in RUNNING), None)

    def _find(self, job_id: str) -> _Job | None:
        return next((job for job in self._jobs if job.job_id == job_id), None)

    def _step(self, job: _Job) -> None:
        job.updated_at = self._clock()
        if job.status == "STARTING":
            job.status = "IN_PROGRESS"
            return
        job.status = job.outcome.status
        job.failure_reasons = list(job.outcome.reasons)
        if job.status == "FAILED":
            # Nothing was indexed: what the job saw is still to do (newer changes win).
            self._pending = job.changes | self._pending
            job.statistics = {"numberOfDocumentsScanned": job.scanned}
            return
        new = modified = deleted = 0
        for uri, written in job.changes.items():
            if not written:
                deleted += self._documents.pop(uri, None) is not None
            elif uri not in job.outcome.documents:
                new += uri not in self._documents
                modified += uri in self._documents
                self._documents[uri] = _Document("INDEXED", None, job.updated_at)
        for uri, reason in job.outcome.documents.items():
            self._documents[uri] = _Document("FAILED", reason, job.updated_at)
        job.statistics = {
            "numberOfDocumentsScanned": job.scanned,
            "numberOfNewDocumentsIndexed": new,
            "numberOfModifiedDocumentsIndexed": modified,
            "numberOfDocumentsDeleted": deleted,
            "numberOfDocumentsFailed": len(job.outcome.documents),
        }

    def _wire(self, job: _Job, *, summary: bool = False) -> dict[str, Any]:
        stats = {
            "numberOfDocumentsScanned": 0,
            "numberOfNewDocumentsIndexed": 0,
            "numberOfModifiedDocumentsIndexed": 0,
            "numberOfDocumentsDeleted": 0,
            "numberOfDocumentsFailed": 0,
        } | job.statistics
        wire: dict[str, Any] = {
            "knowledgeBaseId": self.knowledge_base_id,
            "dataSourceId": self.data_source_id,
            "ingestionJobId": job.job_id,
            "description": job.description,
            "status": job.status,
            "statistics": stats,
            "startedAt": _iso(job.started_at),
            "updatedAt": _iso(job.updated_at),
        }
        if job.failure_reasons and not summary:
            wire["failureReasons"] = list(job.failure_reasons)
        return wire

    def _enter(self, operation: str, params: Mapping[str, str]) -> Fault | None:
        """Record the call, check the path's ids, and take the first fault meant for this operation
        (raised here unless it is ``applied``)."""
        self.calls.append(operation)
        fault = None
        if self._faults and self._faults[0].operation in (None, operation):
            fault = self._faults.popleft()
            if not fault.applied:
                raise ServiceError(fault.code, fault.status, "injected fault")
        if (params.get("knowledgeBaseId"), params.get("dataSourceId")) != (
            self.knowledge_base_id,
            self.data_source_id,
        ):
            raise ServiceError("ResourceNotFoundException", 404, "no such knowledge base or data source")
        return fault

    def _read(self) -> None:
        """A status read: with ``reads_per_step``, the running job moves on every that many reads."""
        if self.reads_per_step is None:
            return
        self._reads += 1
        job = self._running()
        if job is not None and self._reads >= self.reads_per_step:
            self._reads = 0
            self._step(job)

    # -- the wire -------------------------------------------------------------------------------------------

    def _start_job(self, request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            fault = self._enter("StartIngestionJob", params)
            token = request.get("clientToken")
            if not isinstance(token, str) or not _TOKEN.fullmatch(token):
                raise ServiceError(
                    "ValidationException", 400, "clientToken must be 33-256 letters, digits, -"
                )
            known = self._tokens.get(token)
            if known is not None:
                job = self._find(known)
                if job is not None:
                    return {"ingestionJob": self._wire(job)}
            if self._running() is not None:
                raise ServiceError("ConflictException", 409, "an ingestion job is already running")
            now = self._clock()
            job = _Job(
                job_id=f"JOB{len(self._jobs) + 1:07d}",
                token=token,
                description=str(request.get("description") or ""),
                started_at=now,
                updated_at=now,
                changes=dict(self._pending),
                scanned=len(self._bucket),
                outcome=self._next_outcome or Outcome(),
            )
            self._pending.clear()
            self._next_outcome = None
            self._jobs.append(job)
            self._tokens[token] = job.job_id
            if fault is not None:
                raise ServiceError(fault.code, fault.status, "injected fault after the job started")
            return {"ingestionJob": self._wire(job)}

    def _get_job(self, _: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            fault = self._enter("GetIngestionJob", params)
            self._read()
            job = self._find(params["ingestionJobId"])
            if job is None:
                raise ServiceError("ResourceNotFoundException", 404, "no such ingestion job")
            if fault is not None:
                raise ServiceError(fault.code, fault.status, "injected fault")
            return {"ingestionJob": self._wire(job)}

    def _list_jobs(self, request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            fault = self._enter("ListIngestionJobs", params)
            self._read()
            jobs = list(self._jobs)
            for condition in request.get("filters") or ():
                if condition.get("attribute") != "STATUS" or condition.get("operator") != "EQ":
                    raise ServiceError("ValidationException", 400, "the stand-in filters on STATUS EQ only")
                jobs = [job for job in jobs if job.status in (condition.get("values") or ())]
            sort = request.get("sortBy") or {"attribute": "STARTED_AT", "order": "DESCENDING"}
            if sort.get("attribute") != "STARTED_AT":
                raise ServiceError("ValidationException", 400, "the stand-in sorts by STARTED_AT only")
            # Ties (a coarse test clock) keep the order of starting.
            ordered = sorted(enumerate(jobs), key=lambda pair: (pair[1].started_at, pair[0]))
            jobs = [job for _, job in ordered]
            if sort.get("order") == "DESCENDING":
                jobs.reverse()
            page, token = self._page(jobs, request)
            if fault is not None:
                raise ServiceError(fault.code, fault.status, "injected fault")
            answer: dict[str, Any] = {
                "ingestionJobSummaries": [self._wire(job, summary=True) for job in page]
            }
            return answer | ({"nextToken": token} if token else {})

    def _list_documents(self, request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            fault = self._enter("ListKnowledgeBaseDocuments", params)
            items = sorted(self._documents.items())
            page, token = self._page(items, request)
            if fault is not None:
                raise ServiceError(fault.code, fault.status, "injected fault")
            details = []
            for uri, doc in page:
                detail: dict[str, Any] = {
                    "knowledgeBaseId": self.knowledge_base_id,
                    "dataSourceId": self.data_source_id,
                    "status": doc.status,
                    "identifier": {"dataSourceType": "S3", "s3": {"uri": uri}},
                    "updatedAt": _iso(doc.updated_at),
                }
                if doc.reason:
                    detail["statusReason"] = doc.reason
                details.append(detail)
            return {"documentDetails": details} | ({"nextToken": token} if token else {})

    def _page(self, items: list[Any], request: Mapping[str, Any]) -> tuple[list[Any], str | None]:
        try:
            offset = int(request.get("nextToken") or 0)
            size = min(int(request.get("maxResults") or self.page_size), self.page_size)
        except ValueError:
            raise ServiceError("ValidationException", 400, "bad nextToken or maxResults") from None
        end = offset + max(1, size)
        return items[offset:end], (str(end) if end < len(items) else None)
