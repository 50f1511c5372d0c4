"""Ports: the small interfaces the services depend on. Adapters implement them; tests fake them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

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
    """What the conversation store decided about one inbound message (see ``services/admission.py``)."""

    outcome: Outcome
    conversation_reset: bool = False
    """The conversation's message or character budget was spent: its context was reset; tell the user."""
    first_over_limit: bool = False
    """This is the first message over the rate limit in its window: the one that gets told."""
    resumed: bool = False
    """An earlier attempt admitted this message and died before finishing: carry on where it stopped."""
    reply_sent: bool = False
    """(Resumed only) a status event proved that the earlier attempt's reply went out."""


@dataclass(frozen=True, slots=True)
class AdmissionRequest:
    message_key: str
    user_key: str
    chars: int
    take_lease: bool
    """Questions take the user's processing lease; static replies only need de-duplication and rate."""
    attempt: str
    """This processing attempt's own id: a retry of one of its writes recognises the write as its own."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer stage's right to answer one message, and what earlier attempts left behind."""

    granted: bool
    answered: bool = False
    """Not granted because the message was answered already (else: another attempt holds a live claim)."""
    taken_over: bool = False
    """An earlier attempt held the claim and died (or gave up on an ambiguous send)."""
    parts_sent: int = 0
    """Reply parts known to have gone out: recorded by the sender, or proved by a status event."""
    parts: int = 0
    """How many parts the earlier attempt's reply had, when it recorded that (multi-part replies)."""


class SessionStore(Protocol):
    """The answer engine's own conversation handle per user (Bedrock's session id), kept with the
    conversation and dropped when it is reset or goes idle."""

    def get_session(self, user_key: str) -> str | None: ...

    def save_session(self, user_key: str, session_id: str) -> None: ...

    def get_agenda_calls(self, user_key: str) -> str | None:
        """The agenda tool calls (JSON) of the conversation's last schedule answer, that a follow-up ("who's
        giving it?") is answered from; None when the last answer was not the schedule's."""
        ...

    def save_agenda_calls(self, user_key: str, calls: str | None) -> None:
        """Remember (or, with None, forget) the last schedule answer's tool calls."""
        ...


class ConversationStore(SessionStore, Protocol):
    """Duplicate markers, the per-user processing lease, rate windows, conversation counters, answer
    claims and the record of which reply parts went out. Every write names its owner (an attempt id), so a
    retry of a write whose answer was lost recognises its own effect (docs/exactly-once.md)."""

    def admit(self, request: AdmissionRequest) -> Admission: ...

    def finish_reply(self, message_key: str) -> None:
        """Record that the message's static reply went out (or needs no retry): the marker is final."""
        ...

    def release(self, user_key: str, owner: str) -> None:
        """Free the user's lease if ``owner`` (a message key) still holds it."""
        ...

    def claim_answer(self, message_key: str, owner: str, seconds: int) -> Claim:
        """Claim the right to answer a message for ``seconds``; also granted to ``owner``'s own retry."""
        ...

    def record_progress(self, message_key: str, owner: str, *, parts_sent: int, parts: int) -> None:
        """Before sending part ``parts_sent`` of a multi-part reply: the parts before it went out."""
        ...

    def reply_confirmed(self, message_key: str, part: int) -> bool:
        """Whether a status event proved that reply part ``part`` of the message went out."""
        ...

    def confirm_delivery(self, message_key: str, part: int) -> None:
        """A status event carried our callback data for this part: it went out. Idempotent."""
        ...

    def complete_answer(self, message_key: str, owner: str, *, lease_of: str | None = None) -> None:
        """Mark a message answered and, with ``lease_of`` (a user key), release that user's lease if this
        message still holds it, in the same write."""
        ...

    def abandon_answer(self, message_key: str, owner: str) -> None:
        """Give a claim back when nothing was sent, so the redelivery can answer at once."""
        ...

    def record_probe(self, probe_id: str, step: str, detail: str = "") -> None:
        """``assistant doctor``'s round trip: a step of its synthetic message (``read``, ``reply`` with the
        reply's length, ``answered`` with the answer's source, ``static`` with the reason), kept a day.
        Idempotent per step."""
        ...


BUDGET_MINUTE_SECONDS = 60
"""The global answer budget counts per minute of the clock (``int(now) // 60``)."""


class Spend(StrEnum):
    """What the global answer budget said to one question."""

    GRANTED = "granted"
    """Counted now, in this minute: the question may go to the answer engine."""
    GRANTED_BEFORE = "granted_before"
    """This message's own earlier grant (a retry after a lost answer, or after a crash): it may go to the
    engine, and nothing was counted again."""
    DENIED = "denied"
    """This minute's budget is spent: the engine is not asked. Nothing is recorded, so a retry may find room
    in a later minute (the user still gets one reply)."""


class AnswerBudget(Protocol):
    """The global budget of questions that reach the answer engine per minute, across all users (the
    per-user rate limit bounds one user; this bounds a flood of many). Keyed by message: a message is counted
    at most once, whichever attempt asks (docs/exactly-once.md)."""

    def spend(self, message_key: str) -> Spend:
        """Take one place in the current minute's budget for ``message_key``, or recognise the place it was
        given before. Raises ``RetryableError`` when the store cannot say (the grant may or may not have been
        recorded: a retry recognises it)."""
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
        """Send a text message; returns the service's message id. Raises ``AmbiguousOutcome`` when the
        request may have gone out (its answer was lost): never retried blindly, since WhatsApp has no
        idempotency key."""
        ...


class Publisher(Protocol):
    def publish(self, event: ProcessedMessage) -> None:
        """Publish an accepted message. A retry may publish it twice: the answer stage's claim makes
        the second one a no-op."""
        ...


class MetricsSink(Protocol):
    def count(self, name: str, value: int = 1, **dimensions: str) -> None: ...

    def measure(self, name: str, value: float, unit: str = "Seconds", **dimensions: str) -> None:
        """A measurement (a duration, a size) rather than a count; ``unit`` is a CloudWatch unit name."""
        ...


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
    media_id: str | None = field(default=None, repr=False)
    """A voice note or audio message (``kind`` voice or audio): its WhatsApp media id; ``text`` is empty
    until the answer stage has transcribed it."""
    mime_type: str | None = None
    probe: str | None = None
    """``assistant doctor``'s round trip: the probe's id (``models.domain.Probe``); None for real messages."""
    probe_to: str | None = field(default=None, repr=False)
    """A live probe's recipient; None: a dry run (or not a probe)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A document an answer came from, as the user sees it in the "Sources" list."""

    title: str
    uri: str


class Verdict(StrEnum):
    """What the engine found; its value is the answer's ``source`` in metrics."""

    ANSWERED = "knowledge_base"
    SCHEDULED = "agenda"
    """Answered from the agenda's schedule (what is on now, next, where, by whom)."""
    NO_ANSWER = "no_answer"
    """The documents do not answer the question."""
    INTERVENED = "guardrail"
    """The guardrail blocked the question or the answer."""
    FAILED = "error"
    """The engine could not answer (throttled past its budget, rejected, out of time)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What an answer engine found: facts, not what the user hears. ``services/answering.py`` decides that
    (the answer with its sources, or "I don't know", the refusal, the apology, in the user's language)."""

    verdict: Verdict
    text: str = field(default="", repr=False)
    """The grounded answer (``ANSWERED`` only)."""
    sources: tuple[Source, ...] = ()
    language: str | None = None
    """The question's language, when the engine knows it."""

    @property
    def source(self) -> str:
        return self.verdict.value


class AnswerEngine(Protocol):
    def answer(self, question: ProcessedMessage, *, deadline: float | None = None) -> Answer:
        """Answer a question; ``deadline`` (epoch seconds) is when the caller must have the answer: no
        call or retry may run past it."""
        ...


class Agenda(Protocol):
    """The event's schedule, as tools an answer engine may offer its model (what is on now, next, in a room,
    by a speaker, about a topic; recommendations). The clock is the event's (``ASSISTANT_NOW`` or real)."""

    def about_schedule(self, text: str) -> bool:
        """Whether a question asks about the schedule (and so may be answered with the tools)."""
        ...

    def follows_up(self, text: str) -> bool:
        """Whether a short question points back at the previous answer ("who's giving it?", "¿y dónde?")."""
        ...

    def tool_specs(self) -> list[dict[str, Any]]:
        """The tools, as Bedrock Converse ``toolSpec`` entries."""
        ...

    def run_tool(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """A tool call's result (JSON-serialisable); ``{"error": ...}`` for a call it cannot run."""
        ...

    def now(self) -> datetime:
        """The event's current time (aware, in its time zone)."""
        ...

    @property
    def source(self) -> Source:
        """Where the schedule comes from, as the user sees it in the "Sources" list."""
        ...


# -- voice notes ------------------------------------------------------------------------------------------

VOICE_PREFIX = "voice/"


def media_prefix(job: str) -> str:
    """Where one voice note's files live in the media bucket (the fetched audio, and for Amazon Transcribe
    its input and its transcript): deleting the prefix deletes them all."""
    return f"{VOICE_PREFIX}{job}/"


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    """A media object ``GetWhatsAppMessageMedia`` put into the media bucket."""

    key: str
    mime_type: str
    size: int
    """Bytes, as the service reported them."""


class MediaSource(Protocol):
    def fetch(self, route: Route, media_id: str, prefix: str) -> FetchedMedia:
        """Have End User Messaging Social put a message's media into the media bucket under ``prefix`` (the
        object lands at ``prefix + media_id + "." + extension``). Fetching again overwrites the same key."""
        ...


class MediaBucket(Protocol):
    """The media bucket: voice notes pass through it, and nothing stays."""

    def download(self, key: str, path: Path) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``; returns how many there were. Idempotent."""
        ...


class AudioConverter(Protocol):
    def to_wav(self, source: Path, target: Path, *, max_seconds: float) -> float:
        """Transcode ``source`` (any audio ffmpeg reads) to 16 kHz mono 16-bit PCM WAV at ``target``, reading
        no more than ``max_seconds`` plus one; returns the seconds written (more than ``max_seconds`` means
        the audio is longer). Raises ``UnusableAudio("unreadable")`` for what is not audio."""
        ...


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str = field(repr=False)
    language: str | None = None
    """ISO 639-1 code of the language heard ("es"), when the engine tells."""


class Transcriber(Protocol):
    """Speech to text: Amazon Transcribe, Whisper on SageMaker, or faster-whisper locally."""

    def transcribe(
        self, audio: Path, *, job: str, languages: tuple[str, ...], deadline: float | None = None
    ) -> Transcript:
        """What is said in ``audio`` (16 kHz mono 16-bit PCM WAV).

        ``job`` names this note's work and is derived from the message: a retry passes the same one and finds
        its earlier job (and its result) instead of starting a second one. ``languages`` are the ISO 639-1
        codes the event serves; one alone forces that language. ``deadline`` (epoch seconds): raise
        ``RetryableError`` rather than run past it."""
        ...


# -- the knowledge base's ingestion (content teams) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestionJob:
    """One ingestion job of the knowledge base's data source, as the service reports it."""

    job_id: str
    status: str
    """STARTING, IN_PROGRESS, COMPLETE, FAILED, STOPPING or STOPPED."""
    started_at: float | None = None
    """Epoch seconds."""
    updated_at: float | None = None
    scanned: int = 0
    indexed: int = 0
    """New and modified documents indexed."""
    deleted: int = 0
    failed: int = 0
    failure_reasons: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.status in ("STARTING", "IN_PROGRESS", "STOPPING")


@dataclass(frozen=True, slots=True)
class DocumentStatus:
    """A document of the knowledge base and how its ingestion went."""

    uri: str
    status: str
    """INDEXED, FAILED, PENDING, IN_PROGRESS, DELETING, ... (the service's word)."""
    reason: str | None = None
    updated_at: float | None = None


class Ingestion(Protocol):
    """The knowledge base's ingestion jobs (Bedrock's ``bedrock-agent`` API; moto has none)."""

    def start(self, token: str) -> IngestionJob:
        """Start a job; ``token`` makes a retried start the same job. Raises ``IngestionBusy`` when one is
        already running."""
        ...

    def latest(self) -> IngestionJob | None:
        """The most recently started job, if any."""
        ...

    def get(self, job_id: str) -> IngestionJob: ...

    def documents(self) -> list[DocumentStatus]:
        """Every document the knowledge base knows, with its ingestion status."""
        ...


# -- what attendees ask (organizers) ------------------------------------------------------------------------


class Categorizer(Protocol):
    """Puts a question into one of a small, stable set of categories."""

    def categorize(self, question: str, known: list[str]) -> str:
        """The category of ``question``: one of ``known`` (the categories so far, predefined first) when one
        fits, else a new short name (2-4 words, Title Case). Never raises for a question it cannot place:
        it answers ``OTHER_CATEGORY``."""
        ...


OTHER_CATEGORY = "Other"


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """A categorized question, as the analytics store counts it (no text but a redacted one, with a TTL)."""

    message_key: str
    user_key: str
    category: str
    kind: str
    bucket: int
    """Start (epoch seconds) of its time bucket."""
    day: str
    redacted: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    message_key: str
    source: str
    latency_seconds: float
    bucket: int


class AnalyticsStore(Protocol):
    """Counters for the organizers' dashboard, each message counted exactly once (its marker and its
    counters are one write)."""

    def categories(self) -> list[str]:
        """The categories counted so far, most used first."""
        ...

    def question_recorded(self, message_key: str) -> bool: ...

    def record_question(self, record: QuestionRecord) -> bool:
        """Count a categorized question; False when it was counted before (a redelivery)."""
        ...

    def record_answer(self, record: AnswerRecord) -> bool:
        """Count an answer's source and latency; False when it was counted before."""
        ...

    def join(self, message_key: str) -> None:
        """Once both the category and the source of a message are known, count the source under the
        category and keep an unanswered question's redacted text; once only, whoever calls it."""
        ...

    def remember_reply(self, reply_key: str, message_key: str) -> None:
        """Our reply ``reply_key`` (a keyed hash of its wamid) answered the question ``message_key``."""
        ...

    def record_reaction(self, reaction_key: str, reply_key: str, kind: str, bucket: int) -> bool:
        """Count a reaction to one of our replies as feedback on that answer, once; False when the reply
        is not ours (or no longer known) or the reaction was counted before."""
        ...

    def report(self, now: float) -> dict[str, Any]:
        """The dashboard's figures (``services.analytics.build_report``)."""
        ...
