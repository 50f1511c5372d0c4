"""BedrockIngestion against the wire-level bedrock-agent stand-in (moto has no ingestion jobs): the real
boto3 client, HTTP and rest-json errors; and the ingest handler over both, through a burst of uploads."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from assistant import bootstrap
from assistant.adapters.aws import client
from assistant.adapters.bedrock_agent import BedrockIngestion
from assistant.errors import IngestionBusy, RejectedByService, RetryableError
from assistant.fakes import FixedClock, RecordingMetrics
from assistant.local.bedrock_agent import ENDPOINT_VARIABLE, BedrockAgentStandIn
from assistant.services.ingestion import IngestionTrigger
from handlers import ingest

KB, DS = "KB12345678", "DS12345678"
T0 = 1_800_000_000.0
BUCKET = "s3://kb-bucket/"
TOKEN = "a" * 40

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def agent(clock: FixedClock) -> Iterator[BedrockAgentStandIn]:
    with BedrockAgentStandIn(KB, DS, clock=clock.now) as running:
        yield running


def ingestion_at(agent: BedrockAgentStandIn, *, attempts: int = 3) -> BedrockIngestion:
    bedrock = client("bedrock-agent", attempts=attempts, endpoint_url=agent.endpoint, region_name="us-east-1")
    return BedrockIngestion(bedrock, KB, DS)


@pytest.fixture
def ingestion(agent: BedrockAgentStandIn) -> BedrockIngestion:
    return ingestion_at(agent)


# -- the adapter --------------------------------------------------------------------------------------------


def test_a_start_answers_a_starting_job(ingestion: BedrockIngestion, agent: BedrockAgentStandIn) -> None:
    job = ingestion.start(TOKEN)
    assert job.status == "STARTING" and job.running
    assert job.started_at == T0 and job.updated_at == T0
    assert agent.jobs()[0]["clientToken"] == TOKEN


def test_the_same_token_answers_the_same_job_even_after_it_finished(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn
) -> None:
    first = ingestion.start("short-token")  # too short for the service: sent as a stable digest
    agent.finish()
    again = ingestion.start("short-token")
    assert again.job_id == first.job_id and again.status == "COMPLETE"
    assert len(agent.jobs()) == 1


def test_a_start_while_a_job_runs_is_busy(ingestion: BedrockIngestion, agent: BedrockAgentStandIn) -> None:
    ingestion.start(TOKEN)
    with pytest.raises(IngestionBusy):
        ingestion.start("b" * 40)
    agent.finish()
    assert ingestion.start("b" * 40).status == "STARTING"


def test_a_validation_error_is_busy_only_while_a_job_runs(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn
) -> None:
    agent.fail_next("ValidationException", 400, operation="StartIngestionJob")
    with pytest.raises(RejectedByService):
        ingestion.start(TOKEN)
    ingestion.start(TOKEN)
    agent.fail_next("ValidationException", 400, operation="StartIngestionJob")
    with pytest.raises(IngestionBusy):
        ingestion.start("b" * 40)


def test_a_start_whose_answer_was_lost_is_retried_into_the_same_job(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn
) -> None:
    agent.fail_next("InternalServerException", 500, operation="StartIngestionJob", applied=True)
    job = ingestion.start(TOKEN)
    assert agent.calls == ["StartIngestionJob", "StartIngestionJob"]
    assert [j["ingestionJobId"] for j in agent.jobs()] == [job.job_id]


def test_errors_are_translated(agent: BedrockAgentStandIn) -> None:
    once = ingestion_at(agent, attempts=1)
    agent.fail_next("ThrottlingException", 429)
    with pytest.raises(RetryableError):
        once.latest()
    agent.fail_next("AccessDeniedException", 403)
    with pytest.raises(RejectedByService):
        once.documents()
    with pytest.raises(RejectedByService):
        BedrockIngestion(client("bedrock-agent", endpoint_url=agent.endpoint), KB, "DS00000000").latest()
    with pytest.raises(RejectedByService):
        once.get("JOB9999999")


def test_latest_is_the_most_recently_started_job(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn, clock: FixedClock
) -> None:
    assert ingestion.latest() is None
    first = ingestion.start(TOKEN)
    agent.finish()
    clock.advance(60)
    second = ingestion.start("b" * 40)
    latest = ingestion.latest()
    assert latest is not None and latest.job_id == second.job_id != first.job_id
    assert latest.started_at == T0 + 60


def test_a_finished_job_reports_its_statistics_and_failures(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn, clock: FixedClock
) -> None:
    agent.put_document(BUCKET + "kept.md")
    agent.put_document(BUCKET + "edited.md")
    agent.put_document(BUCKET + "gone.md")
    agent.upload(BUCKET + "edited.md")
    agent.upload(BUCKET + "new.md")
    agent.upload(BUCKET + "broken.pdf")
    agent.remove(BUCKET + "gone.md")
    agent.set_failures({BUCKET + "broken.pdf": "unsupported file"}, ["1 document could not be parsed"])
    job = ingestion.start(TOKEN)
    agent.advance()
    assert ingestion.get(job.job_id).status == "IN_PROGRESS"
    clock.advance(90)
    agent.advance()
    done = ingestion.get(job.job_id)
    assert (done.status, done.scanned, done.indexed, done.deleted, done.failed) == ("COMPLETE", 4, 2, 1, 1)
    assert done.failure_reasons == ("1 document could not be parsed",)
    assert done.updated_at == T0 + 90 and not done.running


def test_documents_are_listed_across_pages_with_their_failures(agent: BedrockAgentStandIn) -> None:
    agent.page_size = 2
    for name in ("a.md", "b.md", "c.md", "d.md"):
        agent.put_document(BUCKET + name)
    agent.put_document(BUCKET + "e.pdf", status="FAILED", reason="file too large")
    documents = ingestion_at(agent).documents()
    assert [d.uri for d in documents] == [BUCKET + n for n in ("a.md", "b.md", "c.md", "d.md", "e.pdf")]
    assert documents[-1].status == "FAILED" and documents[-1].reason == "file too large"
    assert documents[0].reason is None and documents[0].updated_at == T0
    assert agent.calls.count("ListKnowledgeBaseDocuments") == 3


def test_a_failed_job_covers_nothing_and_keeps_its_changes_for_the_next(
    ingestion: BedrockIngestion, agent: BedrockAgentStandIn
) -> None:
    agent.upload(BUCKET + "a.md")
    agent.set_failures(status="FAILED", reasons=["the data source's role cannot read the bucket"])
    job = ingestion.start(TOKEN)
    assert agent.finish() == "FAILED"
    assert ingestion.get(job.job_id).failure_reasons == ("the data source's role cannot read the bucket",)
    assert agent.pending() == {BUCKET + "a.md"}


def test_jobs_may_move_on_by_themselves_as_they_are_read(agent: BedrockAgentStandIn) -> None:
    agent.reads_per_step = 2
    ingestion = ingestion_at(agent)
    job = ingestion.start(TOKEN)
    statuses = [ingestion.get(job.job_id).status for _ in range(4)]
    assert statuses == ["STARTING", "IN_PROGRESS", "IN_PROGRESS", "COMPLETE"]


def test_the_endpoint_variable_points_clients_at_the_stand_in(
    agent: BedrockAgentStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in agent.environment().items():
        monkeypatch.setenv(name, value)
    assert ENDPOINT_VARIABLE in agent.environment()
    BedrockIngestion(client("bedrock-agent", region_name="us-east-1"), KB, DS).start(TOKEN)
    assert agent.calls == ["StartIngestionJob"]


# -- the handler over the adapter: a burst of uploads --------------------------------------------------------


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


class Bucket:
    """Uploads to the stand-in's bucket, and the SQS records their S3 notifications become."""

    def __init__(self, agent: BedrockAgentStandIn, clock: FixedClock) -> None:
        self.agent, self.clock, self.sent = agent, clock, 0

    def upload(self, *names: str) -> dict[str, Any]:
        """Upload now; the record carrying the notification (one notification per record, as S3 sends)."""
        records = []
        for name in names:
            self.agent.upload(BUCKET + name)
            records.append(
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventTime": iso(self.clock.now()),
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "kb-bucket"}, "object": {"key": name, "eTag": f"e-{name}"}},
                }
            )
        self.sent += 1
        return {"messageId": f"m{self.sent}", "body": json.dumps({"Records": records}), "receiptHandle": "r"}


@dataclass
class Context:
    function_name: str = "IngestFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:IngestFunction"
    aws_request_id: str = "req-1"


def invoke(*records: dict[str, Any]) -> list[str]:
    """One invocation of the ingest handler with these SQS records; the ids it reports failed."""
    context: Any = Context()
    response = ingest.handler({"Records": list(records)}, context)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_a_burst_while_a_job_runs_starts_exactly_one_more_job_and_loses_no_change(
    agent: BedrockAgentStandIn, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    metrics = RecordingMetrics()
    trigger = IngestionTrigger(ingestion_at(agent), metrics, clock)
    monkeypatch.setattr(ingest, "trigger", lambda: trigger)
    bucket = Bucket(agent, clock)

    first = bucket.upload("agenda.md")
    clock.advance(5)
    assert invoke(first) == []
    assert len(agent.jobs()) == 1

    clock.advance(10)  # the burst: three batches while the first job runs, each told to wait
    burst = [bucket.upload("faq.md"), bucket.upload("venue.md", "map.pdf"), bucket.upload("speakers.md")]
    waiting = [invoke(record) for record in burst]
    assert waiting == [["m2"], ["m3"], ["m4"]]
    assert invoke(first) == []  # a redelivered early batch: covered by the running job
    assert len(agent.jobs()) == 1

    agent.finish()
    clock.advance(30)  # the queue's visibility timeout: SQS redelivers the burst, in other groupings
    assert invoke(burst[1]) == []
    assert invoke(burst[0], burst[2]) == []
    assert invoke(*burst) == []

    jobs = agent.jobs()
    assert len(jobs) == 2 and jobs[1]["status"] == "STARTING"
    agent.finish()
    assert agent.pending() == set()
    assert agent.document_statuses() == {
        BUCKET + name: "INDEXED" for name in ("agenda.md", "faq.md", "venue.md", "map.pdf", "speakers.md")
    }
    assert metrics.counts["IngestionStarted"] == 2
    assert metrics.counts["IngestionWaiting"] == 3
    assert metrics.counts["IngestionCovered"] == 3


def test_the_handlers_trigger_is_wired_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {
        "TABLE_NAME": "t",
        "PROCESSED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:processed",
        "HASH_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        "KNOWLEDGE_BASE_ID": KB,
        "KNOWLEDGE_DATA_SOURCE_ID": DS,
        "GENERATION_MODEL_ARN": "arn:aws:bedrock:us-east-1::foundation-model/m",
        "GUARDRAIL_ID": "g",
        "GUARDRAIL_VERSION": "1",
    }
    with BedrockAgentStandIn(KB, DS) as agent:  # the real clock, as the handler's
        for name, value in (environment | agent.environment()).items():
            monkeypatch.setenv(name, value)
        bootstrap.ingestion_trigger.cache_clear()
        try:
            bucket = Bucket(agent, FixedClock(time.time() - 60))
            assert invoke(bucket.upload("agenda.md")) == []
        finally:
            bootstrap.ingestion_trigger.cache_clear()
        assert len(agent.jobs()) == 1
