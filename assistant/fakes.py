"""In-memory fakes of the ports, for unit tests and the overhead benchmark.

They implement the same Protocols as the real adapters and keep what they were asked in plain lists and
dicts, so that tests assert on recorded state rather than on mocks.
"""

from __future__ import annotations

import threading
import wave
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.errors import AmbiguousOutcome, RetryableError, UnusableAudio
from assistant.models.domain import Route
from assistant.ports import (
    BUDGET_MINUTE_SECONDS,
    Admission,
    AdmissionRequest,
    Answer,
    Claim,
    FetchedMedia,
    ProcessedMessage,
    Recipient,
    Source,
    Spend,
    Transcript,
    Verdict,
)
from assistant.services.admission import AdmissionLimits, MarkerState, UserState, decide, needs_reply
from assistant.services.delivery import sent_prefix


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
    state: UserState = field(default_factory=UserState)
    session_id: str | None = None
    agenda_calls: str | None = None
    agenda_at: int = -1


class InMemoryConversationStore:
    """The DynamoDB store's state machine on dicts, under a lock, with the same admission rule
    (``services.admission.decide``); the contract tests run one suite against both."""

    def __init__(self, clock: Any, limits: AdmissionLimits) -> None:
        self._clock = clock
        self.limits = limits
        self.markers: dict[str, dict[str, Any]] = {}
        self.users: dict[str, _User] = {}
        self.rates: dict[tuple[str, int], int] = {}
        self.calls = 0
        self.probes: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def _now(self) -> int:
        return int(self._clock.now())

    def admit(self, request: AdmissionRequest) -> Admission:
        with self._lock:
            self.calls += 1
            now = self._now()
            window = now // self.limits.rate_window_seconds
            raw = self.markers.get(request.message_key)
            marker = _marker_state(raw) if raw is not None else None
            user = self.users.setdefault(request.user_key, _User())
            rate = self.rates.get((request.user_key, window), 0)
            decision = decide(request, marker, user.state, rate, now, self.limits)
            admission = decision.admission
            if decision.write_marker:
                self.markers[request.message_key] = {
                    "attempt": request.attempt,
                    "attempt_until": now + self.limits.attempt_seconds,
                    "outcome": admission.outcome,
                    "first_over": admission.first_over_limit,
                    "reset": admission.conversation_reset,
                    "confirmed": set(),
                }
            if decision.take_over and raw is not None:
                raw["attempt"] = request.attempt
                raw["attempt_until"] = now + self.limits.attempt_seconds
            if decision.count_rate:
                self.rates[(request.user_key, window)] = rate + 1
            if decision.user is not None:
                user.state = decision.user
                if decision.new_conversation:
                    user.session_id = None
                    user.agenda_calls = None
            return admission

    def finish_reply(self, message_key: str) -> None:
        with self._lock:
            if message_key in self.markers:
                self.markers[message_key]["done"] = self._now()

    def release(self, user_key: str, owner: str) -> None:
        with self._lock:
            user = self.users.get(user_key)
            if user and user.state.lease_owner == owner:
                user.state = replace(user.state, lease_owner=None, lease_until=0)

    def holder(self, user_key: str) -> str | None:
        user = self.users.get(user_key)
        return user.state.lease_owner if user else None

    def get_session(self, user_key: str) -> str | None:
        user = self.users.get(user_key)
        if user is None or user.state.conv_until < self._now():
            return None
        return user.session_id

    def save_session(self, user_key: str, session_id: str) -> None:
        if user_key in self.users:
            self.users[user_key].session_id = session_id

    def get_agenda_calls(self, user_key: str) -> str | None:
        user = self.users.get(user_key)
        if user is None or user.state.conv_until < self._now():
            return None
        if user.agenda_at != user.state.conv_msgs - 1:
            return None  # not the last answer's
        return user.agenda_calls

    def save_agenda_calls(self, user_key: str, calls: str | None) -> None:
        if user_key in self.users:
            user = self.users[user_key]
            user.agenda_calls = calls
            user.agenda_at = user.state.conv_msgs if calls is not None else -1

    def claim_answer(self, message_key: str, owner: str, seconds: int) -> Claim:
        with self._lock:
            marker = self.markers.get(message_key)
            now = self._now()
            if marker is None or "answered_at" in marker:
                return Claim(granted=False, answered=marker is not None)
            previous = marker.get("claim_owner")
            if previous not in (None, owner) and marker.get("claim_until", 0) >= now:
                return Claim(granted=False)
            marker["claim_owner"], marker["claim_until"] = owner, now + seconds
            return Claim(
                granted=True,
                taken_over=previous not in (None, owner),
                parts_sent=sent_prefix(marker.get("parts_sent", 0), marker["confirmed"]),
                parts=marker.get("parts", 0),
            )

    def record_progress(self, message_key: str, owner: str, *, parts_sent: int, parts: int) -> None:
        with self._lock:
            marker = self.markers.get(message_key) or {}
            if marker.get("claim_owner") != owner:
                raise RetryableError("the answer claim was lost")
            marker["parts_sent"], marker["parts"] = parts_sent, parts

    def reply_confirmed(self, message_key: str, part: int) -> bool:
        return part in self.markers.get(message_key, {}).get("confirmed", set())

    def confirm_delivery(self, message_key: str, part: int) -> None:
        with self._lock:
            if message_key in self.markers:
                self.markers[message_key]["confirmed"].add(part)

    def complete_answer(self, message_key: str, owner: str, *, lease_of: str | None = None) -> None:
        with self._lock:
            marker = self.markers.get(message_key) or {}
            if marker.get("claim_owner") != owner:
                raise RetryableError("the answer claim was lost")
            marker["answered_at"] = self._now()
            marker.pop("claim_until", None)
        if lease_of is not None:
            self.release(lease_of, owner=message_key)

    def abandon_answer(self, message_key: str, owner: str) -> None:
        with self._lock:
            marker = self.markers.get(message_key) or {}
            if marker.get("claim_owner") == owner:
                marker.pop("claim_owner", None)
                marker.pop("claim_until", None)

    def record_probe(self, probe_id: str, step: str, detail: str = "") -> None:
        with self._lock:
            self.probes.setdefault(probe_id, {})[step] = detail


def _marker_state(raw: dict[str, Any]) -> MarkerState:
    outcome = raw["outcome"]
    return MarkerState(
        attempt=raw["attempt"],
        attempt_until=raw["attempt_until"],
        outcome=outcome,
        first_over_limit=raw["first_over"],
        conversation_reset=raw["reset"],
        finished="answered_at" in raw
        or "done" in raw
        or "claim_owner" in raw
        or not needs_reply(outcome, raw["first_over"]),
        reply_confirmed=0 in raw["confirmed"],
    )


class InMemoryAnswerBudget:
    """The DynamoDB budget's rule on dicts, under a lock (the contract tests run one suite against both):
    ``counts`` per minute, ``grants`` per message (the minute it was granted in; DynamoDB keeps it on the
    message's marker, which the answer stage has claimed). ``lose_answers`` records the next that many grants
    and then raises ``RetryableError``, as a transaction whose answer was lost would after botocore's
    retries."""

    def __init__(self, clock: Any, limit: int) -> None:
        if limit < 1:
            raise ValueError("a budget of 0 is no budget: wire none")
        self._clock = clock
        self.limit = limit
        self.counts: dict[int, int] = {}
        self.grants: dict[str, int] = {}
        self.lose_answers = 0
        self._lock = threading.Lock()

    def spend(self, message_key: str) -> Spend:
        with self._lock:
            if message_key in self.grants:
                return Spend.GRANTED_BEFORE
            minute = int(self._clock.now()) // BUDGET_MINUTE_SECONDS
            if self.counts.get(minute, 0) >= self.limit:
                return Spend.DENIED
            self.counts[minute] = self.counts.get(minute, 0) + 1
            self.grants[message_key] = minute
            if self.lose_answers:
                self.lose_answers -= 1
                raise RetryableError("dynamodb: ReadTimeoutError")
            return Spend.GRANTED


@dataclass
class RecordingMessenger:
    """Records every call; ``fail_with`` raises the given errors, one per call, first. ``lose_answers``
    sends the next that many texts and then raises ``AmbiguousOutcome``, as a lost response would."""

    reads: list[tuple[str, bool]] = field(default_factory=list)
    texts: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[Exception] = field(default_factory=list)
    lose_answers: int = 0

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
        self.texts.append(
            {
                "to": recipient.wa_id or recipient.user_id,
                "body": body,
                "quote": quote,
                "callback": callback_data,
            }
        )
        if self.lose_answers:
            self.lose_answers -= 1
            raise AmbiguousOutcome("socialmessaging: ReadTimeoutError")
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

    measures: dict[str, list[float]] = field(default_factory=dict)

    def count(self, name: str, value: int = 1, **dimensions: str) -> None:
        key = name + "".join(f" {v}" for v in dimensions.values())
        self.counts[key] = self.counts.get(key, 0) + value

    def measure(self, name: str, value: float, unit: str = "Seconds", **dimensions: str) -> None:
        key = name + "".join(f" {v}" for v in dimensions.values())
        self.measures.setdefault(key, []).append(value)


@dataclass
class ScriptedAnswerEngine:
    """Answers with a fixed text, or raises the scripted errors first."""

    text: str = "An answer."
    sources: tuple[Source, ...] = ()
    verdict: Verdict = Verdict.ANSWERED
    fail_with: list[Exception] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def answer(self, question: ProcessedMessage, *, deadline: float | None = None) -> Answer:
        self.asked.append(question.message_key)
        if self.fail_with:
            raise self.fail_with.pop(0)
        return Answer(self.verdict, text=self.text, sources=self.sources)


@dataclass
class InMemoryMediaBucket:
    """The media bucket as a dict of key -> bytes."""

    objects: dict[str, bytes] = field(default_factory=dict)
    fail_deletes: int = 0

    def download(self, key: str, path: Path) -> None:
        if key not in self.objects:
            raise RetryableError("s3: NoSuchKey")
        path.write_bytes(self.objects[key])

    def delete_prefix(self, prefix: str) -> int:
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise RetryableError("s3: InternalError")
        keys = [k for k in self.objects if k.startswith(prefix)]
        for key in keys:
            del self.objects[key]
        return len(keys)


@dataclass
class FakeMediaSource:
    """``GetWhatsAppMessageMedia``: copies the media's bytes into the bucket at prefix + id + extension."""

    bucket: InMemoryMediaBucket
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    """media id -> (bytes, extension)."""
    reported_size: int | None = None
    fetched: list[str] = field(default_factory=list)

    def fetch(self, route: Route, media_id: str, prefix: str) -> FetchedMedia:
        data, extension = self.media[media_id]
        key = f"{prefix}{media_id}.{extension}"
        self.bucket.objects[key] = data
        self.fetched.append(key)
        size = len(data) if self.reported_size is None else self.reported_size
        return FetchedMedia(key=key, mime_type="audio/ogg", size=size)


@dataclass
class ScriptedConverter:
    """Writes ``seconds`` of 16 kHz mono silence, or raises ``UnusableAudio("unreadable")`` for bytes that
    do not start with ``OggS`` (the real one is ffmpeg: tests/functional)."""

    seconds: float = 3.0

    def to_wav(self, source: Path, target: Path, *, max_seconds: float) -> float:
        if not source.read_bytes().startswith(b"OggS"):
            raise UnusableAudio("unreadable")
        seconds = min(self.seconds, max_seconds + 1)
        with wave.open(str(target), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(b"\x00\x00" * int(16000 * seconds))
        return seconds


@dataclass
class ScriptedTranscriber:
    """Says ``text`` in ``language``, or raises the scripted errors first; records the jobs and what it saw
    on disk."""

    text: str = "where is the opening keynote?"
    language: str | None = "en"
    fail_with: list[Exception] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)

    def transcribe(
        self, audio: Path, *, job: str, languages: tuple[str, ...], deadline: float | None = None
    ) -> Transcript:
        if not audio.is_file():
            raise AssertionError("the audio to transcribe is not on disk")
        self.jobs.append(job)
        if self.fail_with:
            raise self.fail_with.pop(0)
        return Transcript(self.text, self.language)


__all__ = [
    "FakeMediaSource",
    "FixedClock",
    "InMemoryAnswerBudget",
    "InMemoryConversationStore",
    "InMemoryMediaBucket",
    "RecordingMessenger",
    "RecordingMetrics",
    "RecordingPublisher",
    "ScriptedAnswerEngine",
    "ScriptedConverter",
    "ScriptedTranscriber",
]
