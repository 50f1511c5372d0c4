"""``assistant doctor --stack NAME``: check a deployed stack, say what is wrong and how to fix it.

The checks and their wording live here; the adapters (``assistant/adapters/doctor.py``) only read the
services. No check raises: a port that fails becomes a FAIL finding for that check, naming the error's code
or type, never its message (a service's message may quote the request).

The checks, in order: the stack (its status, its outputs), the phone number's region, the WhatsApp business
account's link to the inbound topic (``--link`` sets it, ``--link --replace`` replaces another one), the
models, the knowledge base's last ingestion, the queues and dead-letter queues, and a round trip when one is
given. A check that lacks an output it needs is skipped with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from urllib.parse import urlparse

from assistant.errors import AssistantError
from assistant.ports import Clock, Ingestion, IngestionJob


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the doctor's report: what a check found and, when something is off, how to fix it."""

    check: str
    level: Level
    message: str
    fix: str = ""
    """A command or an instruction; several lines when the fix has steps."""


# -- ports --------------------------------------------------------------------------------------------------


class StackInfo(Protocol):
    """The deployed CloudFormation stack."""

    @property
    def name(self) -> str: ...

    @property
    def region(self) -> str: ...

    def status(self) -> str:
        """Its CloudFormation status (``UPDATE_COMPLETE``, ``ROLLBACK_COMPLETE``...)."""
        ...

    def outputs(self) -> Mapping[str, str]:
        """Its outputs, by key."""
        ...


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """A WhatsApp business account linked to the AWS account in End User Messaging Social."""

    account_id: str
    """The AWS id (``waba-...``), not Meta's."""
    name: str
    phone_number_arns: tuple[str, ...]
    event_destination: str | None
    """Where the service publishes the account's events; an account has at most one."""


class WhatsAppAccounts(Protocol):
    def linked(self) -> list[LinkedAccount]:
        """Every linked business account, with its phone numbers and its event destination."""
        ...

    def link(self, account_id: str, topic_arn: str) -> None:
        """Make ``topic_arn`` the account's (only) event destination, replacing any other."""
        ...


@dataclass(frozen=True, slots=True)
class ModelState:
    """Whether the stack may call a model, and if not why and what to do."""

    usable: bool
    problem: str = ""
    fix: str = ""


class ModelAccess(Protocol):
    def check(self, model_arn: str) -> ModelState:
        """Whether a foundation model or an inference profile (by ARN) can be invoked in the stack's
        region."""
        ...


@dataclass(frozen=True, slots=True)
class QueueDepth:
    visible: int
    in_flight: int
    oldest_seconds: float | None = None
    """Age of the oldest message, when known (SQS tells it only as a CloudWatch metric)."""


class Queues(Protocol):
    def depth(self, queue_url: str) -> QueueDepth: ...


@dataclass(frozen=True, slots=True)
class RoundTripResult:
    """What a test message sent through the deployed pipeline came back as."""

    outcome: str
    """``answered``, ``static``, ``timeout`` or ``failed``."""
    source: str = ""
    """The answer's source (``knowledge_base``, ``agenda``, ``no_answer``, ``guardrail``, ``error``,
    ``smalltalk``) or the static reply's reason (``not_allowed``, ``rate_limited``...)."""
    seconds: float = 0.0
    replies: int = 0
    dry_run: bool = True
    detail: str = ""


class RoundTrip(Protocol):
    def run(self) -> RoundTripResult: ...


IngestionFactory = Callable[[str, str], Ingestion]
"""Builds the knowledge base's ``Ingestion`` from the stack's ``KnowledgeBaseId`` and
``KnowledgeDataSourceId`` outputs, which the doctor reads first."""


# -- what a stack must have ---------------------------------------------------------------------------------

REQUIRED_OUTPUTS = (
    "InboundTopicArn",
    "ConversationTableName",
    "PhoneNumberArn",
    "HashKeySecretArn",
    "KnowledgeBaseId",
    "KnowledgeDataSourceId",
    "GenerationModelArn",
    "InboundQueueUrl",
    "AnswerQueueUrl",
    "CategorizeQueueUrl",
    "IngestQueueUrl",
    "InboundDeadLetterQueueUrl",
    "AnswerDeadLetterQueueUrl",
    "CategorizeDeadLetterQueueUrl",
    "IngestDeadLetterQueueUrl",
)
OPTIONAL_OUTPUTS = ("CategorizerModelArn", "EmbeddingModelArn", "AlarmTopicArn", "OperationsDashboardUrl")

QUEUES = (
    ("inbound", "InboundQueueUrl"),
    ("answer", "AnswerQueueUrl"),
    ("categorize", "CategorizeQueueUrl"),
    ("ingest", "IngestQueueUrl"),
)
DEAD_LETTER_QUEUES = (
    ("inbound", "InboundDeadLetterQueueUrl"),
    ("answer", "AnswerDeadLetterQueueUrl"),
    ("categorize", "CategorizeDeadLetterQueueUrl"),
    ("ingest", "IngestDeadLetterQueueUrl"),
)
BACKLOG = 100
"""Messages waiting in a queue above which the functions are not keeping up (or keep failing)."""

MODEL_PARAMETER = "GenerationModelId"
"""The template parameter a model adapter's fix names; the doctor puts the right one for each model."""
_MODEL_PARAMETERS = {
    "generation": "GenerationModelId",
    "categorizer": "CategorizationModelId",
    "embedding": "EmbeddingModelId",
}

REDEPLOY = "redeploy: sam build && sam deploy"
LOGS_AND_DEAD_LETTERS = "check the functions' logs and the dead-letter queues"

_STATIC_MEANINGS = {
    "not_allowed": ("the allow list is on", "use --to with an allowed number"),
    "rate_limited": (
        "the test sender is over its rate limit",
        "wait for its window to pass, or use --to with another number",
    ),
    "busy": ("the test sender's previous question is still being answered", "run it again in a minute"),
}


# -- the doctor ---------------------------------------------------------------------------------------------


class Doctor:
    """Runs the checks on one stack. ``link`` lets the WhatsApp check set the business account's event
    destination when it has none; with ``replace`` too, it also replaces another one. ``round_trip`` (None:
    skipped) sends a test message through the pipeline, last."""

    def __init__(
        self,
        stack: StackInfo,
        *,
        accounts: WhatsAppAccounts,
        models: ModelAccess,
        ingestion: IngestionFactory,
        queues: Queues,
        clock: Clock,
        round_trip: RoundTrip | None = None,
        link: bool = False,
        replace: bool = False,
    ) -> None:
        self._stack = stack
        self._accounts = accounts
        self._models = models
        self._ingestion = ingestion
        self._queues = queues
        self._clock = clock
        self._round_trip = round_trip
        self._link = link
        self._replace = replace

    def run(self) -> list[Finding]:
        return list(self.findings())

    def findings(self) -> Iterator[Finding]:
        """The findings as each check produces them (a caller may print them as they come)."""
        name, region = self._stack.name, self._stack.region
        try:
            status = self._stack.status()
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is a finding, never a crash
            yield Finding(
                "stack",
                Level.FAIL,
                f"cannot read the stack {name} in {region}: {error_name(exc)}",
                f"check its name and region: aws cloudformation describe-stacks --stack-name {name}"
                f" --region {region}",
            )
            return  # every other check reads the stack's outputs
        yield stack_status(name, status)
        try:
            outputs = dict(self._stack.outputs())
        except Exception as exc:  # noqa: BLE001
            yield Finding("outputs", Level.FAIL, f"cannot read the stack's outputs: {error_name(exc)}")
            return
        yield outputs_present(outputs)
        yield from _guarded("region", self._region(outputs))
        yield from _guarded("whatsapp", self._whatsapp(outputs))
        yield from self._models_check(outputs)
        yield from _guarded("knowledge", self._knowledge(outputs))
        yield from self._queues_check(outputs)
        if self._round_trip is not None:
            yield from _guarded("round trip", self._round_trip_check(self._round_trip), LOGS_AND_DEAD_LETTERS)

    # -- b. region ------------------------------------------------------------------------------------------

    def _region(self, outputs: Mapping[str, str]) -> Iterator[Finding]:
        if skipped := _skip("region", outputs, "PhoneNumberArn"):
            yield skipped
            return
        phone = outputs["PhoneNumberArn"]
        region, stack_region = arn_region(phone), self._stack.region
        if region is None:
            yield Finding(
                "region",
                Level.FAIL,
                f"PhoneNumberArn is not a phone number ARN: {phone}",
                "deploy with the phone number's ARN"
                " (arn:aws:social-messaging:REGION:ACCOUNT:phone-number-id/ID)",
            )
        elif region != stack_region:
            yield Finding(
                "region",
                Level.FAIL,
                f"the phone number is in {region}, the stack in {stack_region}: End User Messaging Social"
                " publishes only to a topic in its own region",
                f"deploy the stack in {region}: sam deploy --region {region}",
            )
        else:
            yield Finding("region", Level.OK, f"the phone number and the stack are both in {region}")

    # -- c. the WhatsApp business account's link ------------------------------------------------------------

    def _whatsapp(self, outputs: Mapping[str, str]) -> Iterator[Finding]:
        if skipped := _skip("whatsapp", outputs, "PhoneNumberArn", "InboundTopicArn"):
            yield skipped
            return
        phone, topic = outputs["PhoneNumberArn"], outputs["InboundTopicArn"]
        account = next(
            (a for a in self._accounts.linked() if any(_same_phone(p, phone) for p in a.phone_number_arns)),
            None,
        )
        if account is None:
            region = arn_region(phone) or self._stack.region
            yield Finding(
                "whatsapp",
                Level.FAIL,
                f"no linked WhatsApp business account holds the phone number {last_segment(phone, '/')}",
                "link the WhatsApp business account in the AWS End User Messaging Social console,"
                f" in {region}",
            )
            return
        yield self._link_finding(account, topic)
        others = [p for p in account.phone_number_arns if not _same_phone(p, phone)]
        if others:
            yield Finding(
                "whatsapp",
                Level.WARN,
                f"{_label(account)} has {_count(len(others), 'other phone number')}: their messages are"
                " filtered out by the inbound subscription's filter policy",
            )

    def _link_finding(self, account: LinkedAccount, topic: str) -> Finding:
        label, topic_name, name = _label(account), last_segment(topic), self._stack.name
        current = account.event_destination
        if current == topic:
            return Finding(
                "whatsapp", Level.OK, f"{label} sends its events to the stack's topic {topic_name}"
            )
        other = last_segment(current) if current else None
        if other is None and not self._link:
            return Finding(
                "whatsapp",
                Level.FAIL,
                f"{label} has no event destination: no message reaches the stack",
                f"assistant doctor{_flag(name)} --link",
            )
        if other is not None and not (self._link and self._replace):
            return Finding(
                "whatsapp",
                Level.FAIL,
                f"{label} sends its events to another topic, {other}: none reaches the stack",
                f"assistant doctor{_flag(name)} --link --replace (an account has one event destination:"
                f" {other} stops getting its events)",
            )
        try:
            self._accounts.link(account.account_id, topic)
        except Exception as exc:  # noqa: BLE001 - reported as the check's failure
            return Finding(
                "whatsapp",
                Level.FAIL,
                f"could not link {label} to {topic_name}: {error_name(exc)}",
                "allow socialmessaging:PutWhatsAppBusinessAccountEventDestinations, or set the event"
                " destination in the AWS End User Messaging Social console",
            )
        was = f", no longer to {other}" if other else ""
        return Finding("whatsapp", Level.OK, f"linked: {label} now sends its events to {topic_name}{was}")

    # -- d. models ------------------------------------------------------------------------------------------

    def _models_check(self, outputs: Mapping[str, str]) -> Iterator[Finding]:
        if skipped := _skip("model", outputs, "GenerationModelArn"):
            yield skipped
            return
        generation = outputs["GenerationModelArn"]
        roles = [("generation", generation)]
        categorizer = outputs.get("CategorizerModelArn")
        if categorizer and categorizer != generation:
            roles.append(("categorizer", categorizer))
        if outputs.get("EmbeddingModelArn"):
            roles.append(("embedding", outputs["EmbeddingModelArn"]))
        for role, arn in roles:
            yield from _guarded("model", self._model(role, arn), what=role)

    def _model(self, role: str, arn: str) -> Iterator[Finding]:
        state = self._models.check(arn)
        model = model_name(arn)
        if state.usable:
            yield Finding("model", Level.OK, f"{role}: {model} is usable")
            return
        fix = state.fix.replace(f"{MODEL_PARAMETER}=", f"{_MODEL_PARAMETERS[role]}=")
        yield Finding("model", Level.FAIL, f"{role}: {model}: {state.problem or 'not usable'}", fix)

    # -- e. the knowledge base ------------------------------------------------------------------------------

    def _knowledge(self, outputs: Mapping[str, str]) -> Iterator[Finding]:
        if skipped := _skip("knowledge", outputs, "KnowledgeBaseId", "KnowledgeDataSourceId"):
            yield skipped
            return
        ingestion = self._ingestion(outputs["KnowledgeBaseId"], outputs["KnowledgeDataSourceId"])
        name = self._stack.name
        upload = f"assistant kb upload{_flag(name)} knowledge/"
        status = f"assistant kb status{_flag(name)}"
        job = ingestion.latest()
        if job is None:
            yield Finding("knowledge", Level.WARN, "no documents ingested yet", upload)
            return
        ago = self._ago(job)
        if job.running:
            yield Finding(
                "knowledge",
                Level.WARN,
                f"an ingestion job is {job.status} (started {ago})",
                f"follow it: {status}",
            )
        elif job.status == "FAILED":
            reasons = "; ".join(_shorten(r) for r in job.failure_reasons[:3]) or "no reason given"
            yield Finding(
                "knowledge", Level.FAIL, f"the last ingestion job failed ({ago}): {reasons}", status
            )
        elif job.status == "COMPLETE":
            indexed = _indexed(ingestion, job)
            if job.failed:
                yield Finding(
                    "knowledge",
                    Level.WARN,
                    f"{_count(job.failed, 'document')} failed in the last ingestion"
                    f" ({_count(indexed, 'document')} indexed, {ago})",
                    status,
                )
            elif indexed == 0:
                yield Finding("knowledge", Level.WARN, f"no documents indexed (last ingestion {ago})", upload)
            else:
                yield Finding("knowledge", Level.OK, f"{_count(indexed, 'document')} indexed, {ago}")
        else:
            yield Finding(
                "knowledge",
                Level.WARN,
                f"the last ingestion job is {job.status} ({ago}): later changes are not indexed",
                upload,
            )

    def _ago(self, job: IngestionJob) -> str:
        moment = job.updated_at if job.updated_at is not None else job.started_at
        if moment is None:
            return "at an unknown time"
        return ago(self._clock.now() - moment)

    # -- f. queues ------------------------------------------------------------------------------------------

    def _queues_check(self, outputs: Mapping[str, str]) -> Iterator[Finding]:
        dashboard = outputs.get("OperationsDashboardUrl")
        where = f"the operations dashboard ({dashboard})" if dashboard else "the operations dashboard"
        for role, key in QUEUES:
            if skipped := _skip("queue", outputs, key):
                yield skipped
            else:
                yield from _guarded("queue", self._queue(role, outputs[key], where), what=f"{role} queue")
        for role, key in DEAD_LETTER_QUEUES:
            if skipped := _skip("dead-letter", outputs, key):
                yield skipped
            else:
                yield from _guarded(
                    "dead-letter", self._dead_letters(role, outputs[key]), what=f"{role} dead-letter queue"
                )

    def _queue(self, role: str, url: str, where: str) -> Iterator[Finding]:
        depth = self._queues.depth(url)
        oldest = (
            f", the oldest {duration(depth.oldest_seconds)} old" if depth.oldest_seconds is not None else ""
        )
        message = f"{role} queue: {depth.visible} waiting, {depth.in_flight} in flight{oldest}"
        if depth.visible > BACKLOG:
            yield Finding(
                "queue",
                Level.WARN,
                f"{message}: a backlog",
                f"the functions are not keeping up or keep failing: check their errors on {where}",
            )
        else:
            yield Finding("queue", Level.OK, message)

    def _dead_letters(self, role: str, url: str) -> Iterator[Finding]:
        depth = self._queues.depth(url)
        held = depth.visible + depth.in_flight  # a message someone is reading is still held here
        name = queue_name(url)
        if not held:
            yield Finding("dead-letter", Level.OK, f"{role} dead-letter queue: empty")
            return
        arn = queue_arn(url)
        source = arn if arn else f"<the ARN of {name}>"
        yield Finding(
            "dead-letter",
            Level.FAIL,
            f"{_count(held, 'message')} in {name}",
            f"read one first: aws sqs receive-message --queue-url {url}\n"
            f"once the cause is fixed, move them back: aws sqs start-message-move-task --source-arn {source}",
        )

    # -- g. round trip --------------------------------------------------------------------------------------

    def _round_trip_check(self, round_trip: RoundTrip) -> Iterator[Finding]:
        result = round_trip.run()
        yield round_trip_finding(result)


# -- pure decisions -----------------------------------------------------------------------------------------


LOCAL_TWIN = "local-twin"
"""The name the local twin goes by as a stack: its commands take no ``--stack``."""


def _flag(name: str) -> str:
    return "" if name == LOCAL_TWIN else f" --stack {name}"


def stack_status(name: str, status: str) -> Finding:
    """What a CloudFormation status means for the assistant."""
    events = f"see the stack's events: aws cloudformation describe-stack-events --stack-name {name}"
    if status == "ROLLBACK_COMPLETE":
        return Finding(
            "stack",
            Level.FAIL,
            f"{status}: its creation failed, and a stack in this state cannot be updated",
            f"{events}\n"
            f"then delete it (aws cloudformation delete-stack --stack-name {name}) and deploy again",
        )
    if status.startswith("DELETE_"):
        return Finding("stack", Level.FAIL, f"{status}: the stack is deleted or being deleted", events)
    if status.startswith(("UPDATE_ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")):
        return Finding(
            "stack",
            Level.WARN,
            f"{status}: the last update failed and was rolled back; the stack runs its previous version",
            events,
        )
    if "ROLLBACK" in status or "FAILED" in status:
        return Finding("stack", Level.FAIL, status, events)
    if status.endswith("_IN_PROGRESS"):
        return Finding(
            "stack", Level.WARN, f"{status}: a deployment is under way; run the doctor when it ends"
        )
    if status.endswith("_COMPLETE"):
        return Finding("stack", Level.OK, status)
    return Finding("stack", Level.WARN, f"{status}: a status the doctor does not know", events)


def outputs_present(outputs: Mapping[str, str]) -> Finding:
    """Whether the stack has every output the assistant's commands read (an older template lacks some)."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    optional = [name for name in OPTIONAL_OUTPUTS if not outputs.get(name)]
    absent = f"; optional, not there: {', '.join(optional)}" if optional else ""
    if missing:
        return Finding(
            "outputs", Level.FAIL, f"missing: {', '.join(missing)} (an older template?){absent}", REDEPLOY
        )
    return Finding("outputs", Level.OK, f"all {len(REQUIRED_OUTPUTS)} required outputs present{absent}")


def round_trip_finding(result: RoundTripResult) -> Finding:
    """What a round trip's result says about the deployed pipeline."""
    took = f"{result.seconds:.1f} s"
    detail = f": {result.detail}" if result.detail else ""
    sent = (
        "dry run: nothing sent to WhatsApp" if result.dry_run else f"{_count(result.replies, 'reply')} sent"
    )
    if result.outcome == "answered":
        if result.source == "error":
            return Finding(
                "round trip",
                Level.FAIL,
                f"answered with an apology in {took}: the answer engine failed ({sent})",
                "check the answer function's logs",
            )
        return Finding(
            "round trip", Level.OK, f"answered from {result.source or 'an unknown source'} in {took} ({sent})"
        )
    if result.outcome == "static":
        meaning, fix = _STATIC_MEANINGS.get(
            result.source, ("the test message was not taken as a question", "")
        )
        return Finding(
            "round trip", Level.WARN, f"a static reply ({result.source}) in {took}: {meaning}", fix
        )
    if result.outcome == "timeout":
        return Finding("round trip", Level.FAIL, f"no answer within {took}{detail}", LOGS_AND_DEAD_LETTERS)
    return Finding("round trip", Level.FAIL, f"{result.outcome or 'failed'}{detail}", LOGS_AND_DEAD_LETTERS)


# -- the report ---------------------------------------------------------------------------------------------

LEVEL_WIDTH = 4
CHECK_WIDTH = 12


def render_finding(finding: Finding) -> str:
    """``fail dead-letter  3 messages in ...`` and, under it, ``  fix: ...`` (a line per step)."""
    lines = [f"{finding.level.value:<{LEVEL_WIDTH}} {finding.check:<{CHECK_WIDTH}} {finding.message}"]
    if finding.fix:
        first, *rest = finding.fix.splitlines()
        lines.append(f"  fix: {first}")
        lines.extend(f"       {line}" for line in rest)
    return "\n".join(lines)


def summary(findings: Iterable[Finding]) -> str:
    levels = [f.level for f in findings]
    problems, warnings = levels.count(Level.FAIL), levels.count(Level.WARN)
    if not problems and not warnings:
        return "all checks passed"
    return f"{_count(problems, 'problem')}, {_count(warnings, 'warning')}"


def render(findings: list[Finding]) -> str:
    return "\n".join([*(render_finding(f) for f in findings), summary(findings)])


def exit_code(findings: Iterable[Finding]) -> int:
    return 1 if any(f.level is Level.FAIL for f in findings) else 0


# -- helpers ------------------------------------------------------------------------------------------------


def error_name(exc: BaseException) -> str:
    """An error as a finding may show it: its AWS code, else (this project's errors, whose messages hold
    only a service and a code) its message, else its type. Never another exception's message."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    if isinstance(exc, AssistantError) and str(exc):
        return str(exc)
    return type(exc).__name__


def arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        return None
    return parts[3]


def last_segment(arn: str, separator: str = ":") -> str:
    """The last part of an ARN (a topic's name): never more of it."""
    return arn.rsplit(separator, 1)[-1]


def model_name(arn: str) -> str:
    """``amazon.nova-lite-v1:0`` of ``arn:aws:bedrock:...:foundation-model/amazon.nova-lite-v1:0`` (or of an
    inference profile's ARN)."""
    return arn.split("/", 1)[1] if arn.startswith("arn:") and "/" in arn else arn


_SQS_HOST = re.compile(
    r"(?:sqs\.(?P<region>[a-z0-9-]+)|(?P<legacy>[a-z0-9-]+)\.queue)\.amazonaws\.com(?P<cn>\.cn)?"
)


def queue_name(url: str) -> str:
    return urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]


def queue_arn(url: str) -> str | None:
    """``arn:aws:sqs:REGION:ACCOUNT:NAME`` of ``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``; None for a
    URL that is not AWS's (moto's server, a stand-in)."""
    parsed = urlparse(url)
    host = _SQS_HOST.fullmatch(parsed.hostname or "")
    parts = [p for p in parsed.path.split("/") if p]
    if host is None or len(parts) != 2 or not parts[0].isdigit():
        return None
    region = host["region"] or host["legacy"]
    partition = "aws-cn" if host["cn"] else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return f"arn:{partition}:sqs:{region}:{parts[0]}:{parts[1]}"


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h``, ``2 days``: to the unit that reads best."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def ago(seconds: float) -> str:
    return "just now" if seconds < 1 else f"{duration(seconds)} ago"


def _same_phone(a: str, b: str) -> bool:
    # An ARN (arn:...:phone-number-id/ID) and the id form (phone-number-id-ID) name the same number.
    def normal(value: str) -> str:
        return value.split(":")[-1].replace("/", "-")

    return normal(a) == normal(b)


def _label(account: LinkedAccount) -> str:
    return f"{account.name} ({account.account_id})" if account.name else account.account_id


def _skip(check: str, outputs: Mapping[str, str], *names: str) -> Finding | None:
    missing = [name for name in names if not outputs.get(name)]
    if not missing:
        return None
    return Finding(check, Level.WARN, f"skipped: no output {', '.join(missing)}")


def _guarded(check: str, findings: Iterator[Finding], fix: str = "", *, what: str = "") -> Iterator[Finding]:
    """The check's findings; if it raises, a FAIL naming the error instead of the rest."""
    try:
        yield from findings
    except Exception as exc:  # noqa: BLE001 - a check that cannot run is a finding, never a crash
        prefix = f"{what}: " if what else ""
        yield Finding(check, Level.FAIL, f"{prefix}cannot check: {error_name(exc)}", fix)


def _indexed(ingestion: Ingestion, job: IngestionJob) -> int:
    """Documents the knowledge base holds indexed; the last job's count if the list cannot be read."""
    try:
        return sum(1 for document in ingestion.documents() if document.status == "INDEXED")
    except Exception:  # noqa: BLE001 - the job's own figure will do
        return job.indexed


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
    return f"{n} {plural}"
