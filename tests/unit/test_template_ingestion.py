"""The ingestion trigger in ``template.yaml``: uploads to and deletions from the knowledge bucket start an
ingestion job on the knowledge base's data source by themselves.

KnowledgeBucket -> S3 event notifications -> IngestQueue -> IngestFunction (one at a time, bursts coalesced
by the batching window; a batch that finds a job running fails and comes back after the visibility timeout)
-> StartIngestionJob on KnowledgeDataSource. What never starts in time ends in IngestDeadLetterQueue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.local.template import functions, load_template

ROOT = Path(__file__).resolve().parents[2]

INGEST_QUEUE_ARN = {"Fn::GetAtt": ["IngestQueue", "Arn"]}
KNOWLEDGE_BASE_ARN = {"Fn::GetAtt": ["KnowledgeBase", "KnowledgeBaseArn"]}
INGESTION_ACTIONS = {
    "bedrock:StartIngestionJob",
    "bedrock:GetIngestionJob",
    "bedrock:ListIngestionJobs",
    "bedrock:ListKnowledgeBaseDocuments",
}
FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def _resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][name]
    return resource


def _props(template: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resource(template, name)["Properties"]
    return props


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _event(template: dict[str, Any]) -> dict[str, Any]:
    (event,) = _props(template, "IngestFunction")["Events"].values()
    assert event["Type"] == "SQS"
    props: dict[str, Any] = event["Properties"]
    return props


def _timeout(template: dict[str, Any], name: str) -> int:
    return int(_props(template, name).get("Timeout", template["Globals"]["Function"]["Timeout"]))


# -- the bucket notifies the queue ---------------------------------------------------------------------------


def test_knowledge_bucket_notifies_the_queue_of_uploads_and_deletions(template: dict[str, Any]) -> None:
    notifications = _props(template, "KnowledgeBucket")["NotificationConfiguration"]
    assert set(notifications) == {"QueueConfigurations"}
    configurations = notifications["QueueConfigurations"]
    assert {c["Event"] for c in configurations} == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    assert all(c["Queue"] == INGEST_QUEUE_ARN for c in configurations)


def test_knowledge_bucket_is_created_after_the_policy_that_lets_it_notify(template: dict[str, Any]) -> None:
    # S3 checks it may send to the queue when the notification is created.
    assert "IngestQueuePolicy" in _as_list(_resource(template, "KnowledgeBucket")["DependsOn"])


def test_ingest_queue_admits_only_s3_from_this_account(template: dict[str, Any]) -> None:
    policies = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SQS::QueuePolicy"
        and {"Ref": "IngestQueue"} in resource["Properties"]["Queues"]
    ]
    assert policies == ["IngestQueuePolicy"]
    props = _props(template, "IngestQueuePolicy")
    assert props["Queues"] == [{"Ref": "IngestQueue"}]
    (statement,) = props["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert _as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert statement["Resource"] == INGEST_QUEUE_ARN
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


# -- the queue and its dead-letter queue ---------------------------------------------------------------------


def test_ingest_queue_is_encrypted_and_retries_for_about_an_hour(template: dict[str, Any]) -> None:
    queue = _props(template, "IngestQueue")
    # SQS-managed keys: S3 delivers without a KMS grant.
    assert queue["SqsManagedSseEnabled"] is True
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}
    assert int(redrive["maxReceiveCount"]) * int(queue["VisibilityTimeout"]) >= 3600


def test_ingest_dead_letter_queue_keeps_records_for_fourteen_days(template: dict[str, Any]) -> None:
    assert _resource(template, "IngestDeadLetterQueue")["Type"] == "AWS::SQS::Queue"
    dead = _props(template, "IngestDeadLetterQueue")
    assert dead["SqsManagedSseEnabled"] is True
    assert int(dead["MessageRetentionPeriod"]) == FOURTEEN_DAYS
    assert template["Outputs"]["IngestDeadLetterQueueUrl"]["Value"] == {"Ref": "IngestDeadLetterQueue"}


def test_visibility_timeout_outlasts_the_function_and_its_batching_window(template: dict[str, Any]) -> None:
    visibility = int(_props(template, "IngestQueue")["VisibilityTimeout"])
    timeout = _timeout(template, "IngestFunction")
    assert visibility > timeout + int(_event(template)["MaximumBatchingWindowInSeconds"])
    # Lambda's advice for SQS sources: six times the timeout, so a throttled batch is retried in time.
    assert visibility >= 6 * timeout


# -- the function --------------------------------------------------------------------------------------------


def test_ingest_function_reads_its_queue_one_coalesced_batch_at_a_time(template: dict[str, Any]) -> None:
    props = _props(template, "IngestFunction")
    assert props["Handler"] == "handlers.ingest.handler"
    assert int(props["ReservedConcurrentExecutions"]) == 1
    event = _event(template)
    assert event["Queue"] == INGEST_QUEUE_ARN
    assert int(event["BatchSize"]) > 10
    assert int(event["MaximumBatchingWindowInSeconds"]) > 0
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_ingest_function_may_only_run_ingestion_jobs_on_the_knowledge_base(template: dict[str, Any]) -> None:
    policies = _props(template, "IngestFunction")["Policies"]
    (policy,) = policies
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(_as_list(statement["Action"])) == INGESTION_ACTIONS
    assert statement["Resource"] == KNOWLEDGE_BASE_ARN
    assert "Condition" not in statement


def test_no_other_function_may_run_ingestion_jobs(template: dict[str, Any]) -> None:
    for spec in functions(template):
        if spec.logical_id == "IngestFunction":
            continue
        for policy in _props(template, spec.logical_id).get("Policies", []):
            for statement in policy.get("Statement", []):
                statement = statement.get("Fn::If", [None, statement])[1]
                assert not set(_as_list(statement["Action"])) & INGESTION_ACTIONS, spec.logical_id


def test_ingest_function_knows_the_data_source_and_keeps_logs_30_days(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KNOWLEDGE_DATA_SOURCE_ID"] == {"Fn::GetAtt": ["KnowledgeDataSource", "DataSourceId"]}
    assert env["KNOWLEDGE_BASE_ID"] == {"Ref": "KnowledgeBase"}
    logs = _props(template, "IngestFunctionLogs")
    assert logs["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${IngestFunction}"}
    assert int(logs["RetentionInDays"]) == 30


def test_sam_transform_maps_the_queue_to_the_function_with_its_batching(template: dict[str, Any]) -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    document = load_template(ROOT / "template.yaml")
    document["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"  # `sam build` does this
    document["Resources"]["FfmpegLayer"]["Properties"]["ContentUri"] = "s3://bucket/ffmpeg.zip"
    result = transform(document, {"AWS::Region": "us-east-1"}, NoManagedPolicies())["Resources"]
    (mapping,) = [
        r["Properties"]
        for r in result.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"]["EventSourceArn"] == INGEST_QUEUE_ARN
    ]
    assert mapping["FunctionName"] == {"Ref": "IngestFunction"}
    assert mapping["BatchSize"] == 100 and mapping["MaximumBatchingWindowInSeconds"] == 60
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert result["IngestFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
    role = result["IngestFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {a for s in statements for a in _as_list(s["Action"])} == INGESTION_ACTIONS
