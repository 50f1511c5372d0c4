"""The alarm notifier (services/alerting.py) with in-memory claims and a recording template sender."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from assistant.adapters.system import HmacHasher
from assistant.errors import AmbiguousOutcome, RejectedByService, RetryableError
from assistant.fakes import FixedClock, RecordingMetrics
from assistant.services.alerting import (
    CLAIM_SECONDS,
    KEEP_SECONDS,
    SUMMARY_LIMIT,
    AlarmChange,
    AlarmNotifier,
    AlarmTemplate,
    ClaimOutcome,
    on_call_numbers,
    summary,
)

HASHER = HmacHasher(b"alarm-test-key-0123456789abcdef")
ADA, BOB = "15550001111", "15550002222"
ALARM_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:InboundDLQNotEmpty"


def alarm_message(**changes: Any) -> str:
    message: dict[str, Any] = {
        "AlarmName": "InboundDLQNotEmpty",
        "AlarmDescription": "Messages in the inbound dead-letter queue",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [3.0 (11/03/26 09:00:00)] was >= 1.0",
        "StateChangeTime": "2026-03-11T09:00:00.000+0000",
        "OldStateValue": "OK",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ALARM_ARN,
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1.0},
    }
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return json.dumps(message)


@dataclass
class _Record:
    status: str
    owner: str
    until: int
    expires_at: int
    message_key: str | None = None


@dataclass
class InMemoryAlarmClaims:
    """The DynamoDB claims' conditions on a dict."""

    records: dict[str, _Record] = field(default_factory=dict)
    fail_with: list[Exception] = field(default_factory=list)
    fail_marks: list[Exception] = field(default_factory=list)

    def take(
        self, notification: str, recipient: str, *, owner: str, now: int, until: int, expires_at: int
    ) -> ClaimOutcome:
        if self.fail_with:
            raise self.fail_with.pop(0)
        key = f"alarm#{notification}#{recipient}"
        old = self.records.get(key)
        if old is not None and old.status == "sent":
            return ClaimOutcome.SENT
        if old is not None and old.until >= now and old.owner != owner:
            return ClaimOutcome.HELD
        self.records[key] = _Record("sending", owner, until, expires_at)
        return ClaimOutcome.RESUMED if old is not None and old.owner != owner else ClaimOutcome.GRANTED

    def mark_sent(
        self, notification: str, recipient: str, *, message_key: str, now: int, expires_at: int
    ) -> None:
        if self.fail_marks:
            raise self.fail_marks.pop(0)
        record = self.records[f"alarm#{notification}#{recipient}"]
        record.status, record.message_key, record.expires_at = "sent", message_key, expires_at

    def release(self, notification: str, recipient: str, *, owner: str) -> None:
        key = f"alarm#{notification}#{recipient}"
        record = self.records.get(key)
        if record is not None and record.status == "sending" and record.owner == owner:
            del self.records[key]

    def statuses(self) -> list[str]:
        return sorted(r.status for r in self.records.values())


@dataclass
class RecordingTemplateSender:
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)
    """Errors to raise, in order, for sends to a number."""

    def send_template(self, to: str, name: str, language: str, parameters: Sequence[str]) -> str:
        pending = self.failures.get(to) or []
        if pending:
            error = pending.pop(0)
            if isinstance(error, AmbiguousOutcome):
                self.sent.append(
                    {"to": to, "name": name, "language": language, "parameters": list(parameters)}
                )
            raise error
        self.sent.append({"to": to, "name": name, "language": language, "parameters": list(parameters)})
        return f"wamid.{to}.{len(self.sent)}"

    def to(self) -> list[str]:
        return [m["to"] for m in self.sent]


@dataclass
class Pager:
    clock: FixedClock = field(default_factory=FixedClock)
    claims: InMemoryAlarmClaims = field(default_factory=InMemoryAlarmClaims)
    sender: RecordingTemplateSender = field(default_factory=RecordingTemplateSender)
    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)
    recipients: str = f"+1 555 000 1111, {BOB}"

    def __post_init__(self) -> None:
        attempts = iter(range(1_000_000))
        self.notifier = AlarmNotifier(
            claims=self.claims,
            sender=self.sender,
            hasher=HASHER,
            metrics=self.metrics,
            clock=self.clock,
            template=AlarmTemplate("ops_alarm", "en_US"),
            recipients=self.recipients,
            attempt_id=lambda: f"attempt-{next(attempts)}",
        )


# -- the summary --------------------------------------------------------------------------------------------


def test_summary_names_the_new_state_the_alarm_and_the_old_state() -> None:
    alarm = AlarmChange.from_message(alarm_message())
    assert summary(alarm) == "ALARM: InboundDLQNotEmpty (was OK)"
    back = AlarmChange.from_message(alarm_message(NewStateValue="OK", OldStateValue="ALARM"))
    assert summary(back) == "OK: InboundDLQNotEmpty (was ALARM)"


def test_summary_leaves_out_an_unknown_or_missing_old_state_and_the_reason() -> None:
    assert summary(AlarmChange.from_message(alarm_message(OldStateValue=None))) == "ALARM: InboundDLQNotEmpty"
    weird = AlarmChange.from_message(alarm_message(OldStateValue="MAYBE", NewStateValue="INSUFFICIENT_DATA"))
    assert summary(weird) == "INSUFFICIENT_DATA: InboundDLQNotEmpty"
    assert "Threshold" not in summary(AlarmChange.from_message(alarm_message()))


def test_summary_has_no_newline_tab_or_more_than_four_spaces() -> None:
    name = "Answer\nlatency\t\thigh     in\r\n  eu-west-1\u00a0\u2003now\x00"
    text = summary(AlarmChange.from_message(alarm_message(AlarmName=name)))
    assert text == "ALARM: Answer latency high in eu-west-1 now (was OK)"
    assert not any(c in text for c in "\n\r\t") and "     " not in text


def test_a_long_alarm_name_is_shortened_and_the_states_still_show() -> None:
    for state, old in (
        ("ALARM", "OK"),
        ("INSUFFICIENT_DATA", "INSUFFICIENT_DATA"),
        ("OK", "INSUFFICIENT_DATA"),
    ):
        alarm = AlarmChange.from_message(
            alarm_message(AlarmName="x" * 255, NewStateValue=state, OldStateValue=old)
        )
        text = summary(alarm)
        assert len(text) <= SUMMARY_LIMIT
        assert text.startswith(f"{state}: xxx")
        assert text.endswith(f"x… (was {old})" if old != state else "x…")


def test_a_name_that_fits_exactly_is_not_shortened() -> None:
    head, tail = "ALARM: ", " (was OK)"
    name = "n" * (SUMMARY_LIMIT - len(head) - len(tail))
    assert summary(AlarmChange.from_message(alarm_message(AlarmName=name))) == head + name + tail


# -- the on-call list ---------------------------------------------------------------------------------------


def test_on_call_numbers_are_normalised_and_listed_once(caplog: pytest.LogCaptureFixture) -> None:
    raw = " +1 (555) 000-1111 ,15550002222,\n0044 20 7946 0000, 15550001111,, not-a-number , +12 "
    assert on_call_numbers(raw) == (ADA, BOB, "442079460000")
    assert "on-call entry 7 is not a phone number" in caplog.text
    assert "on-call entry 8 is not a phone number" in caplog.text
    assert "not-a-number" not in caplog.text and "+12" not in caplog.text


# -- paging ---------------------------------------------------------------------------------------------


def test_every_on_call_organizer_gets_the_template_once() -> None:
    pager = Pager()
    outcome = pager.notifier.notify(alarm_message())
    assert outcome.sent == 2 and not outcome.retry
    assert pager.sender.sent == [
        {
            "to": n,
            "name": "ops_alarm",
            "language": "en_US",
            "parameters": ["ALARM: InboundDLQNotEmpty (was OK)"],
        }
        for n in (ADA, BOB)
    ]
    assert pager.metrics.counts == {"AlarmNotified": 2}
    assert pager.claims.statuses() == ["sent", "sent"]
    for key, record in pager.claims.records.items():
        assert ADA not in key and BOB not in key and key.startswith("alarm#")
        assert record.message_key is not None and "wamid" not in record.message_key
        assert record.expires_at == int(pager.clock.now()) + KEEP_SECONDS


def test_a_redelivery_after_both_were_paged_sends_nothing() -> None:
    pager = Pager()
    pager.notifier.notify(alarm_message())
    pager.clock.advance(3600)
    again = pager.notifier.notify(alarm_message())
    assert again.sent == 0 and again.skipped == 2 and not again.retry
    assert len(pager.sender.sent) == 2


def test_each_state_change_is_a_new_page() -> None:
    pager = Pager()
    pager.notifier.notify(alarm_message())
    pager.notifier.notify(alarm_message(NewStateValue="OK", OldStateValue="ALARM"))
    pager.notifier.notify(alarm_message(StateChangeTime="2026-03-11T10:00:00.000+0000"))
    assert len(pager.sender.sent) == 6


def test_a_live_claim_of_another_attempt_is_left_to_a_retry() -> None:
    pager = Pager()
    pager.sender.failures[ADA] = [AmbiguousOutcome("socialmessaging: InternalServerException")]
    first = pager.notifier.notify(alarm_message())
    assert first.failed == 1 and first.retry
    pager.clock.advance(CLAIM_SECONDS - 1)
    second = pager.notifier.notify(alarm_message())  # a concurrent duplicate: Ada's claim is still live
    assert second.held == 1 and second.skipped == 1 and second.retry
    assert pager.sender.to() == [ADA, BOB]


def test_an_expired_claim_is_sent_again() -> None:
    pager = Pager()
    pager.sender.failures[ADA] = [AmbiguousOutcome("socialmessaging: ReadTimeoutError")]
    pager.notifier.notify(alarm_message())
    pager.clock.advance(CLAIM_SECONDS + 1)
    retry = pager.notifier.notify(alarm_message())
    assert retry.sent == 1 and retry.skipped == 1 and not retry.retry
    # The ambiguous send went out: Ada is paged twice, which beats not at all.
    assert pager.sender.to() == [ADA, BOB, ADA]
    assert pager.claims.statuses() == ["sent", "sent"]


def test_a_refused_send_does_not_stop_the_others_and_is_not_retried() -> None:
    pager = Pager()
    pager.sender.failures[ADA] = [RejectedByService("socialmessaging", "ValidationException")]
    outcome = pager.notifier.notify(alarm_message())
    assert outcome.refused == 1 and outcome.sent == 1 and not outcome.retry
    assert pager.sender.to() == [BOB]
    assert pager.metrics.counts == {"AlarmNotifyFailed": 1, "AlarmNotified": 1}
    assert pager.claims.statuses() == ["sent"]  # Ada's claim went back


def test_a_retryable_failure_gives_the_claim_back_and_the_retry_sends_at_once() -> None:
    pager = Pager()
    pager.sender.failures[BOB] = [RetryableError("socialmessaging: ThrottledRequestException")]
    first = pager.notifier.notify(alarm_message())
    assert first.failed == 1 and first.sent == 1 and first.retry
    retry = pager.notifier.notify(alarm_message())  # no wait: nothing went out, nothing is held
    assert retry.sent == 1 and retry.skipped == 1 and not retry.retry
    assert pager.sender.to() == [ADA, BOB]


def test_a_claim_store_failure_fails_the_invocation_for_a_retry() -> None:
    pager = Pager()
    pager.claims.fail_with = [RetryableError("dynamodb: ProvisionedThroughputExceededException")]
    outcome = pager.notifier.notify(alarm_message())
    assert outcome.failed == 1 and outcome.sent == 1 and outcome.retry
    assert pager.sender.to() == [BOB]


def test_a_page_that_went_out_but_was_not_recorded_counts_as_sent() -> None:
    pager = Pager()
    pager.claims.fail_marks = [RetryableError("dynamodb: InternalServerError")]
    outcome = pager.notifier.notify(alarm_message())
    assert outcome.sent == 2 and not outcome.retry
    assert pager.metrics.counts == {"AlarmNotified": 2}


def test_a_repeated_number_is_paged_once() -> None:
    pager = Pager(recipients=f"{ADA}, +{ADA}")
    assert pager.notifier.notify(alarm_message()).sent == 1


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        "[1, 2]",
        None,
        42,
        json.dumps({"AlarmName": "x"}),
        alarm_message(NewStateValue="PANIC"),
        alarm_message(AlarmArn=None),
        alarm_message(StateChangeTime=""),
        alarm_message(AlarmName=["InboundDLQNotEmpty"]),
        "[" * 100_000,
    ],
)
def test_a_malformed_alarm_is_counted_and_dropped(message: object) -> None:
    pager = Pager()
    outcome = pager.notifier.notify(message)
    assert outcome.malformed and not outcome.retry
    assert pager.sender.sent == [] and pager.claims.records == {}
    assert pager.metrics.counts == {"MalformedEvent": 1}
