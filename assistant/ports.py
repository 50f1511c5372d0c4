"""Ports: the small interfaces the services depend on. Adapters implement them; tests fake them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from assistant.models.domain import Route


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a test's or the local twin's clock may only move its time forward)."""
        ...


class Hasher(Protocol):
    def key(self, *parts: str) -> str:
        """A keyed hash (HMAC) of the parts: the only form in which personal ids are stored or logged."""
        ...


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    BUSY = "busy"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class Admission:
    """What the conversation store decided about one inbound message."""

    outcome: Outcome
    conversation_reset: bool = False
    """The conversation's message or character budget was spent: its context was reset; tell the user."""
    first_over_limit: bool = False
    """This is the first message over the rate limit in its window: the one that gets told."""


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    message_key: str
    user_key: str
    chars: int
    take_lease: bool
    """Questions take the user's processing lease; static replies only need de-duplication and rate."""


class ConversationStore(Protocol):
    """Duplicate markers, the per-user processing lease, rate windows and conversation counters."""

    def admit(self, request: AdmissionRequest) -> Admission: ...

    def forget(self, message_key: str, user_key: str) -> None:
        """Undo an admission whose side effects failed, so that SQS's retry is not taken for a duplicate."""
        ...

    def release(self, user_key: str, owner: str) -> None:
        """Free the user's lease if ``owner`` still holds it."""
        ...

    def claim_answer(self, message_key: str, seconds: int) -> bool:
        """Claim the right to answer a message; False if it was answered or another worker is answering."""
        ...

    def complete_answer(self, message_key: str, *, owner_of: str | None = None) -> None:
        """Mark a message answered; with ``owner_of`` (a user key), also release that user's lease if this
        message still holds it, in the same write."""
        ...

    def abandon_answer(self, message_key: str) -> None:
        """Give a claim back after a retryable failure, so the redelivery can answer."""
        ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a reply goes to: ``wa_id`` when known, else the business-scoped user id."""

    wa_id: str | None = field(repr=False)
    user_id: str | None = field(repr=False)


class Messenger(Protocol):
    """Outbound WhatsApp calls through End User Messaging Social."""

    def mark_read(self, route: Route, message_id: str, *, typing: bool) -> None: ...

    def send_text(
        self,
        route: Route,
        recipient: Recipient,
        body: str,
        *,
        quote: str | None = None,
        callback_data: str | None = None,
    ) -> str:
        """Send a text message; returns the service's message id."""
        ...


class Publisher(Protocol):
    def publish(self, event: ProcessedMessage) -> None: ...


class MetricsSink(Protocol):
    def count(self, name: str, value: int = 1, **dimensions: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ProcessedMessage:
    """An accepted message, as published to the processed-messages topic.

    It carries what the consumers need and no more: hashed keys, the question, and the routing a reply
    needs (recipient and the message id to quote). No profile name, no display number.
    """

    message_key: str
    user_key: str
    kind: str
    text: str = field(repr=False)
    message_id: str = field(repr=False)
    recipient: Recipient
    origination_phone_number_id: str
    meta_phone_number_id: str
    received_at: int
    conversation_reset: bool = False
    version: int = 1


@dataclass(frozen=True, slots=True)
class Source:
    """A document an answer came from, as the user sees it in the "Sources" list."""

    title: str
    uri: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str = field(repr=False)
    source: str
    """Where the answer came from: ``acknowledgement``, ``knowledge_base``, ``guardrail``, ``no_answer``,
    ``error``."""
    sources: tuple[Source, ...] = ()


class SessionStore(Protocol):
    """The answer engine's own conversation handle per user (Bedrock's session id), kept with the
    conversation and dropped when it is reset or goes idle."""

    def get_session(self, user_key: str) -> str | None: ...

    def save_session(self, user_key: str, session_id: str) -> None: ...


class AnswerEngine(Protocol):
    def answer(self, question: ProcessedMessage) -> Answer: ...
