"""The ingestion trigger: its decision table, its batch tokens, the S3 notifications it reads, and the
handler's whole-batch behaviour, over an in-memory ``Ingestion``."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from assistant.errors import IngestionBusy, MalformedPayload, RejectedByService, RetryableError
from assistant.fakes import FixedClock, RecordingMetrics
from assistant.ports import DocumentStatus, IngestionJob
from assistant.services.ingestion import (
    CLOCK_MARGIN_SECONDS,
    IngestionTrigger,
    ObjectChange,
    batch_token,
    decide,
    parse_s3_events,
)
from handlers import ingest

T0 = 1_800_000_000.0

# The handler's tests count through a recording sink, so powertools has nothing to flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


class InMemoryIngestion:
    """The ``Ingestion`` port in memory: one running job at a time, starts idempotent by token."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.jobs: list[IngestionJob] = []
        self.tokens: dict[str, str] = {}
        self.starts = 0
        self.fail_with: Exception | None = None
        self.busy_on_start = False
        """Refuse the next start as busy (another batch got there between ``latest`` and ``start``)."""

    def start(self, token: str) -> IngestionJob:
        self.starts += 1
        if self.busy_on_start:
            self.busy_on_start = False
            raise IngestionBusy("busy")
        if token in self.tokens:
            return self.get(self.tokens[token])
        if any(job.running for job in self.jobs):
            raise IngestionBusy("busy")
        job = IngestionJob(job_id=f"job-{len(self.jobs) + 1}", status="STARTING", started_at=self.clock.now())
        self.jobs.append(job)
        self.tokens[token] = job.job_id
        return job

    def latest(self) -> IngestionJob | None:
        if self.fail_with is not None:
            raise self.fail_with
        return self.jobs[-1] if self.jobs else None

    def get(self, job_id: str) -> IngestionJob:
        return next(job for job in self.jobs if job.job_id == job_id)

    def documents(self) -> list[DocumentStatus]:
        return []

    def finish(self, status: str = "COMPLETE", failed: int = 0) -> None:
        self.jobs[-1] = replace(self.jobs[-1], status=status, failed=failed)


def change(key: str = "docs/faq.md", at: float = T0, name: str = "ObjectCreated:Put") -> ObjectChange:
    return ObjectChange(key=key, event_time=at, event_name=name, etag=None if "Removed" in name else "abc")


def job(status: str, started_at: float | None) -> IngestionJob:
    return IngestionJob(job_id="j", status=status, started_at=started_at)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def notification(*changes: tuple[str, float], name: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": iso(at),
                "eventName": name,
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": "kb-bucket", "arn": "arn:aws:s3:::kb-bucket"},
                    "object": {"key": key, "size": 10, "eTag": "e-" + key, "sequencer": "0A1B"},
                },
            }
            for key, at in changes
        ]
    }


# -- the decision -------------------------------------------------------------------------------------------

LATER = T0 + CLOCK_MARGIN_SECONDS + 1
EARLIER = T0 - 60


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (None, "start"),
        (job("STARTING", LATER), "covered"),
        (job("IN_PROGRESS", LATER), "covered"),
        (job("COMPLETE", LATER), "covered"),
        (job("IN_PROGRESS", EARLIER), "wait"),
        (job("STARTING", EARLIER), "wait"),
        (job("STOPPING", LATER), "wait"),
        (job("COMPLETE", EARLIER), "start"),
        (job("FAILED", LATER), "start"),
        (job("STOPPED", LATER), "start"),
        (job("IN_PROGRESS", T0 + CLOCK_MARGIN_SECONDS / 2), "wait"),
        (job("COMPLETE", T0 + CLOCK_MARGIN_SECONDS / 2), "start"),
        (job("COMPLETE", None), "start"),
    ],
)
def test_a_batch_is_covered_only_by_a_running_or_complete_job_started_after_its_newest_change(
    latest: IngestionJob | None, expected: str
) -> None:
    assert decide(T0, latest) == expected


def test_batch_tokens_are_stable_across_retries_whatever_the_order_or_duplicates() -> None:
    a, b = change("a.md", T0), change("b.md", T0 + 1)
    assert batch_token([a, b]) == batch_token([b, a, a])
    assert len(batch_token([a])) == 64 and batch_token([a]).isalnum()


def test_batch_tokens_differ_across_batches() -> None:
    a = change("a.md", T0)
    tokens = {
        batch_token([a]),
        batch_token([change("b.md", T0)]),
        batch_token([change("a.md", T0 + 1)]),
        batch_token([change("a.md", T0, "ObjectRemoved:Delete")]),
        batch_token([a, change("b.md", T0)]),
    }
    assert len(tokens) == 5


# -- S3 notifications ---------------------------------------------------------------------------------------


def test_an_s3_notification_gives_its_object_changes_with_decoded_keys() -> None:
    body = notification(("docs/Venue+map%281%29.pdf", T0), ("docs/faq.md", T0 + 5.25))
    changes = parse_s3_events(body)
    assert [c.key for c in changes] == ["docs/Venue map(1).pdf", "docs/faq.md"]
    assert changes[1].event_time == T0 + 5.25
    assert changes[0].event_name == "ObjectCreated:Put" and changes[0].etag == "e-docs/Venue+map%281%29.pdf"


def test_a_removal_has_no_etag() -> None:
    body = notification(("old.md", T0), name="ObjectRemoved:Delete")
    del body["Records"][0]["s3"]["object"]["eTag"]
    assert parse_s3_events(body) == [ObjectChange("old.md", T0, "ObjectRemoved:Delete", None)]


def test_the_s3_test_event_has_no_changes() -> None:
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-03-11T09:20:00.000Z",
        "Bucket": "kb-bucket",
        "RequestId": "R",
        "HostId": "H",
    }
    assert parse_s3_events(test_event) == []


def _broken(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = notification(("a.md", T0))
    target: Any = body["Records"][0]
    for step in path[:-1]:
        target = target[step]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        [],
        {},
        {"Records": "nope"},
        {"Records": [None]},
        {"Records": [{"eventName": "ObjectCreated:Put"}]},
        _broken(("s3", "object", "key"), None),
        _broken(("s3", "object", "key"), ""),
        _broken(("s3", "object", "key"), 7),
        _broken(("eventTime",), None),
        _broken(("eventTime",), "yesterday"),
        _broken(("eventTime",), "2026-03-11T09:20:00"),
        _broken(("eventName",), None),
    ],
)
def test_a_malformed_notification_raises_malformed_payload(body: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse_s3_events(body)


# -- the trigger --------------------------------------------------------------------------------------------


@dataclass
class Rig:
    clock: FixedClock
    ingestion: InMemoryIngestion
    metrics: RecordingMetrics
    trigger: IngestionTrigger


@pytest.fixture
def rig() -> Rig:
    clock = FixedClock(T0 + 30)
    ingestion = InMemoryIngestion(clock)
    metrics = RecordingMetrics()
    return Rig(clock, ingestion, metrics, IngestionTrigger(ingestion, metrics, clock))


def test_the_first_batch_starts_a_job(rig: Rig) -> None:
    assert rig.trigger.handle([change(at=T0)]) == "start"
    assert len(rig.ingestion.jobs) == 1
    assert rig.metrics.counts == {"IngestionStarted": 1}
    assert rig.metrics.measures["IngestionLag"] == [30.0]


def test_a_batch_older_than_the_running_job_is_covered(rig: Rig) -> None:
    rig.trigger.handle([change(at=T0)])
    assert rig.trigger.handle([change("b.md", at=T0 - 10)]) == "covered"
    assert len(rig.ingestion.jobs) == 1 and rig.metrics.counts["IngestionCovered"] == 1


def test_a_batch_newer_than_the_running_job_waits_and_then_starts_the_next_job(rig: Rig) -> None:
    rig.trigger.handle([change(at=T0)])
    later = [change("b.md", at=T0 + 40)]
    with pytest.raises(IngestionBusy):
        rig.trigger.handle(later)
    assert rig.ingestion.starts == 1 and rig.metrics.counts["IngestionWaiting"] == 1
    rig.ingestion.finish()
    rig.clock.advance(60)
    assert rig.trigger.handle(later) == "start"
    assert len(rig.ingestion.jobs) == 2


def test_a_retried_batch_never_starts_a_second_job(rig: Rig) -> None:
    batch = [change("a.md", at=T0), change("b.md", at=T0 + 1)]
    rig.trigger.handle(batch)
    rig.ingestion.finish(status="FAILED")  # covers nothing: the retry asks for a start again
    rig.trigger.handle(list(reversed(batch)))
    assert len(rig.ingestion.jobs) == 1 and rig.ingestion.starts == 2


def test_a_failed_or_stopped_job_covers_nothing(rig: Rig) -> None:
    rig.trigger.handle([change(at=T0)])
    rig.ingestion.finish(status="STOPPED")
    assert rig.trigger.handle([change("b.md", at=T0 - 10)]) == "start"
    assert len(rig.ingestion.jobs) == 2


def test_a_start_refused_as_busy_makes_the_batch_wait(rig: Rig) -> None:
    rig.ingestion.busy_on_start = True
    with pytest.raises(IngestionBusy):
        rig.trigger.handle([change(at=T0)])
    assert rig.metrics.counts == {"IngestionWaiting": 1}


def test_folders_and_evaluation_sets_alone_are_ignored(rig: Rig) -> None:
    assert rig.trigger.handle([change("docs/", at=T0), change("eval/questions.jsonl", at=T0)]) == "ignored"
    assert rig.trigger.handle([]) == "ignored"
    assert rig.ingestion.starts == 0


def test_a_finished_jobs_failed_documents_are_reported_once_per_job(rig: Rig) -> None:
    rig.trigger.handle([change(at=T0)])
    rig.ingestion.finish(failed=3)
    rig.trigger.handle([change("b.md", at=T0 - 5)])
    rig.trigger.handle([change("c.md", at=T0 - 4)])
    assert rig.metrics.counts["IngestionDocumentsFailed"] == 3


# -- the handler: one decision per batch --------------------------------------------------------------------


@dataclass
class Context:
    function_name: str = "IngestFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:IngestFunction"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def sqs_event(*bodies: Any) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ingest",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def wired(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> Rig:
    monkeypatch.setattr(ingest, "trigger", lambda: rig.trigger)
    return rig


def failed_ids(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_batch_of_records_starts_one_job_for_all_their_changes(wired: Rig) -> None:
    first, second = notification(("a.md", T0)), notification(("b.md", T0 + 1), ("c.md", T0 + 2))
    assert failed_ids(ingest.handler(sqs_event(first, second), Context())) == []
    assert len(wired.ingestion.jobs) == 1
    assert list(wired.ingestion.tokens) == [batch_token(parse_s3_events(first) + parse_s3_events(second))]


def test_a_waiting_batch_fails_every_readable_record_and_drops_the_malformed(wired: Rig) -> None:
    wired.trigger.handle([change(at=T0)])
    event = sqs_event(notification(("b.md", T0 + 40)), "not json", {"Records": 3}, notification(("c.md", T0)))
    response = ingest.handler(event, Context())
    assert failed_ids(response) == ["m0", "m3"]
    assert wired.ingestion.starts == 1


def test_a_retryable_failure_fails_every_record(wired: Rig) -> None:
    wired.ingestion.fail_with = RetryableError("bedrock-agent: ThrottlingException")
    response = ingest.handler(sqs_event(notification(("a.md", T0)), notification(("b.md", T0))), Context())
    assert failed_ids(response) == ["m0", "m1"]


def test_a_rejected_request_fails_every_record_for_the_dead_letter_queue(wired: Rig) -> None:
    wired.ingestion.fail_with = RejectedByService("bedrock-agent", "AccessDeniedException")
    response = ingest.handler(sqs_event(notification(("a.md", T0))), Context())
    assert failed_ids(response) == ["m0"]


def test_test_events_and_malformed_records_alone_succeed_without_a_job(wired: Rig) -> None:
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "kb-bucket"}
    response = ingest.handler(sqs_event(test_event, "{}", "[1]"), Context())
    assert failed_ids(response) == [] and wired.ingestion.starts == 0


def test_a_notification_through_sns_is_read_too(wired: Rig) -> None:
    wrapped = {"Type": "Notification", "Message": json.dumps(notification(("a.md", T0)))}
    assert failed_ids(ingest.handler(sqs_event(wrapped), Context())) == []
    assert len(wired.ingestion.jobs) == 1
