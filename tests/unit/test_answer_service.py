"""answer_question with fakes: one answer per message, the lease always given back."""

from __future__ import annotations

import pytest

from assistant.errors import RejectedByService, RetryableError
from assistant.fakes import (
    FixedClock,
    InMemoryConversationStore,
    RecordingMessenger,
    RecordingMetrics,
    ScriptedAnswerEngine,
)
from assistant.ports import AdmissionRequest, ProcessedMessage, Recipient
from assistant.services import replies
from assistant.services.answering import AnswerService


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


class World:
    def __init__(self, answer: str = "An answer.") -> None:
        self.clock = FixedClock()
        self.store = InMemoryConversationStore(self.clock)
        self.messenger = RecordingMessenger()
        self.engine = ScriptedAnswerEngine(text=answer)
        self.metrics = RecordingMetrics()
        self.service = AnswerService(
            store=self.store,
            messenger=self.messenger,
            engine=self.engine,
            metrics=self.metrics,
            claim_seconds=120,
        )

    def admit(self, key: str = "m1") -> None:
        self.store.admit(AdmissionRequest(message_key=key, user_key="u1", chars=10, take_lease=True))
        assert self.store.holder("u1") == key


def test_answer_quotes_the_question_and_releases_the_lease() -> None:
    world = World()
    world.admit()
    assert world.service.handle(question()) == "answered"
    assert world.messenger.texts == [{"to": "15550001111", "body": "An answer.", "quote": "wamid.m1"}]
    assert world.store.holder("u1") is None
    assert world.metrics.counts["Answered test"] == 1


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
    assert reply["body"].startswith(replies.CONVERSATION_RESET)


def test_retryable_failure_releases_lease_and_leaves_the_message_answerable() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RetryableError("bedrock: ThrottlingException")]
    with pytest.raises(RetryableError):
        world.service.handle(question())
    assert world.store.holder("u1") is None
    assert world.service.handle(question()) == "answered"
    assert len(world.messenger.texts) == 1


def test_permanent_failure_releases_lease_and_is_not_retried() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RejectedByService("bedrock", "ValidationException")]
    assert world.service.handle(question()) == "failed"
    assert world.store.holder("u1") is None
    assert world.service.handle(question()) == "duplicate"


def test_crash_mid_answer_releases_the_lease() -> None:
    world = World()
    world.admit()
    world.engine.fail_with = [RuntimeError("bug")]
    with pytest.raises(RuntimeError):
        world.service.handle(question())
    assert world.store.holder("u1") is None


def test_answer_never_frees_a_lease_someone_else_holds() -> None:
    world = World()
    world.admit("m2")
    world.store.markers["m1"] = {}
    world.service.handle(question("m1"))
    assert world.store.holder("u1") == "m2"
