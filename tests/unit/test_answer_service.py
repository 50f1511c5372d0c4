"""AnswerService with fakes: one answer per message, the lease always given back."""

from __future__ import annotations

import threading

import pytest

from assistant.errors import AmbiguousOutcome, RejectedByService, RetryableError
from assistant.ports import Answer, ProcessedMessage, Recipient, Source, Verdict
from assistant.services import replies
from assistant.services.answering import AnswerService, compose
from assistant.services.delivery import reply_callback
from tests.worlds import World as Both

ANSWER_VISIBILITY_SECONDS = 720  # template.yaml: SQS redelivers a failed record after this


def question(
    key: str = "m1", *, reset: bool = False, text: str = "Where is the keynote?"
) -> ProcessedMessage:
    return ProcessedMessage(
        message_key=key,
        user_key="u1",
        kind="text",
        text=text,
        message_id=f"wamid.{key}",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-abc",
        meta_phone_number_id="123",
        received_at=1,
        conversation_reset=reset,
    )


class World(Both):
    def __init__(self, answer: str = "An answer.") -> None:
        super().__init__(answer=answer)
        self.service = self.answer

    def redelivered(self, q: ProcessedMessage) -> str:
        self.clock.advance(ANSWER_VISIBILITY_SECONDS)
        return self.service.handle(q)


def test_answer_quotes_the_question_and_releases_the_lease() -> None:
    world = World()
    world.admit()
    assert world.service.handle(question()) == "answered"
    assert world.messenger.texts == [
        {"to": "15550001111", "body": "An answer.", "quote": "wamid.m1", "callback": reply_callback("m1", 0)}
    ]
    assert world.store.holder("u1") is None
    assert world.metrics.counts["Answered knowledge_base"] == 1


def test_redelivered_question_is_not_answered_twice() -> None:
    world = World()
    world.admit()
    world.service.handle(question())
    assert world.service.handle(question()) == "duplicate"
    assert len(world.messenger.texts) == 1
    assert world.engine.asked == ["m1"]


def test_long_answer_is_split_and_only_the_first_part_quotes() -> None:
    world = World(answer=("A sentence of the answer. " * 400).strip())
    world.admit()
    world.service.handle(question())
    parts = world.messenger.texts
    assert len(parts) == 3
    assert all(len(p["body"]) <= 4096 for p in parts)
    assert [p["quote"] for p in parts] == ["wamid.m1", None, None]


def test_reset_notice_travels_in_the_same_reply() -> None:
    world = World()
    world.admit()
    world.service.handle(question(reset=True))
    (reply,) = world.messenger.texts
    assert reply["body"].startswith(replies.say("conversation_reset"))


def test_retryable_failure_releases_lease_and_leaves_the_message_answerable() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RetryableError("bedrock: ThrottlingException")]
    with pytest.raises(RetryableError):
        world.service.handle(question())
    assert world.store.holder("u1") is None
    assert world.service.handle(question()) == "answered"  # the claim was given back: at once
    assert len(world.messenger.texts) == 1


def test_permanent_failure_apologises_once_releases_lease_and_is_not_retried() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RejectedByService("bedrock", "ValidationException")]
    assert world.service.handle(question()) == "answered"
    assert [t["body"] for t in world.messenger.texts] == [
        replies.say("apology", help_desk="the help desk at registration")
    ]
    assert world.metrics.counts["Answered error"] == 1
    assert world.store.holder("u1") is None
    assert world.service.handle(question()) == "duplicate"
    assert len(world.messenger.texts) == 1


def test_reply_is_whatsapp_formatted_with_sources() -> None:
    world = World(answer="**Auditorium A**, 09:00.")
    world.engine.sources = (Source("Agenda", "s3://b/agenda.md"),)
    world.admit()
    world.service.handle(question())
    assert world.messenger.texts[0]["body"] == "*Auditorium A*, 09:00.\n\n_Sources:_\n- Agenda"


def test_typing_indicator_is_sent_again_while_a_slow_answer_is_worked_on() -> None:
    world = World()
    world.service = AnswerService(
        store=world.store,
        messenger=world.messenger,
        engine=world.engine,
        metrics=world.metrics,
        clock=world.clock,
        claim_seconds=150,
        typing_every=0.05,
    )
    world.admit()
    slow = threading.Event()
    original = world.engine.answer

    def slow_answer(q: ProcessedMessage, *, deadline: float | None = None) -> Answer:
        slow.wait(0.3)
        return original(q)

    world.engine.answer = slow_answer  # type: ignore[method-assign]
    world.service.handle(question())
    assert len(world.messenger.reads) >= 2
    assert all(read == ("wamid.m1", True) for read in world.messenger.reads)
    count = len(world.messenger.reads)
    slow.wait(0.2)
    assert len(world.messenger.reads) == count  # and it stops once the answer is sent


def test_crash_mid_answer_releases_the_lease() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RuntimeError("bug")]
    with pytest.raises(RuntimeError):
        world.service.handle(question())
    assert world.store.holder("u1") is None


def test_answer_never_frees_a_lease_someone_else_holds() -> None:
    world = World()
    world.admit("m1")
    world.store.release("u1", "m1")
    world.admit("m2")
    world.service.handle(question("m1"))
    assert world.store.holder("u1") == "m2"


def test_duplicate_event_arriving_while_the_first_is_answered_leaves_the_lease_alone() -> None:
    world = World()
    world.admit()
    assert world.store.claim_answer("m1", "first", 150).granted  # the first worker is answering right now
    assert world.service.handle(question()) == "duplicate"
    assert world.store.holder("u1") == "m1"


def test_failure_to_mark_answered_after_the_reply_is_sent_does_not_make_sqs_redeliver() -> None:
    world = World()
    world.admit()
    original = world.store.complete_answer

    def failing(message_key: str, owner: str, *, lease_of: str | None = None) -> None:
        raise RetryableError("dynamodb: InternalServerError")

    world.store.complete_answer = failing  # type: ignore[method-assign]
    world.store.release = _raise(RetryableError("dynamodb: InternalServerError"))  # type: ignore[method-assign]
    assert world.service.handle(question()) == "answered"  # no exception, though the release raised too
    world.store.complete_answer = original  # type: ignore[method-assign]
    assert world.service.handle(question()) == "duplicate"  # the claim keeps a duplicate off
    world.store.confirm_delivery("m1", 0)  # the reply's status event
    assert world.redelivered(question()) == "recovered"  # a late copy completes it and sends nothing
    assert len(world.messenger.texts) == 1


def _raise(exc: Exception):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


def test_ambiguous_send_confirmed_by_its_status_is_not_sent_again() -> None:
    world = World()
    world.admit()
    world.messenger.lose_answers = 1
    polls = []
    reply_confirmed = world.store.reply_confirmed

    def status_arrives_on_second_poll(message_key: str, part: int) -> bool:
        polls.append(world.clock.now())
        if len(polls) == 2:
            world.store.confirm_delivery(message_key, part)  # the inbound function records the status
        return reply_confirmed(message_key, part)

    world.store.reply_confirmed = status_arrives_on_second_poll  # type: ignore[method-assign]
    assert world.service.handle(question()) == "answered"
    assert polls[1] - polls[0] == 1.0  # it waited (on the clock) between polls
    assert len(world.messenger.texts) == 1
    assert world.metrics.counts["AmbiguousSendConfirmed"] == 1
    assert world.store.holder("u1") is None


def test_unconfirmed_ambiguous_send_is_deferred_and_the_retry_decides_from_the_status() -> None:
    world = World()
    world.admit()
    world.messenger.lose_answers = 1
    with pytest.raises(RetryableError):
        world.service.handle(question())
    assert world.store.holder("u1") is None  # the user is not kept waiting meanwhile
    assert world.service.handle(question()) == "duplicate"  # the claim is kept until it lapses
    world.store.confirm_delivery("m1", 0)  # the late status event
    assert world.redelivered(question()) == "recovered"
    assert len(world.messenger.texts) == 1
    assert world.engine.asked == ["m1"]


def test_ambiguous_send_that_never_went_out_is_sent_by_the_retry() -> None:
    world = World()
    world.admit()
    send = world.messenger.send_text
    world.messenger.send_text = _raise(AmbiguousOutcome("socialmessaging: InternalServerException"))  # type: ignore[method-assign]
    with pytest.raises(RetryableError):
        world.service.handle(question())
    world.messenger.send_text = send  # type: ignore[method-assign]
    assert world.redelivered(question()) == "answered"
    assert len(world.messenger.texts) == 1


def test_a_retried_claim_of_the_same_attempt_is_its_own() -> None:
    world = World()
    world.admit()
    assert world.store.claim_answer("m1", "me", 150).granted
    assert world.store.claim_answer("m1", "me", 150).granted  # botocore's retry of the same write
    assert not world.store.claim_answer("m1", "other", 150).granted


def test_failure_on_a_later_part_of_a_long_reply_never_resends_the_first_part() -> None:
    world = World(answer=("A sentence of the answer. " * 400).strip())
    world.admit()
    original = world.messenger.send_text

    def second_part_fails(*args: object, **kwargs: object) -> str:
        if len(world.messenger.texts) == 1:
            raise RetryableError("socialmessaging: ThrottledRequestException")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    world.messenger.send_text = second_part_fails  # type: ignore[method-assign]
    assert world.service.handle(question()) == "answered"
    assert [t["quote"] for t in world.messenger.texts] == ["wamid.m1"]
    assert world.metrics.counts["ReplyIncomplete"] == 1
    assert world.service.handle(question()) == "duplicate"


@pytest.mark.parametrize(
    ("answer", "expected", "source"),
    [
        (Answer(Verdict.NO_ANSWER), replies.say("dont_know", help_desk="the desk"), "no_answer"),
        (Answer(Verdict.ANSWERED, text="  "), replies.say("dont_know", help_desk="the desk"), "no_answer"),
        (Answer(Verdict.INTERVENED, text="a model's words"), replies.say("guardrail"), "guardrail"),
        (Answer(Verdict.FAILED), replies.say("apology", help_desk="the desk"), "error"),
        (Answer(Verdict.ANSWERED, text="**Hall B**, 10:00."), "*Hall B*, 10:00.", "knowledge_base"),
    ],
)
def test_the_service_decides_what_the_user_hears_from_what_the_engine_found(
    answer: Answer, expected: str, source: str
) -> None:
    assert compose(answer, help_desk="the desk") == (expected, source)


def test_a_language_without_its_own_texts_falls_back_to_the_default() -> None:
    body, _ = compose(Answer(Verdict.NO_ANSWER, language="xx"), help_desk="the desk")
    assert body == replies.say("dont_know", "en", help_desk="the desk")


def test_the_reset_notice_goes_with_an_answer_but_not_with_an_apology() -> None:
    answered, _ = compose(Answer(Verdict.ANSWERED, text="Yes."), help_desk="d", conversation_reset=True)
    assert answered.startswith(replies.say("conversation_reset"))
    failed, _ = compose(Answer(Verdict.FAILED), help_desk="d", conversation_reset=True)
    assert not failed.startswith(replies.say("conversation_reset"))
