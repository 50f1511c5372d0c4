"""Capacity and cost of a deployment of template.yaml, on paper: the figures of docs/capacity.md.

Run from the repository root: ``python benchmarks/capacity.py`` (about a minute and a half: it replays text
messages through the local pipeline to count the AWS calls a question makes). Options:

- ``--loadtest FILE``: take the calls per question from ``assistant loadtest --json`` instead (no replay);
- ``--quick``: take them from the README's Measured table instead (no replay);
- ``--answer-seconds``, ``--input-tokens``, ``--output-tokens`` and the other flags (``--help``) override the
  stated assumptions.

It prints: the template's settings that bound throughput and spend, the AWS calls per answered question, the
capacity arithmetic per region (Little's law: concurrency = arrival rate x duration) with the binding
constraint, the cost per 1,000 questions by service, and the fixed monthly costs. Every price below carries
its source and the date it was read; ``confirmed=False`` marks a price that could not be confirmed that day.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
READ_ON = "2026-11-23"
"""The day the prices and quotas below were read."""

# -- prices (us-east-1, USD) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """``usd`` dollars per ``per`` units of ``unit``."""

    usd: float
    per: float
    unit: str
    source: str
    read: str = READ_ON
    confirmed: bool = True
    """False: not confirmed on ``read`` in any copy of the source at hand; an assumption."""
    note: str = ""

    @property
    def each(self) -> float:
        return self.usd / self.per


BEDROCK = "https://aws.amazon.com/bedrock/pricing/"
PRICES: dict[str, Price] = {
    "nova-lite.input": Price(
        0.06,
        1e6,
        "input token",
        BEDROCK,
        note="Amazon Nova Lite, on demand; the same figure in two independent price lists (an LLM pricing"
        " calculator, LiteLLM's price map of 2026-08); the AWS page itself was not readable here",
    ),
    "nova-lite.output": Price(0.24, 1e6, "output token", BEDROCK, note="as above"),
    "titan-embed-v2.input": Price(
        0.02,
        1e6,
        "input token",
        BEDROCK,
        confirmed=False,
        note="Titan Text Embeddings V2 (the question is embedded by the knowledge base)",
    ),
    "guardrails.content": Price(
        0.15,
        1000,
        "text unit",
        BEDROCK,
        note="content filters incl. prompt attack; a text unit is up to 1,000 characters (since Dec 2024)",
    ),
    "guardrails.topics": Price(0.15, 1000, "text unit", BEDROCK, note="denied topics"),
    "guardrails.pii": Price(
        0.10, 1000, "text unit", BEDROCK, note="sensitive information filters (managed PII)"
    ),
    "s3vectors.query": Price(
        2.50,
        1e6,
        "QueryVectors call",
        "https://aws.amazon.com/s3/pricing/",
        note="plus a per-TB charge on the index's size: below $0.0001 per 1,000 questions for an event's",
    ),
    "lambda.requests": Price(0.20, 1e6, "request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda.arm64": Price(
        0.0000133334, 1, "GB-second", "https://aws.amazon.com/lambda/pricing/", note="arm64"
    ),
    "sqs.requests": Price(
        0.40, 1e6, "request", "https://aws.amazon.com/sqs/pricing/", note="standard queue, 64 KB chunks"
    ),
    "sns.publish": Price(
        0.50, 1e6, "publish", "https://aws.amazon.com/sns/pricing/", note="deliveries to SQS are not charged"
    ),
    "sns.filtering": Price(
        0.09,
        1,
        "GB scanned",
        "https://aws.amazon.com/sns/pricing/",
        confirmed=False,
        note="payload-based filtering (the inbound subscription filters on the message body)",
    ),
    "dynamodb.wru": Price(
        0.625,
        1e6,
        "write request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        confirmed=False,
        note="on demand, after the November 2024 cut; a transactional write is 2 WRU per KB",
    ),
    "dynamodb.rru": Price(
        0.125,
        1e6,
        "read request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        confirmed=False,
        note="a strongly consistent read of up to 4 KB is 1 RRU",
    ),
    "kms.requests": Price(0.03, 10000, "request", "https://aws.amazon.com/kms/pricing/"),
    "logs.ingestion": Price(
        0.50,
        2**30,
        "byte ingested",
        "https://aws.amazon.com/cloudwatch/pricing/",
        note="standard class, first tier of Lambda's tiered log pricing",
    ),
    "xray.traces": Price(5.00, 1e6, "trace recorded", "https://aws.amazon.com/xray/pricing/"),
    "eum.message": Price(
        0.005,
        1,
        "message sent or received",
        "https://aws.amazon.com/end-user-messaging/pricing/",
        confirmed=False,
        note="AWS's per-message fee, billed for each WhatsApp message sent or received (the billing model is"
        " confirmed in the service's billing documentation; the amount is not)",
    ),
    "meta.service": Price(
        0.0,
        1,
        "service message",
        "https://developers.facebook.com/docs/whatsapp/pricing/",
        note="non-template replies inside the 24-hour customer service window are free (since 2024-11-01;"
        " per-message pricing since 2025-07-01, utility templates in the window free too)",
    ),
}
"""Every price the cost table uses; ``each`` is dollars per unit."""

MONTHLY: dict[str, Price] = {
    "kms.key": Price(1.00, 1, "key-month", "https://aws.amazon.com/kms/pricing/"),
    "secretsmanager.secret": Price(
        0.40, 1, "secret-month", "https://aws.amazon.com/secrets-manager/pricing/", confirmed=False
    ),
    "cloudwatch.metric": Price(
        0.30,
        1,
        "custom metric-month",
        "https://aws.amazon.com/cloudwatch/pricing/",
        note="first 10,000 metrics; an EMF metric is one name and dimension values",
    ),
    "cloudwatch.alarm": Price(
        0.10,
        1,
        "alarm metric-month",
        "https://aws.amazon.com/cloudwatch/pricing/",
        confirmed=False,
        note="standard resolution; an alarm on a Metrics Insights query or on metric math may cost more",
    ),
    "cloudwatch.dashboard": Price(
        3.00, 1, "dashboard-month", "https://aws.amazon.com/cloudwatch/pricing/", confirmed=False
    ),
}

# -- quotas --------------------------------------------------------------------------------------------------

QUOTA_TABLE = "https://docs.aws.amazon.com/general/latest/gr/bedrock.html"
"""Read through a copy of the table dated June 2025 (values per Region); newer AWS pages describe the runtime
quotas as tokens per minute (and per day) only, and say new accounts may get less: Service Quotas tells."""


@dataclass(frozen=True)
class Quotas:
    region: str
    model: str
    model_kind: str
    model_rpm: float | None
    model_tpm: float
    retrieve_and_generate_per_s: float = 20
    guardrail_tu_per_s: Mapping[str, float] = field(default_factory=dict)
    guardrail_requests_per_s: float = 25
    sns_publish_per_s: float = 9000
    dynamodb_table_wru_per_s_new: float = 4000
    dynamodb_item_wru_per_s: float = 1000
    social_send_per_s: float = 1000
    meta_messages_per_s: float = 80
    account_concurrency: int = 1000


QUOTAS: dict[str, Quotas] = {
    "us-east-1": Quotas(
        region="us-east-1",
        model="amazon.nova-lite-v1:0",
        model_kind="on demand, in Region",
        model_rpm=1000,
        model_tpm=2_000_000,
        guardrail_tu_per_s={"content": 200, "topics": 50, "pii": 200},
        guardrail_requests_per_s=50,
        sns_publish_per_s=30000,
    ),
    "us-east-1, us. profile": Quotas(
        region="us-east-1",
        model="us.amazon.nova-lite-v1:0",
        model_kind="cross-Region profile",
        model_rpm=2000,
        model_tpm=4_000_000,
        guardrail_tu_per_s={"content": 200, "topics": 50, "pii": 200},
        guardrail_requests_per_s=50,
        sns_publish_per_s=30000,
    ),
    "eu-west-1": Quotas(
        region="eu-west-1",
        model="eu.amazon.nova-lite-v1:0",
        model_kind="cross-Region profile",
        model_rpm=200,
        model_tpm=200_000,
        guardrail_tu_per_s={"content": 25, "topics": 25, "pii": 25},
        guardrail_requests_per_s=25,
        sns_publish_per_s=9000,
    ),
}
QUOTA_SOURCES: dict[str, tuple[str, bool]] = {
    "Bedrock model": (
        f"{QUOTA_TABLE}: Nova Lite on demand 1,000 requests and 2,000,000 tokens a minute in us-east-1"
        " (100 and 100,000 elsewhere); through a cross-Region profile 2,000 and 4,000,000 from the US"
        " Regions, 200 and 200,000 from the others (eu-west-1 included)",
        True,
    ),
    "RetrieveAndGenerate": (
        f"{QUOTA_TABLE}: 20 requests a second (Retrieve too); the quota name L-AFA1CDAB and 20/s in a 2026"
        " compilation of the table; RetrieveAndGenerateStream 20/s in the table's copy",
        True,
    ),
    "Guardrails": (
        f"{QUOTA_TABLE}: On-demand ApplyGuardrail text units a second, per policy: content 200, denied topics"
        " 50, sensitive information 200 in us-east-1 and us-west-2, 25 each elsewhere; requests 50 and 25 a"
        " second. Whether a guardrail attached to RetrieveAndGenerate or Converse draws on them: not stated",
        True,
    ),
    "WhatsApp": (
        "../shared/reference/whatsapp-on-aws.md: SendWhatsAppMessage 1,000 a second; Meta about 80 messages a"
        " second per business number (error 130429)",
        True,
    ),
    "Lambda": (
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: 1,000 concurrent executions"
        " a Region by default (new accounts may get less); an SQS event source adds up to 300 a minute",
        False,
    ),
    "DynamoDB": (
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html: a new"
        " on-demand table takes 4,000 writes a second at once; 1,000 WCU a second per partition, so per item",
        False,
    ),
    "SNS": (
        "https://docs.aws.amazon.com/general/latest/gr/sns.html: Publish 30,000 a second in us-east-1, 9,000"
        " in eu-west-1",
        False,
    ),
}

# -- the template's settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSettings:
    name: str
    memory_mb: int
    timeout_s: int
    batch_size: int
    batching_window_s: int
    reserved: int | None
    max_concurrency: int | None
    queue: str
    visibility_s: int
    max_receive: int | None


@dataclass(frozen=True)
class Deployment:
    functions: Mapping[str, FunctionSettings]
    parameters: Mapping[str, str]
    generation: Mapping[str, str]
    chunk_tokens: int
    alarms: Sequence[str]

    def number(self, parameter: str, default: int = 0) -> int:
        value = self.parameters.get(parameter, "")
        return int(value) if value.strip().lstrip("-").isdigit() else default

    @property
    def budget_per_minute(self) -> int:
        """``BedrockBudgetPerMinute`` (0: no bound; absent from an older template: no bound)."""
        return self.number("BedrockBudgetPerMinute", 0)


def _alarm_name(props: Mapping[str, Any], logical_id: str) -> str:
    name = props.get("AlarmName", logical_id)
    if isinstance(name, dict):
        name = name.get("Fn::Sub", logical_id)
    return str(name).replace("${AWS::StackName}-", "")


def read_deployment(path: Path | None = None) -> Deployment:
    """The template's settings that bound throughput and spend, read with the local twin's loader."""
    from assistant.local.template import functions, load_template, parameter_values, resources_of

    template = load_template(path)
    resources = template["Resources"]
    queues = resources_of(template, "AWS::SQS::Queue")
    settings = {}
    for spec in functions(template):
        props = resources[spec.logical_id]["Properties"]
        event = next(e["Properties"] for e in props["Events"].values() if e.get("Type") == "SQS")
        queue = spec.queue["Fn::GetAtt"][0] if isinstance(spec.queue, dict) else str(spec.queue)
        queue_props = queues.get(queue, {})
        redrive = queue_props.get("RedrivePolicy") or {}
        scaling = event.get("ScalingConfig") or {}
        reserved = props.get("ReservedConcurrentExecutions")
        settings[spec.logical_id] = FunctionSettings(
            name=spec.logical_id,
            memory_mb=spec.memory_mb,
            timeout_s=spec.timeout_seconds,
            batch_size=spec.batch_size,
            batching_window_s=int(event.get("MaximumBatchingWindowInSeconds", 0)),
            reserved=None if reserved is None else int(reserved),
            max_concurrency=None
            if "MaximumConcurrency" not in scaling
            else int(scaling["MaximumConcurrency"]),
            queue=queue,
            visibility_s=int(queue_props.get("VisibilityTimeout", 30)),
            max_receive=None if "maxReceiveCount" not in redrive else int(redrive["maxReceiveCount"]),
        )
    chunking = resources["KnowledgeDataSource"]["Properties"]["VectorIngestionConfiguration"]
    chunk = chunking["ChunkingConfiguration"].get("FixedSizeChunkingConfiguration", {})
    alarms = [
        f"{_alarm_name(resource.get('Properties') or {}, name)} ({name})"
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
    ]
    mapping = template.get("Mappings", {}).get("RegionDefaults", {})
    return Deployment(
        functions=settings,
        parameters=parameter_values(template, {}),
        generation={
            region: str(mapping.get(region, {}).get("Generation", "?"))
            for region in ("us-east-1", "eu-west-1")
        },
        chunk_tokens=int(chunk.get("MaxTokens", 300)),
        alarms=alarms,
    )


# -- the assumptions -----------------------------------------------------------------------------------------


def tokens(text: str) -> int:
    """A token count estimate: about four characters a token (English prose)."""
    return max(1, round(len(text) / 4))


@dataclass(frozen=True)
class Assumptions:
    answer_seconds: float = 3.0
    """AnswerFunction's duration for a text question on AWS (RetrieveAndGenerate with the guardrail): stated,
    not measured; the local pipeline's figure says nothing about Bedrock."""
    throttled_answer_seconds: float = 60.0
    """How long an answer attempt retries a throttled Bedrock (BedrockConfig.time_budget_seconds)."""
    inbound_seconds: float = 0.15
    status_seconds: float = 0.05
    categorize_seconds: float = 1.0
    input_tokens: int = 1850
    output_tokens: int = 200
    max_tokens: int = 600
    categorizer_input_tokens: int = 550
    categorizer_output_tokens: int = 30
    categorizer_max_tokens: int = 100
    query_tokens: int = 25
    categorizer_calls: float = 1.0
    """Converse calls of the categorizer per question (the template's Categorizer=bedrock; the local twin
    categorizes with its own embeddings, so these are added)."""
    rag_model_calls: float = 1.0
    statuses_per_reply: float = 3.0
    """Status events per reply on AWS (sent, delivered, read); the local stand-in sends ``sent`` only."""
    text_units_per_guarded_call: float = 2.0
    """Guardrail text units per guarded call: the question (input) and the answer (output), each under
    1,000 characters."""
    platform_log_bytes: int = 400
    """Lambda's START, END and REPORT lines per invocation."""
    envelope_bytes: int = 2500
    xray_sampled: float = 1.0
    """Share of invocations traced: 1.0 is the upper bound (Lambda's default rule records one a second and 5%
    of the rest)."""


def default_assumptions(deployment: Deployment) -> Assumptions:
    """Token counts from the template's prompt, retrieval and chunk size, and the categorizer's request."""
    from assistant.adapters.bedrock import PROMPT_TEMPLATE, BedrockConfig, language_rule
    from assistant.adapters.categorizer import NEW_ALLOWED, SYSTEM_PROMPT, TOOL_CONFIG, TOOL_NAME
    from assistant.services.categories import DEFAULT_CAP

    languages = tuple(deployment.parameters.get("Languages", "en").split(","))
    prompt = PROMPT_TEMPLATE.replace("Answer in the language of the question", language_rule(languages))
    results = deployment.number("RetrievalResults", 5)
    # Bedrock fills $output_format_instructions$ with its citation instructions (about 150 tokens, assumed)
    # and wraps each passage (about 10 tokens); the question is about 100 characters.
    rag_input = tokens(prompt) + 150 + results * (deployment.chunk_tokens + 10) + 25
    categories = "\n".join(f"- Category name {i}" for i in range(DEFAULT_CAP))
    system = SYSTEM_PROMPT.format(categories=categories, tool=TOOL_NAME, new_rule=NEW_ALLOWED)
    # Nova's own tool-use scaffolding around the tool's schema: about 150 tokens, assumed.
    categorizer_input = tokens(system) + tokens(json.dumps(TOOL_CONFIG)) + 150 + 30
    return Assumptions(
        input_tokens=rag_input,
        max_tokens=BedrockConfig("", "", "", "").max_tokens,
        categorizer_input_tokens=categorizer_input,
        categorizer_calls=1.0 if deployment.parameters.get("Categorizer", "bedrock") == "bedrock" else 0.0,
    )


# -- the AWS calls of a question -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What one question costs in AWS calls, as counted by our code (no cold start, no harness)."""

    source: str
    calls: Mapping[str, float]
    """``service.Operation`` -> calls per question."""
    replies_sent: float
    """WhatsApp messages sent per question (replies: not the read receipt)."""
    wru: float
    rru: float
    hot_wru: Mapping[str, float] = field(default_factory=dict)
    """WRU per question landing on one item shared by every attendee (the counters, the budget)."""
    log_bytes: float = 0.0
    """The functions' own log lines and EMF metrics per question."""
    metrics: frozenset[str] = frozenset()
    stages: Mapping[str, int] = field(default_factory=dict)

    def n(self, *names: str) -> float:
        return sum(self.calls.get(name, 0.0) for name in names)


SHARED_ITEMS = {"stats": 1, "budget": 1, "gaps": 1, "users": 16}
"""Items every attendee's questions write (by partition-key prefix), and how many items each is spread over
(``users#<day>#<shard>``: 16 shards)."""


def _item_kb(item: Mapping[str, Any] | None) -> int:
    return 1 if not item else max(1, math.ceil(len(json.dumps(item)) / 1024))


def dynamodb_units(operation: str, params: Mapping[str, Any]) -> tuple[float, float, list[tuple[str, float]]]:
    """(WRU, RRU, [(partition key, WRU)]) of one DynamoDB call; an updated item is taken to be under 1 KB."""

    def pk(key: Mapping[str, Any] | None) -> str:
        return str(((key or {}).get("pk") or {}).get("S", "?"))

    if operation == "TransactWriteItems":
        writes = []
        for entry in params.get("TransactItems", []):
            ((kind, body),) = entry.items()
            item = body.get("Item")
            writes.append((pk(body.get("Key") or item), 2.0 * _item_kb(item if kind == "Put" else None)))
        return sum(w for _, w in writes), 0.0, writes
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        item = params.get("Item") if operation == "PutItem" else None
        wru = float(_item_kb(item))
        return wru, 0.0, [(pk(params.get("Key") or item), wru)]
    if operation == "GetItem":
        return 0.0, 1.0 if params.get("ConsistentRead") else 0.5, []
    if operation == "BatchGetItem":
        rru = 0.0
        for request in params.get("RequestItems", {}).values():
            rru += len(request.get("Keys", [])) * (1.0 if request.get("ConsistentRead") else 0.5)
        return 0.0, rru, []
    if operation == "TransactGetItems":
        return 0.0, 2.0 * len(params.get("TransactItems", [])), []
    return 0.0, 1.0, []  # Query, Scan: at least one unit


def shared_item_wru(writes: Iterable[tuple[str, float]]) -> dict[str, float]:
    """WRU per shared item: each write to an item every attendee writes, divided by its shards."""
    hot: dict[str, float] = {}
    for key, wru in writes:
        prefix = key.split("#", 1)[0]
        if prefix in SHARED_ITEMS:
            name = "users#<day>#<shard>" if prefix == "users" else re.sub(r"#\d+$", "#<n>", key)
            hot[name] = hot.get(name, 0.0) + wru / SHARED_ITEMS[prefix]
    return hot


def per_question(counts: Mapping[str, float], questions: float) -> dict[str, float]:
    """Counts over a run divided by its questions."""
    if questions <= 0:
        raise ValueError("no questions to divide by")
    return {name: count / questions for name, count in counts.items()}


README_CALLS = {
    "dynamodb.TransactWriteItems": 5.0,
    "dynamodb.GetItem": 5.0,
    "dynamodb.UpdateItem": 2.0,
    "dynamodb.PutItem": 1.0,
    "socialmessaging.SendWhatsAppMessage": 2.0,
    "sns.Publish": 1.0,
    "bedrock-agent-runtime.RetrieveAndGenerate": 1.0,
}
"""The README's Measured table for a warm user's answered text (inbound 3, answer 7, the ``sent`` status 2,
the categorizer 5), for ``--quick``."""


def profile_from_counts(
    calls: Mapping[str, float], *, source: str, replies_sent: float, items_per_transaction: float
) -> Profile:
    """A profile from calls per question alone (a load test's, the README's): DynamoDB units estimated with
    ``items_per_transaction`` items of under 1 KB per transaction and strongly consistent reads."""
    wru = 2 * items_per_transaction * calls.get("dynamodb.TransactWriteItems", 0.0)
    wru += sum(calls.get(f"dynamodb.{op}", 0.0) for op in ("PutItem", "UpdateItem", "DeleteItem"))
    rru = calls.get("dynamodb.GetItem", 0.0) + calls.get("dynamodb.Query", 0.0)
    rru += 2 * calls.get("dynamodb.TransactGetItems", 0.0) + calls.get("dynamodb.BatchGetItem", 0.0)
    return Profile(source=source, calls=dict(calls), replies_sent=replies_sent, wru=wru, rru=rru)


LOADTEST_DIVISORS = ("replies", "answers", "valid", "messages")


def profile_from_loadtest(
    run: Mapping[str, Any], *, per: str = "replies", items_per_transaction: float = 4.0
) -> Profile:
    """The calls per question of an ``assistant loadtest --json`` run: its ``calls`` ("service.Operation" ->
    count for the whole run) divided by ``per`` (``replies``: messages that got a reply, answered or fixed;
    ``answers``: replies minus static replies; or ``valid`` or ``messages``). The run's SQS calls are the
    local poller's and its SNS publishes include the traffic's own (End User Messaging's, on AWS), so both are
    left out: the cost model counts the event sources and the inbound topic itself, and the inbound function's
    one publish a question."""
    if per not in LOADTEST_DIVISORS:
        raise ValueError(f"--per is one of {', '.join(LOADTEST_DIVISORS)}")
    replies = float(run.get("replies", 0))
    questions = replies - float(run.get("static_replies", 0)) if per == "answers" else float(run.get(per, 0))
    counts = {
        name: float(n)
        for name, n in (run.get("calls") or {}).items()
        if not name.startswith(("sqs.", "sns."))
    }
    calls = per_question(counts, questions) | {"sns.Publish": 1.0}
    return profile_from_counts(
        calls,
        source=f"load test: {int(sum(counts.values()))} calls over {questions:g} {per}, cold starts included",
        replies_sent=replies / questions,
        items_per_transaction=items_per_transaction,
    )


# -- measuring on the local pipeline (benchmarks/inbound.py's scenarios) -------------------------------------


@dataclass
class _Call:
    stage: str
    service: str
    operation: str
    label: str
    wru: float = 0.0
    rru: float = 0.0
    writes: list[tuple[str, float]] = field(default_factory=list)


class _LogMeter(io.StringIO):
    """The functions' log stream: what was written, and after how many AWS calls."""

    def __init__(self, calls: list[_Call]) -> None:
        super().__init__()
        self.calls = calls
        self.writes: list[tuple[int, int]] = []

    def write(self, text: str) -> int:
        self.writes.append((len(self.calls), len(text.encode())))
        return super().write(text)


@contextlib.contextmanager
def _recording(calls: list[_Call]) -> Iterator[Any]:
    """Record every botocore call with its stage (the handler up the stack) and DynamoDB units; the
    categorizer counts as a stage of its own here."""
    sys.path.insert(0, str(HERE))
    import inbound  # benchmarks/inbound.py
    from botocore.client import BaseClient

    original = BaseClient._make_api_call
    added = {"handlers.categorize": "categorize"}
    inbound.STAGES.update(added)

    def wrapper(self: Any, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        try:
            label = inbound._label(operation, params)
        except (KeyError, TypeError, ValueError):
            label = operation
        call = _Call(inbound._stage(), service, operation, label)
        if service == "dynamodb":
            call.wru, call.rru, call.writes = dynamodb_units(operation, params)
        calls.append(call)
        return original(self, operation, params)

    BaseClient._make_api_call = wrapper
    try:
        yield inbound
    finally:
        BaseClient._make_api_call = original
        for key in added:
            inbound.STAGES.pop(key, None)
        sys.path.remove(str(HERE))


def _align(recorded: Sequence[_Call], scenarios: Sequence[Sequence[tuple[str, str, str]]]) -> list[range]:
    """Where each scenario's calls (as benchmarks/inbound.py counted them) sit among all recorded calls."""
    wanted = [(service, label) for calls in scenarios for (_, service, label) in calls]
    have = [(c.service, c.label) for c in recorded]
    for start in range(len(have) - len(wanted) + 1):
        if have[start : start + len(wanted)] == wanted:
            ranges, at = [], start
            for calls in scenarios:
                ranges.append(range(at, at + len(calls)))
                at += len(calls)
            return ranges
    raise RuntimeError("the recorded calls do not contain the scenarios' calls")


def _emf_metrics(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if '"_aws"' not in line:
            continue
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
                for dims in directive.get("Dimensions", [[]]):
                    values = ",".join(f"{d}={record.get(d)}" for d in dims)
                    for metric in directive.get("Metrics", []):
                        names.add(f"{metric.get('Name')}[{values}]")
    return names


def measure_local() -> tuple[Profile, Profile]:
    """The calls of (a) a new user's first text and (b) the same user's next one, through the local pipeline
    (moto and the stand-ins), as benchmarks/inbound.py's ``measure_pipeline`` replays them."""
    calls: list[_Call] = []
    log = _LogMeter(calls)
    with _recording(calls) as inbound:
        scenarios = inbound.measure_pipeline(log)
    ranges = _align(calls, [c for _, c, _ in scenarios])
    text = log.getvalue()
    metrics = frozenset(_emf_metrics(text))
    profiles = []
    for (name, _, _), span in zip(scenarios[:2], ranges[:2], strict=True):
        ours = [c for c in (calls[i] for i in span) if c.stage != "harness"]
        warm = [c for c in ours if (c.service, c.operation) not in inbound.COLD_START]
        log_bytes = sum(n for at, n in log.writes if span.start < at <= span.stop)
        profiles.append(
            Profile(
                source=f"local pipeline, {name}; no cold start, no harness",
                calls=dict(Counter(f"{c.service}.{c.operation}" for c in warm)),
                replies_sent=sum(c.label == "SendWhatsAppMessage(text)" for c in warm),
                wru=sum(c.wru for c in warm),
                rru=sum(c.rru for c in warm),
                hot_wru=shared_item_wru(w for c in warm for w in c.writes),
                log_bytes=log_bytes,
                metrics=metrics,
                stages=dict(Counter(c.stage for c in warm)),
            )
        )
    return profiles[0], profiles[1]


# -- capacity ------------------------------------------------------------------------------------------------


def concurrency(rate_per_s: float, seconds: float) -> float:
    """Little's law: work in progress = arrival rate x time in the system."""
    return rate_per_s * seconds


def rate_for(concurrent: float, seconds: float) -> float:
    """The arrival rate (per second) that ``concurrent`` executions of ``seconds`` each sustain."""
    return math.inf if seconds <= 0 else concurrent / seconds


@dataclass(frozen=True)
class Limit:
    name: str
    per_minute: float
    """Questions a minute this allows."""
    arithmetic: str


@dataclass(frozen=True)
class Demand:
    """What one question asks of each limited resource."""

    model_calls: float
    model_tokens: float
    model_reserved_tokens: float
    rag_calls: float
    guarded_calls: float
    text_units: float
    sends: float
    publishes: float
    inbound_events: float
    lambda_seconds: Mapping[str, float]


def demand(profile: Profile, a: Assumptions) -> Demand:
    rag = profile.n("bedrock-agent-runtime.RetrieveAndGenerate")
    answer_converse = profile.n("bedrock-runtime.Converse")
    generations = rag * a.rag_model_calls + answer_converse
    inbound_events = 1 + profile.replies_sent * a.statuses_per_reply
    guarded = rag + answer_converse + a.categorizer_calls
    return Demand(
        model_calls=generations + a.categorizer_calls,
        model_tokens=generations * (a.input_tokens + a.output_tokens)
        + a.categorizer_calls * (a.categorizer_input_tokens + a.categorizer_output_tokens),
        model_reserved_tokens=generations * (a.input_tokens + a.max_tokens)
        + a.categorizer_calls * (a.categorizer_input_tokens + a.categorizer_max_tokens),
        rag_calls=rag + profile.n("bedrock-agent-runtime.Retrieve"),
        guarded_calls=guarded,
        text_units=guarded * a.text_units_per_guarded_call,
        sends=profile.n("socialmessaging.SendWhatsAppMessage"),
        publishes=inbound_events + profile.n("sns.Publish"),
        inbound_events=inbound_events,
        lambda_seconds={
            "InboundFunction": a.inbound_seconds + (inbound_events - 1) * a.status_seconds,
            "AnswerFunction": a.answer_seconds,
            "CategorizeFunction": a.categorize_seconds,
        },
    )


def limits(deployment: Deployment, a: Assumptions, profile: Profile, q: Quotas) -> list[Limit]:
    """Questions a minute each constraint allows, with its arithmetic."""
    d = demand(profile, a)
    out = []
    if q.model_rpm is not None and d.model_calls:
        out.append(
            Limit(
                f"Bedrock model requests ({q.model}, {q.model_kind})",
                q.model_rpm / d.model_calls,
                f"{q.model_rpm:,.0f} RPM / {d.model_calls:g} model calls a question",
            )
        )
    if d.model_tokens:
        out.append(
            Limit(
                f"Bedrock model tokens ({q.model})",
                q.model_tpm / d.model_tokens,
                f"{q.model_tpm:,.0f} TPM / {d.model_tokens:,.0f} tokens a question "
                f"(reserved at the start of each call: {d.model_reserved_tokens:,.0f}, "
                f"so {q.model_tpm / d.model_reserved_tokens:,.0f}/min in a burst)",
            )
        )
    if d.rag_calls:
        out.append(
            Limit(
                "Knowledge base RetrieveAndGenerate API",
                q.retrieve_and_generate_per_s * 60 / d.rag_calls,
                f"{q.retrieve_and_generate_per_s:g}/s x 60 / {d.rag_calls:g} a question",
            )
        )
    if d.text_units:
        policy, tu = min(q.guardrail_tu_per_s.items(), key=lambda kv: kv[1])
        out.append(
            Limit(
                f"Guardrail text units ({policy} policy, if inline guardrails draw on ApplyGuardrail's)",
                tu * 60 / d.text_units,
                f"{tu:g} TU/s x 60 / {d.text_units:g} TU a question",
            )
        )
        out.append(
            Limit(
                "Guardrail requests (same proviso)",
                q.guardrail_requests_per_s * 60 / d.guarded_calls,
                f"{q.guardrail_requests_per_s:g}/s x 60 / {d.guarded_calls:g} guarded calls a question",
            )
        )
    # Lambda: the account's pool, shared by every function without a reservation.
    total_seconds = sum(d.lambda_seconds.values())
    out.append(
        Limit(
            "Lambda concurrency (account pool, all three functions)",
            rate_for(q.account_concurrency, total_seconds) * 60,
            f"{q.account_concurrency:,} / {total_seconds:.2f} s of execution a question x 60 "
            f"(answer {a.answer_seconds:g} s, inbound {d.lambda_seconds['InboundFunction']:.2f} s, "
            f"categorize {a.categorize_seconds:g} s)",
        )
    )
    answer = deployment.functions.get("AnswerFunction")
    caps = [c for c in (answer.reserved, answer.max_concurrency) if c is not None] if answer else []
    if caps:
        cap = min(caps)
        out.append(
            Limit(
                "AnswerFunction's own concurrency cap",
                rate_for(cap, a.answer_seconds) * 60,
                f"{cap} / {a.answer_seconds:g} s x 60",
            )
        )
    if d.sends:
        out.append(
            Limit(
                "WhatsApp throughput per business number (Meta)",
                q.meta_messages_per_s * 60 / d.sends,
                f"{q.meta_messages_per_s:g} messages/s x 60 / {d.sends:g} sends a question "
                "(read receipt + typing counted as one)",
            )
        )
        out.append(
            Limit(
                "SendWhatsAppMessage API (End User Messaging)",
                q.social_send_per_s * 60 / d.sends,
                f"{q.social_send_per_s:g}/s x 60 / {d.sends:g}",
            )
        )
    if profile.wru:
        out.append(
            Limit(
                "DynamoDB on-demand, a new table's first throughput",
                q.dynamodb_table_wru_per_s_new * 60 / profile.wru,
                f"{q.dynamodb_table_wru_per_s_new:,.0f} WRU/s x 60 / {profile.wru:g} WRU a question",
            )
        )
    if profile.hot_wru:
        item, wru = max(profile.hot_wru.items(), key=lambda kv: kv[1])
        out.append(
            Limit(
                f"DynamoDB, one item every question writes ({item})",
                q.dynamodb_item_wru_per_s * 60 / wru,
                f"{q.dynamodb_item_wru_per_s:,.0f} WCU/s per partition x 60 / {wru:g} WRU a question "
                "(transactions on it also conflict: measure)",
            )
        )
    out.append(
        Limit(
            "SNS Publish",
            q.sns_publish_per_s * 60 / d.publishes,
            f"{q.sns_publish_per_s:,.0f}/s x 60 / {d.publishes:g} publishes a question",
        )
    )
    return sorted(out, key=lambda limit: limit.per_minute)


def binding(found: Sequence[Limit]) -> Limit:
    return min(found, key=lambda limit: limit.per_minute)


# -- cost ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    """Units per question."""
    price: str
    """A key of PRICES."""


def usage(profile: Profile, a: Assumptions, deployment: Deployment) -> list[Line]:
    """What one question uses of each priced unit on AWS."""
    d = demand(profile, a)
    rag = profile.n("bedrock-agent-runtime.RetrieveAndGenerate")
    generations = rag * a.rag_model_calls + profile.n("bedrock-runtime.Converse")
    memory = {name: f.memory_mb / 1024 for name, f in deployment.functions.items()}
    invocations = {"InboundFunction": d.inbound_events, "AnswerFunction": 1.0, "CategorizeFunction": 1.0}
    gb_seconds = {name: memory.get(name, 0.5) * seconds for name, seconds in d.lambda_seconds.items()}
    queue_messages = (
        d.inbound_events + 1 + 1
    )  # inbound (the message and its reply's statuses), answer, categorize
    lines = [
        Line("Bedrock generation", "input tokens", generations * a.input_tokens, "nova-lite.input"),
        Line("Bedrock generation", "output tokens", generations * a.output_tokens, "nova-lite.output"),
        Line(
            "Bedrock categorizer (Converse)",
            "input tokens",
            a.categorizer_calls * a.categorizer_input_tokens,
            "nova-lite.input",
        ),
        Line(
            "Bedrock categorizer (Converse)",
            "output tokens",
            a.categorizer_calls * a.categorizer_output_tokens,
            "nova-lite.output",
        ),
        Line(
            "Knowledge base: query embedding",
            "input tokens",
            d.rag_calls * a.query_tokens,
            "titan-embed-v2.input",
        ),
        Line("S3 Vectors", "queries", d.rag_calls, "s3vectors.query"),
        Line("Bedrock Guardrails", "text units, content filters", d.text_units, "guardrails.content"),
        Line("Bedrock Guardrails", "text units, denied topics", d.text_units, "guardrails.topics"),
        Line("Bedrock Guardrails", "text units, sensitive information", d.text_units, "guardrails.pii"),
        Line("Lambda", "requests", sum(invocations.values()), "lambda.requests"),
    ]
    lines += [
        Line("Lambda", f"GB-seconds, {name} ({memory.get(name, 0.5) * 1024:.0f} MB)", gbs, "lambda.arm64")
        for name, gbs in gb_seconds.items()
    ]
    lines += [
        Line("SQS", "requests (SNS delivery, receive, delete)", 3 * queue_messages, "sqs.requests"),
        Line("SNS", "publishes (inbound events, processed messages)", d.publishes, "sns.publish"),
        Line(
            "SNS",
            "payload filtering, GB scanned",
            d.inbound_events * a.envelope_bytes / 2**30,
            "sns.filtering",
        ),
        Line("DynamoDB", "write request units", profile.wru, "dynamodb.wru"),
        Line("DynamoDB", "read request units", profile.rru, "dynamodb.rru"),
        Line("KMS", "requests (upper bound: one per SNS publish)", d.publishes, "kms.requests"),
        Line(
            "CloudWatch Logs",
            "bytes ingested (functions' logs and EMF, platform lines)",
            profile.log_bytes + a.platform_log_bytes * sum(invocations.values()),
            "logs.ingestion",
        ),
        Line("X-Ray", "traces recorded", a.xray_sampled * sum(invocations.values()), "xray.traces"),
        Line("End User Messaging Social", "messages received", 1.0, "eum.message"),
        Line("End User Messaging Social", "messages sent (replies)", profile.replies_sent, "eum.message"),
        Line(
            "Meta (WhatsApp)",
            "service messages (replies in the 24-hour window)",
            profile.replies_sent,
            "meta.service",
        ),
    ]
    return lines


def cost_per_thousand(lines: Iterable[Line], prices: Mapping[str, Price]) -> list[tuple[Line, float]]:
    """Each line's cost per 1,000 questions, in dollars."""
    return [(line, 1000 * line.quantity * prices[line.price].each) for line in lines]


def by_service(costed: Iterable[tuple[Line, float]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line, cost in costed:
        totals[line.service] = totals.get(line.service, 0.0) + cost
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def monthly_fixed(deployment: Deployment, metrics: int) -> list[tuple[str, float, str]]:
    """What a deployment costs a month before anyone writes (us-east-1): (item, dollars, price key)."""
    pollers = (
        4 * 5 * 3 * 60 * 24 * 30
    )  # four SQS event sources, five long polls of 20 s each at idle (assumed)
    return [
        ("KMS key", MONTHLY["kms.key"].usd, "kms.key"),
        (
            "Secrets Manager: the hash key (the on-call secret, when set, is one more)",
            MONTHLY["secretsmanager.secret"].usd,
            "secretsmanager.secret",
        ),
        (f"CloudWatch alarms ({len(deployment.alarms)})", 0.10 * len(deployment.alarms), "cloudwatch.alarm"),
        ("CloudWatch dashboard", MONTHLY["cloudwatch.dashboard"].usd, "cloudwatch.dashboard"),
        (
            f"EMF custom metrics seen in one question's run ({metrics}; more appear in a real event)",
            0.30 * metrics,
            "cloudwatch.metric",
        ),
        (
            f"SQS empty long polls of the event sources ({pollers:,} requests)",
            pollers * PRICES["sqs.requests"].each,
            "sqs.requests",
        ),
    ]


# -- printing ------------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if NUMBER.match(c) else c.ljust(w) for c, w in zip(cells, widths, strict=True)
        ).rstrip()

    print(line(headers), "-" * max(len(line(r)) for r in [headers, *rows]), *map(line, rows), "", sep="\n")


NUMBER = re.compile(r"^[$]?[0-9][0-9,.]*(e[-+]?[0-9]+)?%?$")


def money(dollars: float) -> str:
    return f"${dollars:,.4f}" if dollars < 1 else f"${dollars:,.2f}"


def print_settings(deployment: Deployment) -> None:
    print("1. The template's settings (template.yaml, read with assistant.local.template)\n")
    rows = []
    for f in deployment.functions.values():
        rows.append(
            [
                f.name,
                f"{f.memory_mb}",
                f"{f.timeout_s}",
                f"{f.batch_size}",
                f"{f.batching_window_s}",
                "none" if f.reserved is None else str(f.reserved),
                "none" if f.max_concurrency is None else str(f.max_concurrency),
                f"{f.queue} {f.visibility_s} s",
                "-" if f.max_receive is None else str(f.max_receive),
            ]
        )
    table(
        [
            "function (arm64)",
            "MB",
            "timeout s",
            "batch",
            "window s",
            "reserved",
            "max conc.",
            "queue, visibility",
            "maxReceive",
        ],
        rows,
    )
    p = deployment.parameters
    names = [
        "RateLimitMessages",
        "RateLimitWindowSeconds",
        "MaxTextChars",
        "ConversationMaxMessages",
        "ConversationMaxChars",
        "BedrockBudgetPerMinute",
        "RetrievalResults",
        "Categorizer",
    ]
    print("   " + ", ".join(f"{n}={p.get(n, '(absent)')}" for n in names))
    print(
        f"   chunks of {deployment.chunk_tokens} tokens; generation model: "
        + ", ".join(f"{r} {m}" for r, m in deployment.generation.items())
    )
    print(f"   alarms ({len(deployment.alarms)}): " + ", ".join(deployment.alarms) + "\n")


def print_profile(profile: Profile, first: Profile | None) -> None:
    print(f"2. AWS calls per answered question ({profile.source})\n")
    rows = [[name, f"{n:g}"] for name, n in sorted(profile.calls.items())]
    rows.append(["total", f"{sum(profile.calls.values()):g}"])
    table(["call", "per question"], rows)
    if profile.stages:
        print("   by stage: " + ", ".join(f"{k} {v}" for k, v in profile.stages.items()))
    if first is not None:
        extra = Counter(first.calls) - Counter(profile.calls)
        print(
            "   a conversation's first question adds: "
            + (", ".join(f"{k} x{v:g}" for k, v in extra.items()) or "nothing")
        )
    print(
        f"   DynamoDB: {profile.wru:g} WRU and {profile.rru:g} RRU a question (items under 1 KB;"
        " a transactional write is 2 WRU an item)"
    )
    if profile.hot_wru:
        print(
            "   written by every attendee's questions: "
            + ", ".join(f"{k} {v:g} WRU" for k, v in profile.hot_wru.items())
        )
    if profile.log_bytes:
        print(
            f"   the functions' logs and EMF: {profile.log_bytes:,.0f} bytes a question;"
            f" {len(profile.metrics)} distinct EMF metrics in the run"
        )
    print()


def print_capacity(deployment: Deployment, a: Assumptions, profile: Profile) -> dict[str, Limit]:
    d = demand(profile, a)
    print("3. Capacity: questions (attendees asking one each) per minute\n")
    print(
        f"   per question: {d.model_calls:g} model calls ({d.model_tokens:,.0f} tokens), {d.rag_calls:g}"
        f" RetrieveAndGenerate, {d.text_units:g} guardrail text units, {d.sends:g} WhatsApp sends,"
        f" {d.inbound_events:g} inbound events (the message, {d.inbound_events - 1:g} statuses of its reply),"
        f" {d.publishes:g} SNS publishes\n"
    )
    bound = {}
    for region, quotas in QUOTAS.items():
        found = limits(deployment, a, profile, quotas)
        bound[region] = binding(found)
        model = deployment.generation.get(region, quotas.model)
        print(f"   {region} (generation model {model}, {quotas.model_kind}):")
        table(
            ["constraint", "questions/min", "arithmetic"],
            [[lim.name, f"{lim.per_minute:,.0f}", lim.arithmetic] for lim in found],
        )
    budget = deployment.budget_per_minute
    rate = min(limit.per_minute for limit in bound.values()) / 60
    print("   Little's law at the binding rate of each Region (concurrency = rate x duration):")
    for region, limit in bound.items():
        r = limit.per_minute / 60
        parts = ", ".join(f"{name} {concurrency(r, s):.1f}" for name, s in d.lambda_seconds.items())
        print(f"     {region}: {limit.per_minute:,.0f}/min = {r:.2f}/s -> {parts} concurrent executions")
    pool = QUOTAS["us-east-1"].account_concurrency
    offered = budget / 60 if budget else rate
    print(
        f"   when Bedrock throttles, an answer retries for up to {a.throttled_answer_seconds:g} s: at"
        f" {offered * 60:,.0f} questions/min{' (the budget)' if budget else ''} that is"
        f" {concurrency(offered, a.throttled_answer_seconds):,.0f} concurrent AnswerFunctions; the account's"
        f" {pool:,} are all taken at {rate_for(pool, a.throttled_answer_seconds) * 60:,.0f} questions/min"
    )
    if budget:
        print(
            f"   BedrockBudgetPerMinute={budget}: questions over it get 'ask me again in a minute'; "
            + "; ".join(
                f"{r}: {'below' if budget < lim.per_minute else 'above'} the binding"
                f" {lim.per_minute:,.0f}/min"
                for r, lim in bound.items()
            )
        )
    print()
    return bound


def print_cost(profile: Profile, a: Assumptions, deployment: Deployment) -> list[tuple[Line, float]]:
    costed = cost_per_thousand(usage(profile, a, deployment), PRICES)
    total = sum(cost for _, cost in costed)
    print(
        "4. Cost per 1,000 questions, us-east-1 (prices read " + READ_ON + "; * = not confirmed that day)\n"
    )
    rows = []
    for line, cost in costed:
        price = PRICES[line.price]
        mark = "" if price.confirmed else " *"
        rows.append(
            [
                f"{line.service}: {line.item}",
                f"{line.quantity:,.4g}",
                f"${price.usd:g} / {price.per:,.0f} {price.unit}{mark}",
                money(cost),
            ]
        )
    rows.append(["total", "", "", money(total)])
    table(["item", "per question", "price", "per 1,000"], rows)
    rows = [
        [service, money(cost), f"{100 * cost / total:.1f}%"] for service, cost in by_service(costed).items()
    ]
    table(["service", "per 1,000 questions", "share"], rows)
    return costed


def print_fixed(deployment: Deployment, metrics: int) -> None:
    print("5. Fixed monthly costs (before anyone writes), us-east-1\n")
    fixed = monthly_fixed(deployment, metrics)
    rows = [[item, money(cost)] for item, cost, _ in fixed]
    rows.append(["total", money(sum(cost for _, cost, _ in fixed))])
    table(["item", "per month"], rows)


def print_sources() -> None:
    print("6. Sources\n")
    for key, price in {**PRICES, **MONTHLY}.items():
        status = "read" if price.confirmed else "NOT CONFIRMED (assumption), looked for"
        print(
            f"   {key}: ${price.usd:g} per {price.per:,.0f} {price.unit}; {price.source};"
            f" {status} {price.read}" + (f"; {price.note}" if price.note else "")
        )
    for key, (source, confirmed) in QUOTA_SOURCES.items():
        status = "read" if confirmed else "NOT CONFIRMED (assumption), looked for"
        print(f"   quota, {key}: {source}; {status} {READ_ON}")
    print()


def print_summary(
    deployment: Deployment, bound: Mapping[str, Limit], costed: list[tuple[Line, float]]
) -> None:
    budget = deployment.budget_per_minute
    total = sum(cost for _, cost in costed)
    print("Summary")
    for region, limit in bound.items():
        answered = min(limit.per_minute, budget) if budget else limit.per_minute
        print(
            f"   {region}: {limit.per_minute:,.0f} questions/min, bound by {limit.name}; answered with"
            f" BedrockBudgetPerMinute={budget or 'none'}: {answered:,.0f}/min"
        )
    top = ", ".join(f"{s} {money(c)}" for s, c in list(by_service(costed).items())[:3])
    print(f"   cost per 1,000 questions: {money(total)} ({top})")


def parse_args(argv: Sequence[str] | None, base: Assumptions) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--loadtest", type=Path, help="an `assistant loadtest --json` output: its calls instead"
    )
    parser.add_argument(
        "--per",
        default="replies",
        choices=LOADTEST_DIVISORS,
        help="what a load test's calls are divided by (default: replies)",
    )
    parser.add_argument("--quick", action="store_true", help="the README's call counts; no replay")
    parser.add_argument(
        "--items-per-transaction",
        type=float,
        default=4.0,
        help="DynamoDB items a transaction writes, for --loadtest and --quick (default 4)",
    )
    flags = {
        "answer_seconds": "AnswerFunction's duration on AWS",
        "inbound_seconds": "InboundFunction's duration for a message",
        "status_seconds": "InboundFunction's duration for a status event",
        "categorize_seconds": "CategorizeFunction's duration for a question",
        "input_tokens": "RetrieveAndGenerate's input tokens (prompt, passages, question)",
        "output_tokens": "the answer's tokens",
        "categorizer_input_tokens": "the categorizer's input tokens",
        "categorizer_output_tokens": "the categorizer's output tokens",
        "categorizer_calls": "categorizer Converse calls a question (0: Categorizer=off)",
        "rag_model_calls": "model calls a RetrieveAndGenerate makes",
        "statuses_per_reply": "status events a reply brings back",
        "xray_sampled": "share of invocations traced",
    }
    for name, text in flags.items():
        default = getattr(base, name)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"{text} (default {default})",
        )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    started = time.perf_counter()
    deployment = read_deployment()
    base = default_assumptions(deployment)
    args = parse_args(argv, base)
    a = replace(base, **{k: getattr(args, k) for k in vars(base) if hasattr(args, k)})
    first = None
    if args.loadtest:
        run = json.loads(args.loadtest.read_text(encoding="utf-8"))
        profile = profile_from_loadtest(run, per=args.per, items_per_transaction=args.items_per_transaction)
        keys = [
            "messages",
            "valid",
            "replies",
            "static_replies",
            "throughput_msgs_per_s",
            "reply_p50_ms",
            "reply_p95_ms",
            "typing_p50_ms",
            "typing_p95_ms",
        ]
        print("load test: " + ", ".join(f"{k}={run[k]}" for k in keys if k in run) + "\n")
    elif args.quick:
        profile = profile_from_counts(
            README_CALLS,
            source="the README's Measured table",
            replies_sent=1.0,
            items_per_transaction=args.items_per_transaction,
        )
    else:
        first, profile = measure_local()
    print(f"Capacity and cost of template.yaml's deployment, prices and quotas read {READ_ON}\n")
    print_settings(deployment)
    print_profile(profile, first)
    print("   assumptions: " + ", ".join(f"{k}={v:g}" for k, v in vars(a).items()) + "\n")
    bound = print_capacity(deployment, a, profile)
    costed = print_cost(profile, a, deployment)
    print_fixed(deployment, len(profile.metrics))
    print_sources()
    print_summary(deployment, bound, costed)
    print(f"ran in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
