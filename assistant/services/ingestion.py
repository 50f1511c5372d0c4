"""The ingestion trigger: when the knowledge base's bucket changes, see that an ingestion job indexes it.

S3 notifies every object change (through SQS); a burst of uploads arrives as one batch or several. A job
scans the whole data source when it starts and only one runs at a time, so the trigger's only question per
batch is whether some job already covers its changes:

- covered: the latest job started after the batch's newest change and is running or COMPLETE;
- wait: a job is running that started before that change: it will not see it, and no other job can start
  now, so the batch fails (``IngestionBusy``) and SQS redelivers it after its visibility timeout, when the
  job is over and the next decision starts a job that does see it. A change is never dropped (at worst,
  after the queue's last receive, it is kept in the dead-letter queue);
- start: anything else (no job yet, the latest is COMPLETE but older than the change, or it FAILED or was
  STOPPED, which covers nothing). The start's client token is derived from the batch, so a batch retried
  after an ambiguous start never starts a second job.

Object keys are document names: logs carry counts only.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NoReturn
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from assistant.errors import IngestionBusy, MalformedPayload
from assistant.ports import Clock, Ingestion, IngestionJob, MetricsSink

logger = Logger(child=True)

Decision = Literal["covered", "wait", "start"]

CLOCK_MARGIN_SECONDS = 2.0
"""S3's event times and Bedrock's job start times come from different clocks: a job is trusted to have
seen a change only if it started at least this long after it (else the trigger waits or starts one more
job: an extra ingestion, never a lost change)."""

IGNORED_PREFIXES = ("eval/",)
"""Keys whose changes start no job: the content team's evaluation sets, which are not event documents
(``template.yaml``'s bucket notifications cannot exclude a prefix, so the trigger does)."""

REPORTED_JOBS_KEPT = 64
"""Finished jobs whose failures this container already reported (bounded: the trigger lives for hours)."""


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One S3 object change, as its event notification tells it."""

    key: str
    event_time: float
    """Epoch seconds: when S3 finished the request."""
    event_name: str
    """``ObjectCreated:Put``, ``ObjectRemoved:Delete``, ..."""
    etag: str | None = None
    """Absent for removals."""


def decide(
    newest_event: float, latest: IngestionJob | None, *, margin: float = CLOCK_MARGIN_SECONDS
) -> Decision:
    """What a batch whose newest change happened at ``newest_event`` needs, given the data source's latest
    job (see the module's docstring)."""
    if latest is None:
        return "start"
    saw_it = latest.started_at is not None and latest.started_at >= newest_event + margin
    if latest.running:
        # A job being stopped will not finish its scan: it covers nothing, but it still blocks a start.
        return "covered" if saw_it and latest.status != "STOPPING" else "wait"
    if latest.status == "COMPLETE" and saw_it:
        return "covered"
    return "start"


def batch_token(changes: Iterable[ObjectChange]) -> str:
    """A client token for the job a batch starts: the same changes (in any order, with duplicates) give
    the same token, other changes another (64 hex characters: a valid ``clientToken``)."""
    lines = sorted({f"{c.event_name}\n{c.key}\n{c.etag or ''}\n{c.event_time!r}" for c in changes})
    return hashlib.sha256("\n\n".join(lines).encode()).hexdigest()


def _time(value: Any) -> float:
    if not isinstance(value, str):
        raise MalformedPayload("eventTime is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedPayload("eventTime is not ISO 8601") from None
    if moment.tzinfo is None:
        raise MalformedPayload("eventTime has no time zone")
    return moment.timestamp()


def parse_s3_events(body: Mapping[str, Any]) -> list[ObjectChange]:
    """The object changes of one S3 event notification (the JSON an SQS record carries).

    ``s3:TestEvent``, which S3 sends when notifications are configured, has no changes. Anything else that
    is not a notification with well-formed records raises ``MalformedPayload``."""
    if not isinstance(body, Mapping):
        raise MalformedPayload("an S3 notification is a JSON object")
    if body.get("Event") == "s3:TestEvent":
        return []
    records = body.get("Records")
    if not isinstance(records, list):
        raise MalformedPayload("an S3 notification has Records")
    changes = []
    for record in records:
        s3 = record.get("s3") if isinstance(record, Mapping) else None
        item = s3.get("object") if isinstance(s3, Mapping) else None
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str) or not item["key"]:
            raise MalformedPayload("an S3 record has s3.object.key")
        name = record.get("eventName")
        if not isinstance(name, str) or not name:
            raise MalformedPayload("an S3 record has eventName")
        etag = item.get("eTag")
        changes.append(
            ObjectChange(
                # Keys arrive URL-encoded, spaces as "+".
                key=unquote_plus(item["key"]),
                event_time=_time(record.get("eventTime")),
                event_name=name,
                etag=str(etag) if etag else None,
            )
        )
    return changes


class IngestionTrigger:
    """Decides, for a batch of object changes, whether to start an ingestion job (one decision per batch)."""

    def __init__(
        self,
        ingestion: Ingestion,
        metrics: MetricsSink,
        clock: Clock,
        *,
        ignored_prefixes: tuple[str, ...] = IGNORED_PREFIXES,
    ) -> None:
        self._ingestion = ingestion
        self._ignored = ignored_prefixes
        self._metrics = metrics
        self._clock = clock
        self._reported: dict[str, None] = {}

    def handle(self, events: list[ObjectChange]) -> str:
        """``covered`` or ``start`` (a job was started), or ``ignored`` (nothing but folders and ignored
        prefixes). Raises
        ``IngestionBusy`` when the batch must wait for the running job to end, and the ingestion's
        ``RetryableError`` or ``PermanentError`` when it cannot be asked."""
        latest = self._ingestion.latest()
        self._report_failures(latest)
        changes = [c for c in events if not c.key.endswith("/") and not c.key.startswith(self._ignored)]
        if not changes:
            return "ignored"
        newest = max(change.event_time for change in changes)
        lag = self._clock.now() - newest
        if math.isfinite(lag):
            self._metrics.measure("IngestionLag", max(0.0, lag))
        decision = decide(newest, latest)
        if decision == "covered":
            self._metrics.count("IngestionCovered")
            logger.info("changes covered by an ingestion job", extra={"changes": len(changes)})
            return decision
        if decision == "wait":
            self._wait(len(changes))
        try:
            job = self._ingestion.start(batch_token(changes))
        except IngestionBusy:
            # Another batch started a job since ``latest()``: it may have missed these changes, so wait.
            self._wait(len(changes))
        self._metrics.count("IngestionStarted")
        logger.info("ingestion job started", extra={"changes": len(changes), "job_id": job.job_id})
        return decision

    def _wait(self, changes: int) -> NoReturn:
        self._metrics.count("IngestionWaiting")
        logger.info("changes wait for the running ingestion job", extra={"changes": changes})
        raise IngestionBusy("an ingestion job that cannot see these changes is running")

    def _report_failures(self, latest: IngestionJob | None) -> None:
        """The failed-document count of each finished job, once per job and container: another container
        reports it again (duplicates are accepted; alarm on the metric's Maximum, not its Sum)."""
        if latest is None or latest.status not in ("COMPLETE", "FAILED") or latest.job_id in self._reported:
            return
        self._reported[latest.job_id] = None
        while len(self._reported) > REPORTED_JOBS_KEPT:
            del self._reported[next(iter(self._reported))]
        self._metrics.count("IngestionDocumentsFailed", latest.failed)
        if latest.failed or latest.status == "FAILED":
            # Failure reasons name documents: counts only.
            logger.warning(
                "ingestion job finished with failures",
                extra={"job_id": latest.job_id, "status": latest.status, "failed": latest.failed},
            )
