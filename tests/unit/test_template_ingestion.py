"""The ingestion trigger in ``template.yaml``: uploads to and deletions from the knowledge bucket start an
ingestion job on the knowledge base's data source by themselves.

KnowledgeBucket -> S3 event notifications -> IngestQueue -> IngestFunction (one at a time, bursts coalesced
by the batching window; a batch that finds a job running fails and comes back after the visibility timeout)
-> StartIngestionJob on KnowledgeDataSource. What never starts in time ends in IngestDeadLetterQueue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.local.template import functions, load_template
from tests.unit.conftest import as_list as _as_list

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


def _resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource: dict[str, Any] = template["Resources"][name]
    return resource


def _props(template: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resource(template, name)["Properties"]
    return props


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
    # The stack's key, which lets S3 encrypt what it sends (and nothing else of this account's).
    assert queue["KmsMasterKeyId"] == {"Ref": "EncryptionKey"}
    assert "SqsManagedSseEnabled" not in queue
    (s3,) = [
        s
        for s in _props(template, "EncryptionKey")["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "s3.amazonaws.com"}
    ]
    assert set(s3["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert s3["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    redrive = queue["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}
    assert int(redrive["maxReceiveCount"]) * int(queue["VisibilityTimeout"]) >= 3600


def test_ingest_dead_letter_queue_keeps_records_for_fourteen_days(template: dict[str, Any]) -> None:
    assert _resource(template, "IngestDeadLetterQueue")["Type"] == "AWS::SQS::Queue"
    dead = _props(template, "IngestDeadLetterQueue")
    assert dead["KmsMasterKeyId"] == {"Ref": "EncryptionKey"}
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


def _role_statements(template: dict[str, Any], function: str) -> list[dict[str, Any]]:
    role = _props(template, function)["Role"]["Fn::GetAtt"][0]
    return [
        statement.get("Fn::If", [None, statement])[1]
        for policy in _props(template, role)["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_ingest_function_may_only_run_ingestion_jobs_on_the_knowledge_base(template: dict[str, Any]) -> None:
    assert "Policies" not in _props(template, "IngestFunction")
    (statement,) = [
        s
        for s in _role_statements(template, "IngestFunction")
        if set(_as_list(s["Action"])) & INGESTION_ACTIONS
    ]
    assert statement["Effect"] == "Allow"
    assert set(_as_list(statement["Action"])) == INGESTION_ACTIONS
    assert statement["Resource"] == KNOWLEDGE_BASE_ARN
    assert "Condition" not in statement


def test_no_other_function_may_run_ingestion_jobs(template: dict[str, Any]) -> None:
    for spec in functions(template):
        if spec.logical_id == "IngestFunction":
            continue
        for statement in _role_statements(template, spec.logical_id):
            assert not set(_as_list(statement["Action"])) & INGESTION_ACTIONS, spec.logical_id


def test_ingest_function_knows_the_data_source_and_keeps_logs_30_days(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KNOWLEDGE_DATA_SOURCE_ID"] == {"Fn::GetAtt": ["KnowledgeDataSource", "DataSourceId"]}
    assert env["KNOWLEDGE_BASE_ID"] == {"Ref": "KnowledgeBase"}
    logs = _props(template, "IngestFunctionLogs")
    assert logs["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}/IngestFunction"}
    assert _props(template, "IngestFunction")["LoggingConfig"] == {"LogGroup": {"Ref": "IngestFunctionLogs"}}
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
    assert result["IngestFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["IngestFunctionRole", "Arn"]}
    role = result["IngestFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    # Its own role: the ingestion actions, and what any function of this stack may do (its logs, its queue,
    # traces, the key to read the queue).
    assert {a for s in statements for a in _as_list(s["Action"])} == INGESTION_ACTIONS | {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "kms:Decrypt",
    }
    (read_queue,) = [s for s in statements if "sqs:ReceiveMessage" in _as_list(s["Action"])]
    assert read_queue["Resource"] == INGEST_QUEUE_ARN
