"""In-memory fakes of the ports, for unit tests and the overhead benchmark.

They implement the same Protocols as the real adapters and keep what they were asked in plain lists and
dicts, so that tests assert on recorded state rather than on mocks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from assistant.models.domain import Route
from assistant.ports import (
    Admission,
    AdmissionRequest,
    Answer,
    Outcome,
    ProcessedMessage,
    Recipient,
    Source,
)


@dataclass
class FixedClock:
    at: float = 1_800_000_000.0

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds

    def sleep(self, seconds: float) -> None:
        self.at += max(0.0, seconds)


@dataclass
class _User:
    lease_owner: str | None = None
    lease_until: int = 0
    windows: dict[int, int] = field(default_factory=dict)
    conv_msgs: int = 0
    conv_chars: int = 0
    conv_until: int = 0
    session_id: str | None = None


class InMemoryConversationStore:
    """The same decisions as ``DynamoDBConversationStore``, on dicts, under a lock."""

    def __init__(
        self,
        clock: Any,
        *,
        lease_seconds: int = 120,
        rate_limit: int = 20,
        rate_window_seconds: int = 60,
        conversation_max_messages: int = 30,
        conversation_max_chars: int = 20000,
        conversation_idle_seconds: int = 1800,
    ) -> None:
        self._clock = clock
        self.lease_seconds = lease_seconds
        self.rate_limit = rate_limit
        self.rate_window_seconds = rate_window_seconds
        self.conversation_max_messages = conversation_max_messages
        self.conversation_max_chars = conversation_max_chars
        self.conversation_idle_seconds = conversation_idle_seconds
        self.markers: dict[str, dict[str, Any]] = {}
        self.users: dict[str, _User] = {}
        self.calls = 0
        self._lock = threading.Lock()

    def admit(self, request: AdmissionRequest) -> Admission:
        with self._lock:
            self.calls += 1
            now = int(self._clock.now())
            if request.message_key in self.markers:
                return Admission(Outcome.DUPLICATE)
            user = self.users.setdefault(request.user_key, _User())
            window = now // self.rate_window_seconds
            count = user.windows.get(window, 0)
            self.markers[request.message_key] = {}
            user.windows[window] = count + 1
            if count >= self.rate_limit:
                return Admission(Outcome.RATE_LIMITED, first_over_limit=count == self.rate_limit)
            own = user.lease_owner == request.message_key
            if request.take_lease and user.lease_owner and user.lease_until >= now and not own:
                return Admission(Outcome.BUSY)
            reset = False
            if request.take_lease:
                fresh = user.conv_msgs == 0 or (
                    user.conv_until >= now
                    and user.conv_msgs < self.conversation_max_messages
                    and user.conv_chars + request.chars <= self.conversation_max_chars
                )
                if not fresh:
                    reset = user.conv_until >= now
                    user.conv_msgs = user.conv_chars = 0
                    user.session_id = None
                user.conv_msgs += 1
                user.conv_chars += request.chars
                user.conv_until = now + self.conversation_idle_seconds
                user.lease_owner = request.message_key
                user.lease_until = now + self.lease_seconds
            return Admission(Outcome.ACCEPTED, conversation_reset=reset)

    def forget(self, message_key: str, user_key: str) -> None:
        self.markers.pop(message_key, None)
        self.release(user_key, owner=message_key)

    def release(self, user_key: str, owner: str) -> None:
        user = self.users.get(user_key)
        if user and user.lease_owner == owner:
            user.lease_owner, user.lease_until = None, 0

    def get_session(self, user_key: str) -> str | None:
        user = self.users.get(user_key)
        if user is None or user.conv_until < int(self._clock.now()):
            return None
        return user.session_id

    def save_session(self, user_key: str, session_id: str) -> None:
        if user_key in self.users:
            self.users[user_key].session_id = session_id

    def holder(self, user_key: str) -> str | None:
        user = self.users.get(user_key)
        return user.lease_owner if user else None

    def claim_answer(self, message_key: str, seconds: int) -> bool:
        marker = self.markers.get(message_key)
        now = int(self._clock.now())
        if marker is None or "answered" in marker or marker.get("claim_until", 0) >= now:
            return False
        marker["claim_until"] = now + seconds
        return True

    def complete_answer(self, message_key: str, *, owner_of: str | None = None) -> None:
        marker = self.markers.setdefault(message_key, {})
        marker.pop("claim_until", None)
        marker["answered"] = True
        if owner_of is not None:
            self.release(owner_of, owner=message_key)

    def abandon_answer(self, message_key: str) -> None:
        self.markers.get(message_key, {}).pop("claim_until", None)


@dataclass
class RecordingMessenger:
    """Records every call; ``fail_with`` raises the given errors, one per call, first."""

    reads: list[tuple[str, bool]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)

    def _maybe_fail(self) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)

    def mark_read(self, route: Route, message_id: str, *, typing: bool) -> None:
        self._maybe_fail()
        self.reads.append((message_id, typing))

    def send_text(
        self,
        route: Route,
        recipient: Recipient,
        body: str,
        *,
        quote: str | None = None,
        callback_data: str | None = None,
    ) -> str:
        self._maybe_fail()
        self.texts.append({"to": recipient.wa_id or recipient.user_id, "body": body, "quote": quote})
        return f"sent-{len(self.texts)}"


@dataclass
class RecordingPublisher:
    events: list[ProcessedMessage] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)

    def publish(self, event: ProcessedMessage) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.events.append(event)


@dataclass
class RecordingMetrics:
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        key = name + "".join(f" {v}" for v in dimensions.values())
        self.counts[key] = self.counts.get(key, 0) + value


@dataclass
class ScriptedAnswerEngine:
    """Answers with a fixed text, or raises the scripted errors first."""

    text: str = "An answer."
    sources: tuple[Source, ...] = ()
    fail_with: list[Exception] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def answer(self, question: ProcessedMessage) -> Answer:
        self.asked.append(question.message_key)
        if self.fail_with:
            raise self.fail_with.pop(0)
        return Answer(text=self.text, source="test", sources=self.sources)


__all__ = [
    "FixedClock",
    "InMemoryConversationStore",
    "RecordingMessenger",
    "RecordingMetrics",
    "RecordingPublisher",
    "ScriptedAnswerEngine",
]
