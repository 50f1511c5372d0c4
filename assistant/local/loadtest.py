"""``assistant loadtest``: an event's burst through the whole local pipeline, with faults, and its invariants.

The traffic (``assistant.local.traffic``) is published to the inbound topic at its times; ``LocalCloud.run``
runs the functions with up to ``concurrency`` invocations of each in flight, on moto and the stand-ins, in
the twin's virtual time (it follows real time while anything runs). Faults are injected into the functions'
AWS calls (``assistant.local.faults``) at the rates asked for:

- ``bedrock-throttle``: a Bedrock call (RetrieveAndGenerate, Retrieve, Converse) turned away with
  ``ThrottlingException`` (429);
- ``send-throttle``: a ``SendWhatsAppMessage`` turned away with ``ThrottledRequestException`` (429);
- ``ddb-throttle``: a DynamoDB call turned away with ``ProvisionedThroughputExceededException``;

  each HTTP attempt draws again, and the client's own retry policy applies (botocore's for DynamoDB; none
  for sends and Bedrock, whose adapters retry themselves), as on AWS;
- ``ambiguous``: any call takes effect and its answer is lost (a read timeout; botocore may send it again);
- ``crash``: the invocation dies on a call, before or after it takes effect (``SimulatedCrash``).

Then it checks, from what the socialmessaging stand-in accepted (what attendees got), the queues, the table
and the captured logs:

- every message due a reply got exactly one (``lost``: none; ``duplicate_replies``: a reply part sent
  twice; ``unexpected_replies``: a reply to what is due none: a duplicate, reaction or status);
- ``locks_left``: user leases still held (their time not over) once everything settled;
- ``dead_lettered``: records in the dead-letter queues (nothing here truly cannot be processed);
- ``pii_in_logs``: phone numbers, wamids, profile names or message texts found in the functions' logs.

Timing is in virtual time from publication: to the typing indicator and to the reply's first part.
``baseline_ms_per_msg`` is a bare moto SNS -> SQS round trip (publish, receive in tens, delete in tens) in
the same process, the floor under any pipeline on moto.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from random import Random
from typing import IO, TYPE_CHECKING, Any

from assistant.local import faults, traffic
from assistant.local.traffic import Arrival, TrafficContext
from assistant.services.replies import say

if TYPE_CHECKING:
    from assistant.local.engine import KnowledgeBase

BUDGET_TEXTS = tuple(say("budget", language) for language in ("en", "es", "pt", "fr", "de", "tr", "ar"))
"""The reply over the global Bedrock budget, in each language."""
FAULT_KINDS = ("bedrock-throttle", "send-throttle", "ddb-throttle", "ambiguous", "crash")
ENGINES = ("local", "scripted")


@dataclass
class Options:
    users: int = 2000
    messages: int = 10000
    window: float = 120.0
    """Seconds (of the event's time) over which the messages arrive."""
    engine: str = "local"
    latency: float = 0.0
    """The scripted engine's answer time, in seconds."""
    concurrency: int = 4
    """Invocations of each function in flight at once (Lambda's concurrency)."""
    faults: dict[str, float] = field(default_factory=dict)
    seed: int = 7
    media_dir: Path | None = None
    """Where the sample voice note is (``examples/media``); without it, no voice notes are sent."""
    baseline_messages: int = 500

    def check(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
        for kind, rate in self.faults.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULT_KINDS)}")
            if not 0 <= rate <= 1:
                raise ValueError(f"the rate of {kind} must be between 0 and 1")
        if self.users < 1 or self.messages < 1 or self.concurrency < 1 or self.window <= 0:
            raise ValueError("users, messages and concurrency must be at least 1, and the window positive")
        if self.messages / self.users > 8:
            # Beyond that an attendee could pass the rate limit (20 a minute), whose later messages are
            # rightly unanswered: the invariants would no longer say one reply per message.
            raise ValueError("at most 8 messages per attendee on average: raise --users")


@dataclass
class Report:
    engine: str
    users: int
    messages: int
    valid: int
    replies: int
    static_replies: int
    budget_replies: int
    """Of the static replies, those over the global Bedrock budget (``BEDROCK_BUDGET_PER_MINUTE``)."""
    lost: int
    duplicate_replies: int
    unexpected_replies: int
    dead_lettered: int
    locks_left: int
    pii_in_logs: int
    throughput_msgs_per_s: float
    typing_p50_ms: float | None
    typing_p95_ms: float | None
    reply_p50_ms: float | None
    reply_p95_ms: float | None
    wall_s: float
    virtual_s: float
    baseline_ms_per_msg: float
    pipeline_ms_per_msg: float
    faults: dict[str, Any]
    kinds: dict[str, int]
    answer_sources: dict[str, int]
    calls: dict[str, int]
    """The functions' AWS calls in the run, by ``service.Operation``."""
    concurrency: int
    latency: float
    peak_answers_in_flight: int
    """The most questions the scripted engine worked on at once (0 with the local engine)."""

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicate_replies
            or self.unexpected_replies
            or self.dead_lettered
            or self.locks_left
            or self.pii_in_logs
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"ok": self.ok}, ensure_ascii=False)


def run(
    options: Options, *, progress: IO[str] | None = None, knowledge_base: KnowledgeBase | None = None
) -> Report:
    """One load test in a temporary home. The knowledge base: ``knowledge_base``, else the default home's
    (the sample event's, built there once)."""
    from assistant.local import knowledge_home
    from assistant.local.bedrock import Scripted
    from assistant.local.runtime import LocalCloud, default_home, shared_embedder

    options.check()
    voice = options.media_dir is not None and (options.media_dir / f"{traffic.VOICE_MEDIA_ID}.ogg").exists()
    arrivals = traffic.event_traffic(
        users=options.users, messages=options.messages, window=options.window, seed=options.seed, voice=voice
    )
    if knowledge_base is None:
        knowledge_base = knowledge_home.open_knowledge_base(default_home(), shared_embedder(), seed=True)
    log = io.StringIO()
    scripted = Scripted(options.latency) if options.engine == "scripted" else None
    plan = faults.FaultPlan(random=Random(options.seed))
    with (
        tempfile.TemporaryDirectory(prefix="loadtest-") as home,
        LocalCloud(
            Path(home),
            log_stream=log,
            knowledge_base=knowledge_base,
            media_dir=options.media_dir if voice else None,
            scripted=scripted,
        ) as cloud,
    ):
        baseline = _baseline(options.baseline_messages)
        feed = _Feed(arrivals, cloud, progress)
        from assistant.local.workers import Workers

        workers = Workers(cloud.clock)
        plan.rules += _rules(options.faults, in_function=lambda: workers.function() is not None)
        started, virtual_start = time.perf_counter(), cloud.clock.now()
        with faults.injected(plan):
            cloud.run(feed, concurrency=options.concurrency, workers=workers)
        wall = time.perf_counter() - started
        feed.finish()
        report = _report(options, cloud, feed, workers, plan, log.getvalue(), wall, virtual_start, baseline)
        report.peak_answers_in_flight = scripted.peak if scripted is not None else 0
        return report


def _rules(rates: dict[str, float], in_function: Callable[[], bool]) -> list[Any]:
    """The fault rules for ``--fault KIND=RATE``: only on the functions' own calls (not on the event source
    mappings' receives and deletes, which are AWS's, nor on the stand-ins' own work)."""

    def on(services: tuple[str, ...], operation: str | None = None) -> faults.Match:
        def match(service: str, op: str, params: dict[str, Any]) -> bool:
            return (
                (not services or service in services)
                and (operation is None or op == operation)
                and in_function()
            )

        return match

    rules: list[Any] = []
    for kind, rate in rates.items():
        if rate <= 0:
            continue
        if kind == "bedrock-throttle":
            rules.append(
                faults.throttling(
                    on(("bedrock-agent-runtime", "bedrock-runtime")),
                    "ThrottlingException",
                    "Too many requests, please wait before trying again.",
                    faults.UNLIMITED,
                    status=429,
                    rate=rate,
                )
            )
        elif kind == "send-throttle":
            rules.append(
                faults.throttling(
                    on(("socialmessaging",), "SendWhatsAppMessage"),
                    "ThrottledRequestException",
                    "Rate exceeded",
                    faults.UNLIMITED,
                    status=429,
                    rate=rate,
                )
            )
        elif kind == "ddb-throttle":
            rules.append(
                faults.throttling(
                    on(("dynamodb",)),
                    "ProvisionedThroughputExceededException",
                    "The level of configured provisioned throughput for the table was exceeded.",
                    faults.UNLIMITED,
                    rate=rate,
                )
            )
        elif kind == "ambiguous":
            rules.append(faults.ambiguous(on(()), faults.UNLIMITED, rate=rate))
        elif kind == "crash":
            rules.append(faults.crash_before(on(()), faults.UNLIMITED, rate=rate / 2))
            rules.append(faults.crash_after(on(()), faults.UNLIMITED, rate=rate / 2))
    return rules


class _Feed:
    """The arrivals, published at their times (``LocalCloud.run``'s feed), with progress on ``progress``."""

    def __init__(self, arrivals: list[Arrival], cloud: Any, progress: IO[str] | None) -> None:
        self.arrivals = arrivals
        self.start = cloud.clock.now()
        self.published_at: dict[str, float] = {}
        """When each message (by wamid) was first published, in virtual time."""
        self.published = 0
        self._next = 0
        self._progress = progress
        self._shown = 0.0
        self._started = time.perf_counter()
        self._social = cloud.social
        self._seen = 0
        self._replies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.context = TrafficContext(replies_to=self._replies_to, random=Random(1))

    def publish_due(self, cloud: Any) -> int:
        now = cloud.clock.now()
        count = 0
        while self._next < len(self.arrivals) and self.start + self.arrivals[self._next].at <= now:
            arrival = self.arrivals[self._next]
            payload = arrival.envelope or (arrival.build(self.context) if arrival.build else "")
            if arrival.wamid and arrival.kind != "duplicate":
                self.published_at.setdefault(arrival.wamid, now)
            cloud.publish_inbound(payload)
            self._next += 1
            count += 1
        self.published += count
        self._show()
        return count

    def next_at(self) -> float | None:
        return self.start + self.arrivals[self._next].at if self._next < len(self.arrivals) else None

    def _replies_to(self, number: str) -> list[dict[str, Any]]:
        calls = self._social.calls
        for call in calls[self._seen :]:
            message = call["message"]
            if message.get("type") == "text" and message.get("to"):
                self._replies[str(message["to"])].append(call)
        self._seen = len(calls)
        return self._replies.get(number, [])

    def _show(self, final: bool = False) -> None:
        if self._progress is None:
            return
        now = time.perf_counter()
        if not final and now - self._shown < 2.0:
            return
        self._shown = now
        elapsed = now - self._started
        replies = sum(1 for call in self._social.calls if call["message"].get("type") == "text")
        self._progress.write(
            f"\r{self.published:>6}/{len(self.arrivals)} published  {replies:>6} replies sent  "
            f"{elapsed:6.0f} s"
        )
        if final:
            self._progress.write("\n")
        self._progress.flush()

    def finish(self) -> None:
        self._show(final=True)


def _report(
    options: Options,
    cloud: Any,
    feed: _Feed,
    workers: Any,
    plan: faults.FaultPlan,
    log: str,
    wall: float,
    virtual_start: float,
    baseline: float,
) -> Report:
    arrivals = feed.arrivals
    kinds = Counter(a.kind for a in arrivals)
    outcome = replies(arrivals, cloud.social.calls, workers.senders)
    published = feed.published_at
    typing = [(at - published[w]) * 1000 for w, at in outcome.typing_at.items() if w in published]
    reply = [(at - published[w]) * 1000 for w, at in outcome.reply_at.items() if w in published]
    sources = {
        name.split(" ", 1)[1]: count
        for name, count in cloud.metrics.items()
        if name.startswith("Answered ") and count
    }
    calls: Counter[str] = Counter()
    for (function, service, operation), count in workers.calls.items():
        if function != "harness":
            calls[f"{service}.{operation}"] += count
    fired = Counter(f"{kind} {service}.{operation}" for kind, service, operation in plan.fired)
    return Report(
        engine=options.engine,
        users=options.users,
        messages=len(arrivals),
        valid=outcome.valid,
        replies=len(outcome.reply_at),
        static_replies=outcome.static,
        budget_replies=outcome.budget,
        lost=len(outcome.lost),
        duplicate_replies=outcome.duplicates,
        unexpected_replies=outcome.unexpected,
        dead_lettered=sum(cloud.dead_letters().values()),
        locks_left=_locks_left(cloud),
        pii_in_logs=_personal_data_in(log, arrivals),
        throughput_msgs_per_s=round(len(arrivals) / wall, 1),
        typing_p50_ms=_percentile(typing, 50),
        typing_p95_ms=_percentile(typing, 95),
        reply_p50_ms=_percentile(reply, 50),
        reply_p95_ms=_percentile(reply, 95),
        wall_s=round(wall, 1),
        virtual_s=round(cloud.clock.now() - virtual_start, 1),
        baseline_ms_per_msg=round(baseline * 1000, 2),
        pipeline_ms_per_msg=round(wall / len(arrivals) * 1000, 2),
        faults={"rates": dict(options.faults), "fired": dict(fired)},
        kinds=dict(kinds),
        answer_sources=sources,
        calls=dict(sorted(calls.items())),
        concurrency=options.concurrency,
        latency=options.latency,
        peak_answers_in_flight=0,
    )


@dataclass
class Replies:
    """What attendees got, message by message (by wamid)."""

    valid: int
    """Messages due exactly one reply."""
    reply_at: dict[str, float]
    """When each message's reply (its first part) went out."""
    typing_at: dict[str, float]
    """When each message was first marked read with the typing indicator."""
    lost: list[str]
    """Messages due a reply that got none."""
    duplicates: int
    """Reply parts sent more than once (each extra send counts)."""
    unexpected: int
    """Replies to what is due none (a duplicate delivery, a reaction, a status, a malformed payload)."""
    static: int
    """Fixed texts: replies the inbound function sent itself (unsupported types, still working...) and the
    answer stage's "ask me again in a minute" over the global budget."""
    budget: int
    """Of those, over ``BEDROCK_BUDGET_PER_MINUTE``."""


def replies(arrivals: list[Arrival], calls: list[dict[str, Any]], senders: dict[str, str]) -> Replies:
    """Join what the socialmessaging stand-in accepted (``calls``) to the messages they answer: a reply
    quotes its message (``context.message_id``) and names its part (``biz_opaque_callback_data``)."""
    due = {a.wamid for a in arrivals if a.due_a_reply}
    typing_at: dict[str, float] = {}
    reply_at: dict[str, float] = {}
    first_part: dict[str, str] = {}
    over_budget: set[str] = set()
    parts: Counter[tuple[str, str]] = Counter()
    unexpected = 0
    for call in calls:
        message = call["message"]
        if message.get("status") == "read" and message.get("typing_indicator"):
            typing_at.setdefault(str(message.get("message_id")), float(call["at"]))
            continue
        quoted = str((message.get("context") or {}).get("message_id") or "")
        if message.get("type") != "text" or not quoted:
            continue
        if quoted not in due:
            unexpected += 1
            continue
        callback = str(message.get("biz_opaque_callback_data") or "")
        parts[(quoted, callback)] += 1
        if quoted not in reply_at:
            reply_at[quoted] = float(call["at"])
            first_part[quoted] = callback
            body = str((message.get("text") or {}).get("body") or "")
            if any(text in body for text in BUDGET_TEXTS):
                over_budget.add(quoted)
    return Replies(
        valid=len(due),
        reply_at=reply_at,
        typing_at={w: at for w, at in typing_at.items() if w in due},
        lost=[w for w in due if w not in reply_at],
        duplicates=sum(count - 1 for count in parts.values() if count > 1),
        unexpected=unexpected,
        static=sum(
            1
            for wamid, callback in first_part.items()
            if senders.get(callback) == "InboundFunction" or wamid in over_budget
        ),
        budget=len(over_budget),
    )


def _percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _locks_left(cloud: Any) -> int:
    import boto3

    # A lease is held while its time lasts (``lease_until``); once everything has settled none should be:
    # one still running would be a lock outliving the attempt that took it.
    now = cloud.clock.now()
    held = 0
    paginator = boto3.client("dynamodb").get_paginator("scan")
    for page in paginator.paginate(TableName=cloud.table_name()):
        held += sum(
            1
            for item in page["Items"]
            if "lease_owner" in item and float(item.get("lease_until", {}).get("N", "inf")) > now
        )
    return held


def _personal_data_in(log: str, arrivals: list[Arrival]) -> int:
    """How many distinct pieces of the attendees' personal data the log holds."""
    numbers = {a.attendee.number for a in arrivals}
    names = {a.attendee.name for a in arrivals}
    wamids = {a.wamid for a in arrivals if a.wamid}
    texts = {a.text for a in arrivals if len(a.text) >= 12}
    found = {n for n in re.findall(r"\d{9,}", log) if n in numbers}
    found |= {w for w in re.findall(r"wamid\.[A-Za-z0-9+/=]+", log) if w in wamids}
    found |= {n for n in names if n in log}
    found |= {t for t in texts if t in log or json.dumps(t)[1:-1] in log}
    return len(found)


def _baseline(count: int) -> float:
    """Seconds per message of a bare SNS -> SQS round trip on moto: publish each, receive and delete in
    tens, as an event source mapping would."""
    import boto3

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="loadtest-baseline")["TopicArn"]
    queue = sqs.create_queue(QueueName="loadtest-baseline")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    body = json.dumps({"hello": "x" * 1500})
    started = time.perf_counter()
    for _ in range(count):
        sns.publish(TopicArn=topic, Message=body)
    received = 0
    while received < count:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        received += len(messages)
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    return (time.perf_counter() - started) / max(count, 1)


def table(report: Report) -> str:
    """The report as the command prints it."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f} ms"

    rows = [
        ("engine", f"{report.engine}" + (f" ({report.latency:g} s latency)" if report.latency else "")),
        ("faults", ", ".join(f"{k}={v:g}" for k, v in report.faults["rates"].items()) or "none"),
        ("fired", str(sum(report.faults["fired"].values()))),
        ("messages (attendees)", f"{report.messages:,} ({report.users:,})"),
        ("  by kind", ", ".join(f"{k} {v:,}" for k, v in sorted(report.kinds.items()))),
        ("valid (due one reply)", f"{report.valid:,}"),
        (
            "replies (static, of which over budget)",
            f"{report.replies:,} ({report.static_replies:,}, {report.budget_replies:,})",
        ),
        ("lost", f"{report.lost:,}"),
        ("duplicate replies", f"{report.duplicate_replies:,}"),
        ("unexpected replies", f"{report.unexpected_replies:,}"),
        ("dead-lettered", f"{report.dead_lettered:,}"),
        ("locks left", f"{report.locks_left:,}"),
        ("personal data in logs", f"{report.pii_in_logs:,}"),
        ("throughput", f"{report.throughput_msgs_per_s:,.1f} msg/s ({report.wall_s:,.0f} s)"),
        ("typing indicator p50 / p95", f"{ms(report.typing_p50_ms)} / {ms(report.typing_p95_ms)}"),
        ("reply p50 / p95", f"{ms(report.reply_p50_ms)} / {ms(report.reply_p95_ms)}"),
        (
            "per message: pipeline / bare SNS->SQS",
            f"{report.pipeline_ms_per_msg:.1f} ms / {report.baseline_ms_per_msg:.2f} ms",
        ),
        ("invariants", "hold" if report.ok else "BROKEN"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
