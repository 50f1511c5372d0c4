"""InboundService with fakes: what each kind of message gets, and what it must never get."""

from __future__ import annotations

import json

import pytest

from assistant.errors import AmbiguousOutcome, RejectedByService, RetryableError
from assistant.models.envelope import parse_envelope
from assistant.services import replies
from assistant.services.inbound import allow_key, message_key, user_key
from tests.conftest import load_fixture, text_envelope, with_message
from tests.worlds import HASHER
from tests.worlds import World as Both

INBOUND_VISIBILITY_SECONDS = 360  # template.yaml: SQS redelivers a failed record after this


class World(Both):
    def __init__(self, *, allowed: tuple[str, ...] = (), **changes: int) -> None:
        names = {"rate_limit": "rate_limit_messages", "lease_seconds": "lock_lease_seconds"}
        super().__init__(
            allowed_users=frozenset(allow_key(HASHER, i) for i in allowed),
            **{names.get(k, k): v for k, v in changes.items()},
        )
        self.service = self.inbound

    def redelivered(self, envelope: dict[str, object]) -> list[str]:
        """SQS's retry of a failed record: after the queue's visibility timeout."""
        self.clock.advance(INBOUND_VISIBILITY_SECONDS)
        return self.handle(envelope)


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
    assert [t["body"] for t in world.messenger.texts] == [replies.say("unsupported")]
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
    assert world.messenger.texts[0]["body"] == replies.say("not_allowed")
    assert world.handle(text_envelope("hi", wamid="wamid.2", sender="15550002222")) == ["accepted"]


def test_allow_list_lets_in_a_user_listed_by_either_of_their_ids() -> None:
    """Keyed by the wa_id, listed by the business-scoped id (or the other way round): still let in."""
    with_both = with_message(
        text_envelope("hi", wamid="wamid.1", sender="15550002222"), from_user_id="US.1349"
    )
    by_user_id = World(allowed=("US.1349",))
    assert by_user_id.handle(with_both) == ["accepted"]
    assert by_user_id.handle(text_envelope("hi", wamid="wamid.2", sender="15550003333")) == ["not_allowed"]
    by_number = World(allowed=("+1 555-000 2222",))
    assert by_number.handle(with_both) == ["accepted"]
    user_id_only = with_message(
        text_envelope("hi", wamid="wamid.3"), **{"from": None, "from_user_id": "US.9"}
    )
    assert by_number.handle(user_id_only) == ["not_allowed"]


def test_second_question_while_the_first_is_answered_gets_still_working_reply() -> None:
    world = World()
    world.handle(text_envelope("first", wamid="wamid.1"))
    assert world.handle(text_envelope("second", wamid="wamid.2", timestamp=1762827868)) == ["busy"]
    assert world.messenger.texts[-1]["body"] == replies.say("busy")
    assert len(world.publisher.events) == 1
    # the busy reply is not sent twice on redelivery
    assert world.handle(text_envelope("second", wamid="wamid.2", timestamp=1762827868)) == ["duplicate"]


def test_lease_expires_by_itself_after_a_crash() -> None:
    world = World(lease_seconds=180)
    world.handle(text_envelope("first", wamid="wamid.1"))
    world.clock.advance(181)
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
    assert bodies.count(replies.say("rate_limited")) == 1
    assert bodies.count(replies.say("unsupported")) == 2


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
    assert world.redelivered(envelope) == ["accepted"]
    assert len(world.publisher.events) == 1
    assert world.metrics.counts["MessageResumed"] == 1


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
    assert world.redelivered(envelope) == ["unsupported"]
    assert [t["body"] for t in world.messenger.texts] == [replies.say("unsupported")]


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
    assert world.redelivered(envelope) == ["accepted"]


def test_messages_sent_while_busy_still_count_against_the_rate_limit() -> None:
    world = World(rate_limit=3)
    outcomes = []
    for n in range(10):
        outcomes += world.handle(text_envelope(f"q{n}", wamid=f"wamid.Q{n}", timestamp=1762827867 + n))
    assert outcomes[:3] == ["accepted", "busy", "busy"]
    assert set(outcomes[3:]) == {"rate_limited"}
    bodies = [t["body"] for t in world.messenger.texts]
    assert bodies.count(replies.say("busy")) == 2
    assert bodies.count(replies.say("rate_limited")) == 1


def test_a_retry_inside_the_attempts_lifetime_is_a_duplicate_not_a_second_worker() -> None:
    world = World()
    world.publisher.fail_with = [RetryableError("sns: Throttling")]
    envelope = text_envelope("q", wamid="wamid.P")
    with pytest.raises(RetryableError):
        world.handle(envelope)
    # An SNS duplicate arriving while the first attempt may still be alive must not publish in parallel.
    assert world.handle(envelope) == ["duplicate"]
    assert world.publisher.events == []


def test_a_failed_publish_gives_the_lease_back_at_once() -> None:
    world = World()
    world.publisher.fail_with = [RetryableError("sns: Throttling")]
    with pytest.raises(RetryableError):
        world.handle(text_envelope("q", wamid="wamid.P"))
    assert world.handle(text_envelope("next", wamid="wamid.N", timestamp=1762827899)) == ["accepted"]


def test_ambiguous_static_reply_is_not_sent_again_once_its_status_proved_it_went_out() -> None:
    world = World()
    envelope = load_fixture("message__image.json")
    world.messenger.lose_answers = 1
    with pytest.raises(RetryableError):
        world.handle(envelope)
    # The status event of the reply (echoing its callback data) reaches the inbound function meanwhile.
    callback = world.messenger.texts[0]["callback"]
    world.handle(_status_with_callback(callback))
    assert world.redelivered(envelope) == ["unsupported"]
    assert [t["body"] for t in world.messenger.texts] == [replies.say("unsupported")]
    assert world.messenger.reads == [("wamid.xyzxyz", False)]  # and no second read receipt
    assert world.redelivered(envelope) == ["duplicate"]


def test_ambiguous_static_reply_that_never_went_out_is_sent_by_the_retry() -> None:
    world = World()
    envelope = load_fixture("message__image.json")
    send = world.messenger.send_text
    world.messenger.send_text = _raise(AmbiguousOutcome("socialmessaging: ReadTimeoutError"))  # type: ignore[method-assign]
    with pytest.raises(RetryableError):
        world.handle(envelope)
    world.messenger.send_text = send  # type: ignore[method-assign]
    assert world.messenger.texts == []
    assert world.redelivered(envelope) == ["unsupported"]
    assert [t["body"] for t in world.messenger.texts] == [replies.say("unsupported")]


def test_crash_between_static_reply_and_its_record_never_sends_twice() -> None:
    world = World()
    envelope = load_fixture("message__image.json")
    finish = world.store.finish_reply

    def crash(message_key: str) -> None:
        raise KeyboardInterrupt  # the process died on this line

    world.store.finish_reply = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        world.handle(envelope)
    world.store.finish_reply = finish  # type: ignore[method-assign]
    world.handle(_status_with_callback(world.messenger.texts[0]["callback"]))
    assert world.redelivered(envelope) == ["unsupported"]
    assert len(world.messenger.texts) == 1


def test_one_failing_message_does_not_stop_the_others_of_its_entry() -> None:
    world = World()
    envelope = load_fixture("message__text.json")
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    second = {**value["messages"][0], "id": "wamid.second", "from": "15550009999", "timestamp": "1762827999"}
    value["messages"].append(second)
    two = {**envelope, "whatsAppWebhookEntry": json.dumps(entry)}
    world.publisher.fail_with = [RetryableError("sns: Throttling")]
    with pytest.raises(RetryableError):
        world.handle(two)
    assert len(world.publisher.events) == 1  # the second message went through despite the first
    world.answer.handle(world.publisher.events[0])
    assert world.redelivered(two) == ["accepted", "duplicate"]  # the answered one is recognised
    assert len(world.publisher.events) == 2


def test_status_and_error_code_dimensions_come_from_fixed_sets() -> None:
    world = World()
    status = load_fixture("message_status__failed.json")
    entry = json.loads(status["whatsAppWebhookEntry"])
    item = entry["changes"][0]["value"]["statuses"][0]
    item["status"] = "15550001111"
    item["errors"] = [{"code": 15550002222}]
    world.handle({**status, "whatsAppWebhookEntry": json.dumps(entry)})
    assert world.metrics.counts["MessageStatus other"] == 1
    item["status"] = "failed"
    world.handle({**status, "whatsAppWebhookEntry": json.dumps(entry)})
    assert world.metrics.counts["MessageFailed other"] == 1
    assert not any("1555000" in key for key in world.metrics.counts)


def _status_with_callback(callback: str) -> dict[str, object]:
    status = load_fixture("message_status__sent.json")
    entry = json.loads(status["whatsAppWebhookEntry"])
    entry["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = callback
    return {**status, "whatsAppWebhookEntry": json.dumps(entry)}


def test_message_keys_do_not_depend_on_the_attempt() -> None:
    message = parse_envelope(text_envelope("q", wamid="wamid.K")).messages[0]
    assert message_key(HASHER, message) == message_key(HASHER, message)
