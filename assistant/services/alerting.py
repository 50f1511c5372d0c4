"""CloudWatch alarms, paged to the on-call organizers as WhatsApp template messages.

CloudWatch publishes each alarm state change to an SNS topic; SNS invokes the alarm function
asynchronously, at least once, and Lambda retries a failed invocation twice (about one and then two
minutes later). For every (state change, on-call number) pair the notifier keeps one claim record, so that
each organizer is paged once per state change, as far as WhatsApp allows:

- a claim is taken (``sending``, for ``CLAIM_SECONDS``) before the send and marked ``sent`` after it;
- a redelivery or retry that finds ``sent`` skips that organizer;
- one that finds a live ``sending`` claim (another invocation is sending right now) leaves that organizer
  to a later retry: the invocation fails once the others are done, and Lambda tries again;
- one that finds a lapsed ``sending`` claim sends again. The earlier sender died after the call, or the
  call's answer was lost: the page may or may not have gone out, and WhatsApp has no idempotency key to
  ask. **A duplicate page is possible here, and chosen on purpose**: for an alarm, a page twice is better
  than none. (Replies to attendees make the opposite choice; see docs/exactly-once.md.)

A failure for one organizer never stops the others. A send that surely did not go out (throttled, refused,
no connection) gives its claim back; one that may have gone out (``AmbiguousOutcome``) keeps it, so that it
lapses and the retry resends. Only retryable failures fail the invocation; a refused send (an unapproved
template, a number that is not on WhatsApp) is counted (``AlarmNotifyFailed``) and logged, never retried.

No phone number is ever logged, counted or stored: the claim is keyed by keyed hashes, and the message id
WhatsApp returns (a wamid holds the recipient's number) is kept only as its keyed hash. Logs name the alarm
and its state; the alarm's reason (``NewStateReason``, which may quote metric values) is left out of the
message and the logs.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from assistant.errors import AmbiguousOutcome, AssistantError, MalformedPayload, RetryableError
from assistant.ports import Clock, Hasher, MetricsSink

logger = Logger(child=True)

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
"""CloudWatch's alarm states."""
CLAIM_SECONDS = 60
"""How long a ``sending`` claim is held: far longer than one send and its record take (the socialmessaging
client's timeouts are seconds), and no longer than Lambda's first async retry delay (about a minute), so
the first retry usually finds a dead sender's claim lapsed (else the second, two minutes later, does)."""
KEEP_SECONDS = 2 * 86400
"""The claim records' TTL: past SNS's and Lambda's redelivery window (six hours at most)."""
SUMMARY_LIMIT = 200
"""Longest text put in the template's body variable."""
_ELLIPSIS = "…"
_MAX_ALARM_JSON = 256 * 1024
"""SNS's own message limit: anything longer is not CloudWatch's."""
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_PHONE = re.compile(r"[1-9][0-9]{6,14}")
"""E.164 without its "+": a country code and at most 15 digits."""
_PUNCTUATION = re.compile(r"[\s().\-]+")


# -- what CloudWatch says ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """One alarm state change, from CloudWatch's SNS message (unknown keys are ignored)."""

    name: str
    arn: str
    state: str
    """ALARM, OK or INSUFFICIENT_DATA."""
    changed_at: str
    """``StateChangeTime``, as CloudWatch wrote it: with the ARN and the state, it names the change."""
    previous: str | None = None
    """``OldStateValue``, when it is one of the known states."""

    @classmethod
    def from_message(cls, raw: object) -> AlarmChange:
        """Parse ``Records[].Sns.Message``; raises ``MalformedPayload`` (with a reason that quotes
        nothing of the message) for anything that is not a CloudWatch alarm state change."""
        if isinstance(raw, bytes | bytearray):
            raw = bytes(raw).decode("utf-8", "replace")
        if not isinstance(raw, str):
            raise MalformedPayload("the SNS message is not a string")
        if len(raw) > _MAX_ALARM_JSON:
            raise MalformedPayload("the SNS message is too long")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise MalformedPayload("the SNS message is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedPayload("the SNS message is not a JSON object")
        name, arn, changed_at = (_text(data, key) for key in ("AlarmName", "AlarmArn", "StateChangeTime"))
        if not name or not arn or not changed_at:
            raise MalformedPayload("AlarmName, AlarmArn and StateChangeTime are required")
        state = data.get("NewStateValue")
        if state not in STATES:
            raise MalformedPayload("NewStateValue is not an alarm state")
        previous = data.get("OldStateValue")
        return cls(
            name=name,
            arn=arn,
            state=str(state),
            changed_at=changed_at,
            previous=str(previous) if previous in STATES and previous != state else None,
        )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _clean(text: str) -> str:
    """Meta's rules for a template variable: no newline or tab, never more than four spaces in a row.
    Every run of blanks and control characters becomes one space."""
    return _BLANKS.sub(" ", text).strip()


def summary(alarm: AlarmChange, limit: int = SUMMARY_LIMIT) -> str:
    """The template's body variable: ``ALARM: <name> (was OK)``, at most ``limit`` characters; only the
    name is shortened (with an ellipsis), so the state always shows."""
    head = f"{alarm.state}: "
    tail = f" (was {alarm.previous})" if alarm.previous else ""
    name = _clean(alarm.name) or "(unnamed alarm)"
    room = limit - len(head) - len(tail)
    if len(name) > room:
        name = name[: max(room - len(_ELLIPSIS), 0)].rstrip() + _ELLIPSIS
    return head + name + tail


# -- who is paged ---------------------------------------------------------------------------------------


def on_call_numbers(raw: str | Iterable[str]) -> tuple[str, ...]:
    """The on-call organizers' WhatsApp numbers, from the secret's comma-separated list (or any list):
    spaces, dots, dashes, brackets and a leading "+" or "00" dropped, duplicates once. An entry that is not
    a phone number is skipped with a warning that names its position, never its text."""
    entries = raw.replace("\n", ",").split(",") if isinstance(raw, str) else list(raw)
    numbers: dict[str, None] = {}
    for position, entry in enumerate(entries, start=1):
        number = _PUNCTUATION.sub("", entry)
        if not number:
            continue
        number = number.removeprefix("+")
        if number.startswith("00"):
            number = number[2:]
        if not _PHONE.fullmatch(number):
            logger.warning("on-call entry %d is not a phone number: skipped", position)
            continue
        numbers[number] = None
    return tuple(numbers)


# -- ports -----------------------------------------------------------------------------------------------


class ClaimOutcome(StrEnum):
    GRANTED = "granted"
    """Nobody has paged this organizer for this change: send."""
    RESUMED = "resumed"
    """An earlier attempt's claim lapsed while ``sending``: it may or may not have sent. Send again."""
    SENT = "sent"
    """Paged already: skip."""
    HELD = "held"
    """Another attempt holds a live claim and is sending right now: leave it to a later retry."""


class AlarmClaims(Protocol):
    """One record per (alarm state change, organizer), keyed by keyed hashes only."""

    def take(
        self, notification: str, recipient: str, *, owner: str, now: int, until: int, expires_at: int
    ) -> ClaimOutcome:
        """Claim the right to page ``recipient`` about ``notification`` until ``until`` (epoch seconds):
        granted when there is no record, when it is ``owner``'s own (a retried write), or when it is a
        lapsed ``sending`` claim (then ``RESUMED``)."""
        ...

    def mark_sent(
        self, notification: str, recipient: str, *, message_key: str, now: int, expires_at: int
    ) -> None:
        """The page went out; ``message_key`` is the keyed hash of WhatsApp's message id."""
        ...

    def release(self, notification: str, recipient: str, *, owner: str) -> None:
        """Give ``owner``'s ``sending`` claim back: the send surely did not go out. Idempotent."""
        ...


class TemplateSender(Protocol):
    def send_template(self, to: str, name: str, language: str, parameters: Sequence[str]) -> str:
        """Send the approved template ``name`` in ``language`` to the WhatsApp number ``to``, with
        ``parameters`` as its body variables; returns WhatsApp's message id. Raises ``AmbiguousOutcome``
        when the send may have gone out, another ``RetryableError`` when it surely did not, and a
        ``PermanentError`` when it was refused."""
        ...


# -- the notifier ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlarmTemplate:
    name: str
    language: str = "en_US"


@dataclass(frozen=True, slots=True)
class Notification:
    """What became of one SNS message."""

    sent: int = 0
    skipped: int = 0
    """Organizers paged about this change before (a redelivery, a retry)."""
    held: int = 0
    """Organizers another attempt was paging at the time: left to a retry."""
    failed: int = 0
    """Retryable failures (a retry will try these organizers again)."""
    refused: int = 0
    """Permanent failures (counted and logged; no retry)."""
    malformed: bool = False

    @property
    def retry(self) -> bool:
        """Whether the invocation should fail, so that Lambda retries it."""
        return self.held > 0 or self.failed > 0


class AlarmNotifier:
    def __init__(
        self,
        *,
        claims: AlarmClaims,
        sender: TemplateSender,
        hasher: Hasher,
        metrics: MetricsSink,
        clock: Clock,
        template: AlarmTemplate,
        recipients: str | Iterable[str],
        attempt_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._claims = claims
        self._sender = sender
        self._hasher = hasher
        self._metrics = metrics
        self._clock = clock
        self._template = template
        self._recipients = on_call_numbers(recipients)
        self._attempt_id = attempt_id
        if not self._recipients:
            logger.warning("no on-call numbers: alarms will not be sent by WhatsApp")

    def notify(self, message: object) -> Notification:
        """Page every on-call organizer about one alarm state change (an SNS message), once each."""
        try:
            alarm = AlarmChange.from_message(message)
        except MalformedPayload as exc:
            # Nothing a retry could mend: counted and dropped.
            self._metrics.count("MalformedEvent")
            logger.warning("malformed alarm notification dropped", extra={"reason": str(exc)})
            return Notification(malformed=True)
        notification = self._hasher.key("alarm", alarm.arn, alarm.changed_at, alarm.state)
        text = summary(alarm)
        owner = self._attempt_id()
        tally: dict[str, int] = {"sent": 0, "skipped": 0, "held": 0, "failed": 0, "refused": 0}
        for number in self._recipients:
            tally[self._page(alarm, notification, number, text, owner)] += 1
        result = Notification(
            sent=tally["sent"],
            skipped=tally["skipped"],
            held=tally["held"],
            failed=tally["failed"],
            refused=tally["refused"],
        )
        log = logger.warning if result.retry or result.refused else logger.info
        log(
            "alarm notification: %s %s",
            alarm.name,
            alarm.state,
            extra={"alarm": alarm.name, "state": alarm.state, **tally},
        )
        return result

    def _page(self, alarm: AlarmChange, notification: str, number: str, text: str, owner: str) -> str:
        """Page one organizer; returns the ``Notification`` field it counts under."""
        recipient = self._hasher.key("oncall", number)
        now = int(self._clock.now())
        try:
            outcome = self._claims.take(
                notification,
                recipient,
                owner=owner,
                now=now,
                until=now + CLAIM_SECONDS,
                expires_at=now + KEEP_SECONDS,
            )
        except AssistantError as exc:
            return self._failed(alarm, exc)
        if outcome is ClaimOutcome.SENT:
            return "skipped"
        if outcome is ClaimOutcome.HELD:
            return "held"
        if outcome is ClaimOutcome.RESUMED:
            logger.warning(
                "an earlier page may have gone out: sending again",
                extra={"alarm": alarm.name, "state": alarm.state},
            )
        template = self._template
        try:
            message_id = self._sender.send_template(number, template.name, template.language, (text,))
        except AmbiguousOutcome as exc:
            # It may have gone out: the claim stays, lapses, and the retry sends again (a duplicate, maybe).
            return self._failed(alarm, exc)
        except AssistantError as exc:
            # Surely not sent: the claim goes back so that the retry sends at once.
            self._release(notification, recipient, owner)
            return self._failed(alarm, exc)
        self._metrics.count("AlarmNotified")
        now = int(self._clock.now())
        try:
            self._claims.mark_sent(
                notification,
                recipient,
                message_key=self._hasher.key("wamid", message_id),
                now=now,
                expires_at=now + KEEP_SECONDS,
            )
        except AssistantError as exc:
            # The page went out. Failing the invocation would only make a retry page again once the claim
            # lapsed; without the record, only a retry for another organizer's sake can (after 60 s).
            logger.warning(
                "a page went out but could not be recorded",
                extra={"alarm": alarm.name, "state": alarm.state, "error": type(exc).__name__},
            )
        return "sent"

    def _failed(self, alarm: AlarmChange, exc: AssistantError) -> str:
        self._metrics.count("AlarmNotifyFailed")
        retryable = isinstance(exc, RetryableError)
        logger.warning(
            "a page failed" + ("; retried" if retryable else "; not retried"),
            extra={"alarm": alarm.name, "state": alarm.state, "error": _reason(exc)},
        )
        return "failed" if retryable else "refused"

    def _release(self, notification: str, recipient: str, owner: str) -> None:
        # If even this fails, the claim lapses by itself after CLAIM_SECONDS.
        with contextlib.suppress(AssistantError):
            self._claims.release(notification, recipient, owner=owner)


def _reason(exc: AssistantError) -> str:
    """An error's AWS code or class name: never its text, which may quote a request."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}:{code}" if isinstance(code, str) else type(exc).__name__
