"""The doctor's checks with in-memory fakes of every port: what each finds, how it words the fix, and that no
failing port stops the others."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from assistant.errors import RejectedByService, RetryableError
from assistant.fakes import FixedClock
from assistant.ports import DocumentStatus, IngestionJob
from assistant.services.doctor import (
    OPTIONAL_OUTPUTS,
    REDEPLOY,
    Doctor,
    Finding,
    Level,
    LinkedAccount,
    ModelState,
    QueueDepth,
    RoundTripResult,
    exit_code,
    queue_arn,
    render,
    render_finding,
    stack_status,
    summary,
)

STACK = "event-assistant"
REGION = "us-east-1"
ACCOUNT = "123456789012"
PHONE = f"arn:aws:social-messaging:{REGION}:{ACCOUNT}:phone-number-id/0123456789abcdef"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:event-assistant-InboundTopic-AbC123"
OTHER_TOPIC = f"arn:aws:sns:{REGION}:999999999999:someone-elses-topic"
GENERATION = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-lite-v1:0"
EMBEDDING = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"
CATEGORIZER = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0"
)
NOW = 1_800_000_000.0


def queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{STACK}-{name}"


def healthy_outputs() -> dict[str, str]:
    return {
        "InboundTopicArn": TOPIC,
        "ConversationTableName": f"{STACK}-ConversationTable-1",
        "PhoneNumberArn": PHONE,
        "HashKeySecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hash-key",
        "KnowledgeBaseId": "KB12345678",
        "KnowledgeDataSourceId": "DS12345678",
        "GenerationModelArn": GENERATION,
        "InboundQueueUrl": queue_url("InboundQueue"),
        "AnswerQueueUrl": queue_url("AnswerQueue"),
        "CategorizeQueueUrl": queue_url("CategorizeQueue"),
        "IngestQueueUrl": queue_url("IngestQueue"),
        "InboundDeadLetterQueueUrl": queue_url("InboundDeadLetterQueue"),
        "AnswerDeadLetterQueueUrl": queue_url("AnswerDeadLetterQueue"),
        "CategorizeDeadLetterQueueUrl": queue_url("CategorizeDeadLetterQueue"),
        "IngestDeadLetterQueueUrl": queue_url("IngestDeadLetterQueue"),
        "CategorizerModelArn": GENERATION,
        "EmbeddingModelArn": EMBEDDING,
        "AlarmTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms",
        "OperationsDashboardUrl": "https://console.aws.amazon.com/cloudwatch/home#dashboards:name=ea",
    }


# -- fakes --------------------------------------------------------------------------------------------------


@dataclass
class InMemoryStack:
    name: str = STACK
    region: str = REGION
    stack_status: str = "UPDATE_COMPLETE"
    stack_outputs: dict[str, str] = field(default_factory=healthy_outputs)
    error: Exception | None = None

    def status(self) -> str:
        if self.error:
            raise self.error
        return self.stack_status

    def outputs(self) -> Mapping[str, str]:
        return self.stack_outputs


@dataclass
class RecordingAccounts:
    accounts: list[LinkedAccount] = field(
        default_factory=lambda: [LinkedAccount("waba-1", "Event", (PHONE,), TOPIC)]
    )
    links: list[tuple[str, str]] = field(default_factory=list)
    error: Exception | None = None
    link_error: Exception | None = None

    def linked(self) -> list[LinkedAccount]:
        if self.error:
            raise self.error
        return list(self.accounts)

    def link(self, account_id: str, topic_arn: str) -> None:
        if self.link_error:
            raise self.link_error
        self.links.append((account_id, topic_arn))


@dataclass
class InMemoryModels:
    states: dict[str, ModelState] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    checked: list[str] = field(default_factory=list)

    def check(self, model_arn: str) -> ModelState:
        self.checked.append(model_arn)
        if model_arn in self.errors:
            raise self.errors[model_arn]
        return self.states.get(model_arn, ModelState(usable=True))


@dataclass
class InMemoryIngestion:
    job: IngestionJob | None = field(
        default_factory=lambda: IngestionJob("JOB1", "COMPLETE", NOW - 7300, NOW - 7200, 12, 12)
    )
    docs: list[DocumentStatus] = field(
        default_factory=lambda: [DocumentStatus(f"s3://kb/doc{i}.md", "INDEXED") for i in range(12)]
    )
    error: Exception | None = None
    documents_error: Exception | None = None
    opened: list[tuple[str, str]] = field(default_factory=list)

    def open(self, knowledge_base_id: str, data_source_id: str) -> InMemoryIngestion:
        self.opened.append((knowledge_base_id, data_source_id))
        return self

    def start(self, token: str) -> IngestionJob:
        raise AssertionError("the doctor never starts a job")

    def latest(self) -> IngestionJob | None:
        if self.error:
            raise self.error
        return self.job

    def get(self, job_id: str) -> IngestionJob:
        raise AssertionError("not used")

    def documents(self) -> list[DocumentStatus]:
        if self.documents_error:
            raise self.documents_error
        return list(self.docs)


@dataclass
class InMemoryQueues:
    depths: dict[str, QueueDepth] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)

    def depth(self, queue_url: str) -> QueueDepth:
        if queue_url in self.errors:
            raise self.errors[queue_url]
        return self.depths.get(queue_url, QueueDepth(0, 0))


@dataclass
class FixedRoundTrip:
    result: RoundTripResult = field(
        default_factory=lambda: RoundTripResult("answered", "knowledge_base", 4.2, replies=1, dry_run=True)
    )
    error: Exception | None = None

    def run(self) -> RoundTripResult:
        if self.error:
            raise self.error
        return self.result


@dataclass
class World:
    stack: InMemoryStack = field(default_factory=InMemoryStack)
    accounts: RecordingAccounts = field(default_factory=RecordingAccounts)
    models: InMemoryModels = field(default_factory=InMemoryModels)
    ingestion: InMemoryIngestion = field(default_factory=InMemoryIngestion)
    queues: InMemoryQueues = field(default_factory=InMemoryQueues)
    round_trip: FixedRoundTrip | None = None

    def run(self, *, link: bool = False, replace: bool = False) -> list[Finding]:
        doctor = Doctor(
            self.stack,
            accounts=self.accounts,
            models=self.models,
            ingestion=self.ingestion.open,
            queues=self.queues,
            clock=FixedClock(NOW),
            round_trip=self.round_trip,
            link=link,
            replace=replace,
        )
        return doctor.run()


def of(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def only(findings: list[Finding], check: str) -> Finding:
    found = of(findings, check)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def world() -> World:
    return World()


# -- the whole run ------------------------------------------------------------------------------------------


def test_a_healthy_stack_passes_every_check_in_order(world: World) -> None:
    world.round_trip = FixedRoundTrip()
    findings = world.run()
    assert [f.level for f in findings] == [Level.OK] * len(findings)
    checks = [f.check for f in findings]
    assert checks == [
        "stack",
        "outputs",
        "region",
        "whatsapp",
        "model",
        "model",
        "knowledge",
        *["queue"] * 4,
        *["dead-letter"] * 4,
        "round trip",
    ]
    assert exit_code(findings) == 0
    assert render(findings).splitlines()[-1] == "all checks passed"
    assert world.accounts.links == []
    assert world.ingestion.opened == [("KB12345678", "DS12345678")]


def test_without_a_round_trip_none_is_reported(world: World) -> None:
    assert not of(world.run(), "round trip")


# -- a. the stack -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "level"),
    [
        ("CREATE_COMPLETE", Level.OK),
        ("UPDATE_COMPLETE", Level.OK),
        ("IMPORT_COMPLETE", Level.OK),
        ("UPDATE_IN_PROGRESS", Level.WARN),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Level.WARN),
        ("REVIEW_IN_PROGRESS", Level.WARN),
        ("UPDATE_ROLLBACK_COMPLETE", Level.WARN),
        ("ROLLBACK_COMPLETE", Level.FAIL),
        ("ROLLBACK_IN_PROGRESS", Level.FAIL),
        ("UPDATE_ROLLBACK_FAILED", Level.FAIL),
        ("UPDATE_ROLLBACK_IN_PROGRESS", Level.FAIL),
        ("CREATE_FAILED", Level.FAIL),
        ("UPDATE_FAILED", Level.FAIL),
        ("DELETE_COMPLETE", Level.FAIL),
        ("DELETE_IN_PROGRESS", Level.FAIL),
    ],
)
def test_the_stack_status_decides_the_stack_finding(status: str, level: Level) -> None:
    finding = stack_status(STACK, status)
    assert finding.level is level
    assert status in finding.message
    if level is Level.FAIL:
        assert f"aws cloudformation describe-stack-events --stack-name {STACK}" in finding.fix


def test_a_stack_whose_creation_rolled_back_must_be_deleted_first() -> None:
    assert (
        f"aws cloudformation delete-stack --stack-name {STACK}"
        in stack_status(STACK, "ROLLBACK_COMPLETE").fix
    )


def test_a_stack_that_cannot_be_read_is_the_only_finding(world: World) -> None:
    world.stack.error = RejectedByService("cloudformation", "ValidationException")
    findings = world.run()
    assert len(findings) == 1
    assert findings[0].level is Level.FAIL and findings[0].check == "stack"
    assert "ValidationException" in findings[0].message and REGION in findings[0].message
    assert f"--stack-name {STACK} --region {REGION}" in findings[0].fix
    assert exit_code(findings) == 1


def test_missing_outputs_fail_with_a_redeploy_and_the_checks_that_need_them_are_skipped(world: World) -> None:
    del world.stack.stack_outputs["PhoneNumberArn"]
    del world.stack.stack_outputs["AnswerDeadLetterQueueUrl"]
    findings = world.run()
    outputs = only(findings, "outputs")
    assert outputs.level is Level.FAIL and outputs.fix == REDEPLOY
    assert "PhoneNumberArn" in outputs.message and "AnswerDeadLetterQueueUrl" in outputs.message
    assert only(findings, "region") == Finding("region", Level.WARN, "skipped: no output PhoneNumberArn")
    assert only(findings, "whatsapp") == Finding("whatsapp", Level.WARN, "skipped: no output PhoneNumberArn")
    dead = of(findings, "dead-letter")
    assert Finding("dead-letter", Level.WARN, "skipped: no output AnswerDeadLetterQueueUrl") in dead
    assert sum(f.level is Level.OK for f in dead) == 3
    assert only(findings, "knowledge").level is Level.OK  # what it needs is there


def test_missing_optional_outputs_are_named_without_failing(world: World) -> None:
    for name in OPTIONAL_OUTPUTS:
        del world.stack.stack_outputs[name]
    findings = world.run()
    outputs = only(findings, "outputs")
    assert outputs.level is Level.OK
    assert all(name in outputs.message for name in OPTIONAL_OUTPUTS)
    assert world.models.checked == [GENERATION]


# -- b. region ----------------------------------------------------------------------------------------------


def test_a_phone_number_in_another_region_fails(world: World) -> None:
    world.stack.region = "eu-west-1"
    finding = only(world.run(), "region")
    assert finding.level is Level.FAIL
    assert "us-east-1" in finding.message and "eu-west-1" in finding.message
    assert "its own region" in finding.message
    assert finding.fix == "deploy the stack in us-east-1: sam deploy --region us-east-1"


def test_a_phone_number_output_that_is_not_an_arn_fails(world: World) -> None:
    world.stack.stack_outputs["PhoneNumberArn"] = "not-an-arn"
    assert only(world.run(), "region").level is Level.FAIL


# -- c. the WhatsApp link -----------------------------------------------------------------------------------


def test_no_linked_account_holding_the_number_fails_with_the_console_fix(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-2", "Other", (PHONE.replace("0123", "9999"),), TOPIC)]
    finding = only(world.run(), "whatsapp")
    assert finding.level is Level.FAIL
    assert finding.fix == (
        "link the WhatsApp business account in the AWS End User Messaging Social console, in us-east-1"
    )


def test_an_account_linked_to_the_inbound_topic_is_ok(world: World) -> None:
    finding = only(world.run(), "whatsapp")
    assert finding.level is Level.OK and "waba-1" in finding.message


def test_the_phone_number_matches_by_id_whatever_its_form(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", ("phone-number-id-0123456789abcdef",), TOPIC)]
    assert only(world.run(), "whatsapp").level is Level.OK


def test_an_account_without_destination_fails_and_is_not_linked_without_the_flag(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), None)]
    finding = only(world.run(), "whatsapp")
    assert finding.level is Level.FAIL and "no event destination" in finding.message
    assert finding.fix == f"assistant doctor --stack {STACK} --link"
    assert world.accounts.links == []


def test_link_sets_the_destination_of_an_account_without_one(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), None)]
    finding = only(world.run(link=True), "whatsapp")
    assert finding.level is Level.OK and finding.message.startswith("linked:")
    assert world.accounts.links == [("waba-1", TOPIC)]


def test_another_destination_fails_naming_only_that_topics_name(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), OTHER_TOPIC)]
    finding = only(world.run(), "whatsapp")
    assert finding.level is Level.FAIL
    assert "someone-elses-topic" in finding.message
    assert "999999999999" not in finding.message + finding.fix
    assert finding.fix.startswith(f"assistant doctor --stack {STACK} --link --replace")
    assert world.accounts.links == []


@pytest.mark.parametrize(("link", "replace"), [(True, False), (False, True)])
def test_another_destination_is_replaced_only_with_both_flags(
    world: World, link: bool, replace: bool
) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), OTHER_TOPIC)]
    assert only(world.run(link=link, replace=replace), "whatsapp").level is Level.FAIL
    assert world.accounts.links == []


def test_link_and_replace_replace_another_destination(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), OTHER_TOPIC)]
    finding = only(world.run(link=True, replace=True), "whatsapp")
    assert finding.level is Level.OK and "no longer to someone-elses-topic" in finding.message
    assert world.accounts.links == [("waba-1", TOPIC)]


def test_link_does_nothing_to_an_account_already_linked(world: World) -> None:
    assert only(world.run(link=True, replace=True), "whatsapp").level is Level.OK
    assert world.accounts.links == []


def test_a_failed_link_is_a_failure_naming_its_code(world: World) -> None:
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE,), None)]
    world.accounts.link_error = RejectedByService("socialmessaging", "AccessDeniedException")
    finding = only(world.run(link=True), "whatsapp")
    assert finding.level is Level.FAIL and "AccessDeniedException" in finding.message


def test_other_numbers_of_the_account_are_a_warning(world: World) -> None:
    others = (PHONE.replace("0123", "aaaa"), PHONE.replace("0123", "bbbb"))
    world.accounts.accounts = [LinkedAccount("waba-1", "Event", (PHONE, *others), TOPIC)]
    ok, warning = of(world.run(), "whatsapp")
    assert ok.level is Level.OK
    assert warning.level is Level.WARN
    assert "2 other phone numbers" in warning.message and "filter policy" in warning.message


def test_accounts_that_cannot_be_listed_fail_the_check_only(world: World) -> None:
    world.accounts.error = RejectedByService("socialmessaging", "AccessDeniedException")
    findings = world.run()
    finding = only(findings, "whatsapp")
    assert finding == Finding("whatsapp", Level.FAIL, "cannot check: AccessDeniedException")
    assert only(findings, "knowledge").level is Level.OK


# -- d. models ----------------------------------------------------------------------------------------------


def test_each_distinct_model_is_checked(world: World) -> None:
    world.stack.stack_outputs["CategorizerModelArn"] = CATEGORIZER
    findings = of(world.run(), "model")
    assert world.models.checked == [GENERATION, CATEGORIZER, EMBEDDING]
    assert [f.message.split(":")[0] for f in findings] == ["generation", "categorizer", "embedding"]
    assert all(f.level is Level.OK for f in findings)


def test_an_unusable_model_fails_with_its_fix_for_its_own_parameter(world: World) -> None:
    world.stack.stack_outputs["CategorizerModelArn"] = CATEGORIZER
    fix = "use its inference profile: sam deploy --parameter-overrides GenerationModelId=us.x"
    state = ModelState(usable=False, problem="not offered on demand", fix=fix)
    world.models.states = {GENERATION: state, CATEGORIZER: state}
    generation, categorizer, embedding = of(world.run(), "model")
    assert generation.level is Level.FAIL
    assert generation.message == "generation: amazon.nova-lite-v1:0: not offered on demand"
    assert generation.fix == fix
    assert categorizer.fix.endswith("CategorizationModelId=us.x")
    assert embedding.level is Level.OK


def test_a_model_that_cannot_be_checked_fails_alone(world: World) -> None:
    world.models.errors = {GENERATION: RetryableError("bedrock: ThrottlingException")}
    generation, embedding = of(world.run(), "model")
    assert generation.level is Level.FAIL
    assert generation.message == "generation: cannot check: bedrock: ThrottlingException"
    assert embedding.level is Level.OK


# -- e. the knowledge base ----------------------------------------------------------------------------------


def test_a_complete_ingestion_tells_how_many_documents_and_when(world: World) -> None:
    assert only(world.run(), "knowledge") == Finding("knowledge", Level.OK, "12 documents indexed, 2 h ago")


def test_no_ingestion_yet_is_a_warning_with_the_upload_command(world: World) -> None:
    world.ingestion.job = None
    finding = only(world.run(), "knowledge")
    assert finding == Finding(
        "knowledge",
        Level.WARN,
        "no documents ingested yet",
        f"assistant kb upload --stack {STACK} knowledge/",
    )


def test_a_running_ingestion_is_a_warning(world: World) -> None:
    world.ingestion.job = IngestionJob("JOB2", "IN_PROGRESS", NOW - 30, NOW - 30)
    finding = only(world.run(), "knowledge")
    assert finding.level is Level.WARN and "IN_PROGRESS" in finding.message and "30 s ago" in finding.message


def test_a_failed_ingestion_fails_with_its_first_three_reasons(world: World) -> None:
    reasons = ("first reason", "second reason", "third reason", "fourth reason")
    world.ingestion.job = IngestionJob("JOB3", "FAILED", NOW - 60, NOW - 60, failure_reasons=reasons)
    finding = only(world.run(), "knowledge")
    assert finding.level is Level.FAIL
    assert "first reason; second reason; third reason" in finding.message
    assert "fourth" not in finding.message


def test_documents_that_failed_are_a_warning_pointing_at_kb_status(world: World) -> None:
    world.ingestion.job = IngestionJob("JOB4", "COMPLETE", NOW - 600, NOW - 600, 14, 12, failed=2)
    finding = only(world.run(), "knowledge")
    assert finding.level is Level.WARN
    assert finding.message.startswith("2 documents failed") and "12 documents indexed" in finding.message
    assert finding.fix == f"assistant kb status --stack {STACK}"


def test_a_complete_ingestion_that_indexed_nothing_is_a_warning(world: World) -> None:
    world.ingestion.docs = []
    assert only(world.run(), "knowledge").level is Level.WARN


def test_the_last_jobs_figure_stands_in_when_documents_cannot_be_listed(world: World) -> None:
    world.ingestion.documents_error = RejectedByService("bedrock-agent", "AccessDeniedException")
    world.ingestion.job = IngestionJob("JOB5", "COMPLETE", NOW - 100, NOW - 100, 3, 3)
    assert only(world.run(), "knowledge").message == "3 documents indexed, 2 min ago"


def test_an_ingestion_that_cannot_be_read_fails_the_check(world: World) -> None:
    world.ingestion.error = RejectedByService("bedrock-agent", "ResourceNotFoundException")
    finding = only(world.run(), "knowledge")
    assert finding == Finding("knowledge", Level.FAIL, "cannot check: ResourceNotFoundException")


# -- f. queues ----------------------------------------------------------------------------------------------


def test_a_backlog_is_a_warning_pointing_at_the_dashboard(world: World) -> None:
    world.queues.depths = {
        queue_url("AnswerQueue"): QueueDepth(101, 5, oldest_seconds=600),
        queue_url("InboundQueue"): QueueDepth(100, 0),
    }
    inbound, answer, *_ = of(world.run(), "queue")
    assert inbound.level is Level.OK
    assert answer.level is Level.WARN
    assert answer.message == "answer queue: 101 waiting, 5 in flight, the oldest 10 min old: a backlog"
    assert healthy_outputs()["OperationsDashboardUrl"] in answer.fix


def test_messages_in_a_dead_letter_queue_fail_with_how_to_read_and_redrive_them(world: World) -> None:
    url = queue_url("AnswerDeadLetterQueue")
    world.queues.depths = {url: QueueDepth(3, 0)}
    failed = [f for f in of(world.run(), "dead-letter") if f.level is Level.FAIL]
    assert len(failed) == 1
    assert failed[0].message == f"3 messages in {STACK}-AnswerDeadLetterQueue"
    read, redrive = failed[0].fix.splitlines()
    assert read == f"read one first: aws sqs receive-message --queue-url {url}"
    assert redrive.endswith(
        "aws sqs start-message-move-task --source-arn "
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-AnswerDeadLetterQueue"
    )
    assert redrive.startswith("once the cause is fixed")


def test_a_dead_letter_queue_outside_aws_is_named_rather_than_given_an_arn(world: World) -> None:
    url = f"http://127.0.0.1:5000/{ACCOUNT}/local-dlq"
    world.stack.stack_outputs["IngestDeadLetterQueueUrl"] = url
    world.queues.depths = {url: QueueDepth(0, 1)}
    failed = only([f for f in world.run() if f.level is Level.FAIL], "dead-letter")
    assert failed.message == "1 message in local-dlq"
    assert "--source-arn <the ARN of local-dlq>" in failed.fix


def test_a_queue_that_cannot_be_read_fails_alone(world: World) -> None:
    world.queues.errors = {queue_url("CategorizeQueue"): RejectedByService("sqs", "QueueDoesNotExist")}
    queues = of(world.run(), "queue")
    assert [f.level for f in queues] == [Level.OK, Level.OK, Level.FAIL, Level.OK]
    assert queues[2].message == "categorize queue: cannot check: QueueDoesNotExist"


@pytest.mark.parametrize(
    ("url", "arn"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "arn:aws:sqs:eu-west-1:123456789012:q"),
        ("https://eu-west-1.queue.amazonaws.com/123456789012/q", "arn:aws:sqs:eu-west-1:123456789012:q"),
        (
            "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo",
            "arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo",
        ),
        (
            "https://sqs.us-gov-west-1.amazonaws.com/123456789012/q",
            "arn:aws-us-gov:sqs:us-gov-west-1:123456789012:q",
        ),
        ("http://localhost:4566/000000000000/q", None),
        ("https://sqs.us-east-1.amazonaws.com/q", None),
        ("https://evil.example/sqs.us-east-1.amazonaws.com/123456789012/q", None),
    ],
)
def test_a_queue_url_gives_its_arn_only_when_it_is_aws(url: str, arn: str | None) -> None:
    assert queue_arn(url) == arn


# -- g. round trip ------------------------------------------------------------------------------------------


def test_an_answered_round_trip_is_ok_with_its_source_and_time(world: World) -> None:
    world.round_trip = FixedRoundTrip(RoundTripResult("answered", "agenda", 3.25, replies=1, dry_run=False))
    finding = only(world.run(), "round trip")
    assert finding == Finding("round trip", Level.OK, "answered from agenda in 3.2 s (1 reply sent)")


def test_an_answer_from_a_failed_engine_fails(world: World) -> None:
    world.round_trip = FixedRoundTrip(RoundTripResult("answered", "error", 9.0))
    assert only(world.run(), "round trip").level is Level.FAIL


def test_a_static_reply_is_a_warning_saying_what_it_means(world: World) -> None:
    world.round_trip = FixedRoundTrip(RoundTripResult("static", "not_allowed", 1.0))
    finding = only(world.run(), "round trip")
    assert finding.level is Level.WARN
    assert "not_allowed" in finding.message and "the allow list is on" in finding.message
    assert finding.fix == "use --to with an allowed number"


@pytest.mark.parametrize("outcome", ["timeout", "failed"])
def test_a_round_trip_without_answer_fails(world: World, outcome: str) -> None:
    world.round_trip = FixedRoundTrip(RoundTripResult(outcome, seconds=60, detail="reached the answer queue"))
    finding = only(world.run(), "round trip")
    assert finding.level is Level.FAIL and "reached the answer queue" in finding.message
    assert finding.fix == "check the functions' logs and the dead-letter queues"


def test_a_round_trip_that_raises_fails_naming_the_type_only(world: World) -> None:
    world.round_trip = FixedRoundTrip(error=KeyError("+15550001234"))
    finding = only(world.run(), "round trip")
    assert finding.message == "cannot check: KeyError"
    assert "1555" not in finding.message + finding.fix


# -- the report ---------------------------------------------------------------------------------------------


def test_render_aligns_levels_and_checks_and_puts_each_fix_step_on_its_line() -> None:
    findings = [
        Finding("stack", Level.OK, "UPDATE_COMPLETE"),
        Finding("dead-letter", Level.FAIL, "3 messages in dlq", "read one first: A\nthen: B"),
        Finding("knowledge", Level.WARN, "no documents ingested yet", "upload"),
    ]
    assert render(findings).splitlines() == [
        "ok   stack        UPDATE_COMPLETE",
        "fail dead-letter  3 messages in dlq",
        "  fix: read one first: A",
        "       then: B",
        "warn knowledge    no documents ingested yet",
        "  fix: upload",
        "1 problem, 1 warning",
    ]
    assert exit_code(findings) == 1


def test_the_summary_counts_problems_and_warnings() -> None:
    warn = Finding("x", Level.WARN, "w")
    fail = Finding("x", Level.FAIL, "f")
    assert summary([warn, warn]) == "0 problems, 2 warnings"
    assert summary([fail, fail, warn]) == "2 problems, 1 warning"
    assert summary([Finding("x", Level.OK, "o")]) == "all checks passed"
    assert exit_code([warn]) == 0


def test_a_finding_without_fix_is_one_line() -> None:
    assert render_finding(Finding("round trip", Level.WARN, "m")) == "warn round trip   m"


def test_every_failing_port_still_leaves_a_full_report(world: World) -> None:
    boom = RuntimeError("secret detail")
    world.accounts.error = boom
    world.models.errors = {GENERATION: boom, EMBEDDING: boom}
    world.ingestion.error = boom
    world.queues.errors = {url: boom for url in healthy_outputs().values() if url.startswith("https://sqs")}
    world.round_trip = FixedRoundTrip(error=boom)
    findings = world.run()
    assert len(findings) == 16
    assert all("secret" not in f.message for f in findings)
    assert sum(f.level is Level.FAIL for f in findings) == 13
    assert summary(findings) == "13 problems, 0 warnings"
