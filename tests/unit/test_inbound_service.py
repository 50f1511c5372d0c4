"""handle_inbound with fakes: what each kind of message gets, and what it must never get."""

from __future__ import annotations

import pytest

from assistant.adapters.system import HmacHasher
from assistant.errors import RejectedByService, RetryableError
from assistant.fakes import (
    FixedClock,
    InMemoryConversationStore,
    RecordingMessenger,
    RecordingMetrics,
    RecordingPublisher,
)
from assistant.models.envelope import parse_envelope
from assistant.services import replies
from assistant.services.inbound import InboundPolicy, InboundService, user_key
from tests.conftest import load_fixture, text_envelope, with_message

HASHER = HmacHasher(b"k" * 32)


class World:
    def __init__(
        self, *, max_text_chars: int = 1500, allowed: tuple[str, ...] = (), **store_limits: int
    ) -> None:
        self.clock = FixedClock()
        self.store = InMemoryConversationStore(self.clock, **store_limits)
        self.messenger = RecordingMessenger()
        self.publisher = RecordingPublisher()
        self.metrics = RecordingMetrics()
        self.service = InboundService(
            store=self.store,
            messenger=self.messenger,
            publisher=self.publisher,
            hasher=HASHER,
            clock=self.clock,
            metrics=self.metrics,
            policy=InboundPolicy(
                max_text_chars=max_text_chars,
                allowed_user_keys=frozenset(HASHER.key("user", u) for u in allowed),
            ),
        )

    def handle(self, envelope: dict[str, object]) -> list[str]:
        return self.service.handle(parse_envelope(envelope))


def test_text_message_is_marked_read_with_typing_and_published() -> None:
    world = World()
    assert world.handle(text_envelope("Where is the keynote?", wamid="wamid.A")) == ["accepted"]
    assert world.messenger.reads == [("wamid.A", True)]
    assert world.messenger.texts == []
    (event,) = world.publisher.events
    assert event.text == "Where is the keynote?"
    assert event.message_id == "wamid.A"
    assert event.recipient.wa_id == "15550001111"
    assert event.origination_phone_number_id.startswith("phone-number-id-")
    assert "15550001111" not in event.user_key and "wamid" not in event.message_key


def test_duplicate_delivery_sends_no_second_receipt_reply_or_event() -> None:
    world = World()
    envelope = text_envelope("Where is the keynote?", wamid="wamid.A")
    world.handle(envelope)
    world.store.release(user_key(HASHER, parse_envelope(envelope).messages[0]), "irrelevant")
    assert world.handle(envelope) == ["duplicate"]
    assert len(world.messenger.reads) == 1
    assert len(world.publisher.events) == 1
    assert world.metrics.counts["DuplicateMessage"] == 1


@pytest.mark.parametrize(
    "fixture",
    [
        "message__voice.json",
        "message__audio.json",
        "message__image.json",
        "message__document.json",
        "message__static_sticker.json",
        "message__current_location.json",
        "message__contacts.json",
        "message__unsupported.json",
    ],
)
def test_unsupported_kinds_get_one_static_reply_and_never_reach_a_model(fixture: str) -> None:
    world = World()
    assert world.handle(load_fixture(fixture)) == ["unsupported"]
    assert world.publisher.events == []
    assert [t["body"] for t in world.messenger.texts] == [replies.UNSUPPORTED]
    assert world.messenger.texts[0]["quote"] == "wamid.xyzxyz"
    assert world.messenger.reads == [("wamid.xyzxyz", False)]
    # and a redelivery of it gets nothing
    assert world.handle(load_fixture(fixture)) == ["duplicate"]
    assert len(world.messenger.texts) == 1


def test_reaction_gets_no_reply() -> None:
    world = World()
    assert world.handle(load_fixture("message__reaction.json")) == ["silent"]
    assert world.messenger.texts == [] and world.messenger.reads == []


def test_button_reply_is_asked_as_a_question() -> None:
    world = World()
    assert world.handle(load_fixture("callback_button__button.json")) == ["accepted"]
    assert world.publisher.events[0].text == "title"


def test_text_over_the_limit_gets_a_polite_reply_and_never_reaches_a_model() -> None:
    world = World(max_text_chars=100)
    assert world.handle(text_envelope("x" * 101, wamid="wamid.L")) == ["too_long"]
    assert world.publisher.events == []
    assert "100 characters" in world.messenger.texts[0]["body"]


def test_huge_body_is_refused_without_error() -> None:
    world = World()
    assert world.handle(text_envelope("y" * 200_000, wamid="wamid.H")) == ["too_long"]


def test_allow_list_refuses_other_users_politely() -> None:
    world = World(allowed=("15550002222",))
    assert world.handle(text_envelope("hi", wamid="wamid.1")) == ["not_allowed"]
    assert world.messenger.texts[0]["body"] == replies.NOT_ALLOWED
    assert world.handle(text_envelope("hi", wamid="wamid.2", sender="15550002222")) == ["accepted"]


def test_second_question_while_the_first_is_answered_gets_still_working_reply() -> None:
    world = World()
    world.handle(text_envelope("first", wamid="wamid.1"))
    assert world.handle(text_envelope("second", wamid="wamid.2", timestamp=1762827868)) == ["busy"]
    assert world.messenger.texts[-1]["body"] == replies.BUSY
    assert len(world.publisher.events) == 1
    # the busy reply is not sent twice on redelivery
    assert world.handle(text_envelope("second", wamid="wamid.2", timestamp=1762827868)) == ["duplicate"]


def test_lease_expires_by_itself_after_a_crash() -> None:
    world = World(lease_seconds=120)
    world.handle(text_envelope("first", wamid="wamid.1"))
    world.clock.advance(121)
    assert world.handle(text_envelope("second", wamid="wamid.2")) == ["accepted"]


def test_rate_limit_tells_the_user_once_then_stays_quiet() -> None:
    world = World(rate_limit=2)
    outcomes = []
    for n in range(5):
        outcomes += world.handle(
            load_fixture("message__image.json")
        )  # one wamid: a duplicate after the first
        outcomes += world.handle(with_message(load_fixture("message__image.json"), id=f"wamid.I{n}"))
    assert outcomes.count("rate_limited") == 4  # six distinct messages, two allowed
    bodies = [t["body"] for t in world.messenger.texts]
    assert bodies.count(replies.RATE_LIMITED) == 1
    assert bodies.count(replies.UNSUPPORTED) == 2


def test_conversation_budget_reset_is_announced_in_the_answer() -> None:
    world = World(conversation_max_messages=2)
    for n in range(3):
        world.handle(text_envelope(f"q{n}", wamid=f"wamid.{n}", timestamp=1762827867 + n))
        world.store.release(world.publisher.events[-1].user_key, world.publisher.events[-1].message_key)
    assert [e.conversation_reset for e in world.publisher.events] == [False, False, True]
    assert world.metrics.counts["ConversationReset"] == 1


def test_idle_conversation_restarts_silently() -> None:
    world = World(conversation_idle_seconds=60)
    world.handle(text_envelope("q1", wamid="wamid.1"))
    world.store.release(world.publisher.events[-1].user_key, world.publisher.events[-1].message_key)
    world.clock.advance(61)
    world.handle(text_envelope("q2", wamid="wamid.2"))
    assert world.publisher.events[-1].conversation_reset is False


def test_failed_read_receipt_neither_fails_nor_loses_the_message() -> None:
    world = World()
    world.messenger.fail_with = [RetryableError("socialmessaging: ThrottledRequestException")]
    assert world.handle(text_envelope("q", wamid="wamid.R")) == ["accepted"]
    assert len(world.publisher.events) == 1
    assert world.metrics.counts["ReadReceiptFailed"] == 1


def test_publish_failure_is_retryable_and_the_retry_is_not_taken_for_a_duplicate() -> None:
    world = World()
    world.publisher.fail_with = [RetryableError("sns: Throttling")]
    envelope = text_envelope("q", wamid="wamid.P")
    with pytest.raises(RetryableError):
        world.handle(envelope)
    assert world.handle(envelope) == ["accepted"]
    assert len(world.publisher.events) == 1


def test_throttled_static_reply_is_retried_not_lost() -> None:
    world = World()
    original = world.messenger.send_text
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RetryableError("socialmessaging: ThrottledRequestException")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    world.messenger.send_text = flaky  # type: ignore[method-assign]
    envelope = load_fixture("message__image.json")
    with pytest.raises(RetryableError):
        world.handle(envelope)
    assert world.handle(envelope) == ["unsupported"]
    assert [t["body"] for t in world.messenger.texts] == [replies.UNSUPPORTED]


def test_rejected_static_reply_is_counted_not_retried() -> None:
    world = World()
    envelope = load_fixture("message__image.json")
    world.messenger.send_text = _raise(RejectedByService("socialmessaging", "ValidationException"))  # type: ignore[method-assign]
    assert world.handle(envelope) == ["unsupported"]
    assert world.metrics.counts["ReplyRejected"] == 1


def _raise(exc: Exception):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> str:
        raise exc

    return fail


def test_statuses_become_metrics_with_error_codes() -> None:
    world = World()
    for name in ("sent", "delivered", "read", "failed"):
        assert world.handle(load_fixture(f"message_status__{name}.json")) == []
    assert world.metrics.counts["MessageStatus failed"] == 1
    assert world.metrics.counts["MessageStatus read"] == 1
    assert world.metrics.counts["MessageFailed 130472"] == 1
    assert world.messenger.reads == [] and world.messenger.texts == []


def test_permanent_publish_failure_is_retried_not_dropped_and_not_taken_for_a_duplicate() -> None:
    world = World()
    world.publisher.fail_with = [RejectedByService("sns", "AuthorizationError")]
    envelope = text_envelope("q", wamid="wamid.PP")
    with pytest.raises(RetryableError):
        world.handle(envelope)
    assert world.handle(envelope) == ["accepted"]


def test_messages_sent_while_busy_still_count_against_the_rate_limit() -> None:
    world = World(rate_limit=3)
    outcomes = []
    for n in range(10):
        outcomes += world.handle(text_envelope(f"q{n}", wamid=f"wamid.Q{n}", timestamp=1762827867 + n))
    assert outcomes[:3] == ["accepted", "busy", "busy"]
    assert set(outcomes[3:]) == {"rate_limited"}
    bodies = [t["body"] for t in world.messenger.texts]
    assert bodies.count(replies.BUSY) == 2
    assert bodies.count(replies.RATE_LIMITED) == 1
