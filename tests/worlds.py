"""The services wired by the composition root with in-memory fakes: the tests' worlds and the benchmark's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from assistant import bootstrap
from assistant.adapters.system import HmacHasher
from assistant.config import Settings
from assistant.fakes import (
    FixedClock,
    InMemoryConversationStore,
    RecordingMessenger,
    RecordingMetrics,
    RecordingPublisher,
    ScriptedAnswerEngine,
)
from assistant.models.domain import Envelope
from assistant.models.envelope import parse_envelope
from assistant.ports import AdmissionRequest
from assistant.services.admission import AdmissionLimits

HASHER = HmacHasher(b"k" * 32)

STORE_LIMITS = AdmissionLimits(
    lease_seconds=180,
    rate_limit=100,
    rate_window_seconds=60,
    conversation_max_messages=3,
    conversation_max_chars=1000,
    conversation_idle_seconds=600,
    dedupe_ttl_seconds=3600,
    attempt_seconds=90,
)
"""Small conversation budgets, for the stores' own tests."""


def create_table(client: Any, name: str = "t") -> None:
    """The conversation table as template.yaml defines it (partition key ``pk``)."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def settings(**changes: Any) -> Settings:
    base = Settings(
        table_name="t",
        processed_topic_arn="arn:aws:sns:us-east-1:123456789012:processed",
        hash_key_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        knowledge_base_id="KB",
        generation_model_arn="arn:aws:bedrock:us-east-1::foundation-model/m",
        guardrail_id="g",
        guardrail_version="1",
    )
    return replace(base, **changes)


class World:
    """Both services over one in-memory store, messenger and clock."""

    def __init__(self, answer: str = "An answer.", **changes: Any) -> None:
        self.settings = settings(**changes)
        self.clock = FixedClock()
        self.store = InMemoryConversationStore(self.clock, bootstrap.limits_of(self.settings))
        self.messenger = RecordingMessenger()
        self.publisher = RecordingPublisher()
        self.metrics = RecordingMetrics()
        self.engine = ScriptedAnswerEngine(text=answer)
        core = bootstrap.build_core(
            self.settings, clock=self.clock, store=self.store, messenger=self.messenger, metrics=self.metrics
        )
        self.inbound = bootstrap.build_inbound(core, publisher=self.publisher, hasher=HASHER)
        self.answer = bootstrap.build_answer(core, engine=self.engine)

    def handle(self, envelope: dict[str, object]) -> list[str]:
        return self.inbound.handle(parse_envelope(envelope))

    def handle_envelope(self, envelope: Envelope) -> list[str]:
        return self.inbound.handle(envelope)

    def admit(self, key: str = "m1", user: str = "u1") -> None:
        """Admit a question as the inbound stage would, so the answer stage finds its marker and lease."""
        self.store.admit(
            AdmissionRequest(message_key=key, user_key=user, chars=10, take_lease=True, attempt="inbound")
        )
        assert self.store.holder(user) == key
