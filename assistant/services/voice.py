"""VoiceNotes: from a WhatsApp voice note (or audio message) to the words it says, in the answer stage.

Why the answer stage, not a stage of its own: the answer stage already holds what a voice note needs. Its
claim on the message keeps every other delivery off while the note is fetched, transcoded and transcribed;
its typing indicator is kept alive for as long as that takes; the user's lease covers it; and its retry
rules (docs/exactly-once.md) apply unchanged, since transcription has no effect a user sees. A stage of
its own would add a queue, a topic and a second claim for no gain in latency: the transcript's next step
is always the answer. The inbound function never imports any of this, so its path stays fast.

Per note: ``GetWhatsAppMessageMedia`` into the media bucket under the note's prefix, a download to the
function's temporary storage, ffmpeg to 16 kHz mono 16-bit PCM, the transcriber, and whatever happens, the
prefix and the local files deleted. Every name is derived from the message key, so a retry after a crash
overwrites the same object and the same files, and finds its own transcription job.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aws_lambda_powertools import Logger

from assistant.errors import AssistantError, RejectedByService, RetryableError, UnusableAudio
from assistant.models.domain import Route
from assistant.ports import (
    AudioConverter,
    Clock,
    MediaBucket,
    MediaSource,
    MetricsSink,
    ProcessedMessage,
    Transcriber,
    media_prefix,
)
from assistant.services.language import SUPPORTED, choose
from assistant.services.language import detect as detect_language

logger = Logger(child=True)

AUDIO_MIME_TYPES = frozenset(
    {
        "audio/ogg",
        "audio/opus",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/amr",
        "audio/wav",
        "audio/x-wav",
    }
)
"""What WhatsApp delivers as audio (and what ffmpeg reads); anything else labelled audio is refused."""

SHORTEST_SECONDS = 0.3
"""Less than this is no question: a slip of the thumb on the record button."""

_WORD = re.compile(r"\w{2,}")

_MEDIA_GONE = frozenset({"ResourceNotFoundException", "ValidationException", "InvalidParametersException"})
"""Refusals of ``GetWhatsAppMessageMedia`` that mean this media cannot be had (expired, unknown id)."""


def accepts(mime_type: str | None) -> bool:
    """Whether a message's declared type is audio this service can try (``audio/ogg; codecs=opus``)."""
    return bool(mime_type) and str(mime_type).split(";", 1)[0].strip().lower() in AUDIO_MIME_TYPES


def job_of(message_key: str) -> str:
    """The name of one note's work (bucket prefix, transcription job, temporary folder): derived from the
    message key, itself a keyed hash, so it is the same on every retry and says nothing about the user."""
    return f"vn-{message_key[:32]}"


@dataclass(frozen=True, slots=True)
class VoicePolicy:
    max_seconds: int = 120
    max_bytes: int = 16 * 1024 * 1024
    languages: tuple[str, ...] = SUPPORTED
    """The languages the event serves (ISO 639-1); the first is the fallback."""


@dataclass(frozen=True, slots=True)
class Heard:
    """What a voice note says, and in which language (one of the event's)."""

    text: str = field(repr=False)
    language: str | None
    seconds: float


class VoiceNotes:
    def __init__(
        self,
        *,
        media: MediaSource,
        bucket: MediaBucket,
        converter: AudioConverter,
        transcriber: Transcriber,
        metrics: MetricsSink,
        clock: Clock,
        policy: VoicePolicy,
        workdir: Path | None = None,
    ) -> None:
        self._media = media
        self._bucket = bucket
        self._converter = converter
        self._transcriber = transcriber
        self._metrics = metrics
        self._clock = clock
        self._policy = policy
        self._workdir = workdir

    def listen(self, question: ProcessedMessage, *, deadline: float | None = None) -> Heard:
        """The words of the note ``question`` carries. Raises ``UnusableAudio`` (a polite reply is due),
        ``RetryableError`` (SQS's retry does it again, finding what this attempt left) or another
        ``AssistantError``."""
        if not question.media_id:
            raise UnusableAudio("unreadable")
        job = job_of(question.message_key)
        prefix = media_prefix(job)
        folder = Path(self._workdir or tempfile.gettempdir()) / job
        # A crashed attempt in this same environment may have left its files: start clean, end clean.
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            seconds, wav = self._fetch_and_convert(question, prefix, folder)
            started = self._clock.now()
            transcript = self._transcriber.transcribe(
                wav, job=job, languages=self._policy.languages, deadline=deadline
            )
            self._metrics.measure("TranscriptionTime", self._clock.now() - started)
        except RetryableError:
            # The transcription job may still be running and writing under the prefix: the retry finds it
            # there, and cleans up once it is done (the lifecycle rule, if it never is).
            shutil.rmtree(folder, ignore_errors=True)
            raise
        except BaseException:
            self._clean(prefix, folder)
            raise
        self._clean(prefix, folder)
        text = " ".join(transcript.text.split())
        if not _WORD.search(text):
            raise UnusableAudio("silent")
        language = choose(transcript.language or detect_language(text), self._policy.languages)
        self._metrics.count("VoiceTranscribed", 1, Language=language or "other")
        return Heard(text=text, language=language, seconds=seconds)

    def _fetch_and_convert(self, question: ProcessedMessage, prefix: str, folder: Path) -> tuple[float, Path]:
        route = Route(question.origination_phone_number_id, question.meta_phone_number_id)
        try:
            fetched = self._media.fetch(route, str(question.media_id), prefix)
        except RejectedByService as exc:
            if exc.code not in _MEDIA_GONE:
                raise  # access denied, a missing bucket: the operator's to fix, not the user's
            raise UnusableAudio("unreadable") from None
        if fetched.size > self._policy.max_bytes:
            raise UnusableAudio("too_big")
        source = folder / "note.audio"
        self._bucket.download(fetched.key, source)
        # Out of the bucket as soon as it is here: the fewer copies, the shorter, the better. Only this
        # object: a transcription job of an earlier attempt may be writing beside it.
        self._delete_prefix(fetched.key)
        size = source.stat().st_size
        if size > self._policy.max_bytes:
            raise UnusableAudio("too_big")
        if size == 0:
            raise UnusableAudio("silent")
        wav = folder / "note.wav"
        seconds = self._converter.to_wav(source, wav, max_seconds=self._policy.max_seconds)
        source.unlink(missing_ok=True)
        self._metrics.measure("AudioDuration", min(seconds, float(self._policy.max_seconds + 1)))
        if seconds > self._policy.max_seconds:
            raise UnusableAudio("too_long")
        if seconds < SHORTEST_SECONDS:
            raise UnusableAudio("silent")
        return seconds, wav

    def _clean(self, prefix: str, folder: Path) -> None:
        """Whatever the outcome: nothing of the note stays in the bucket or on disk (a lifecycle rule on the
        bucket is the backstop for a crash before this line)."""
        shutil.rmtree(folder, ignore_errors=True)
        self._delete_prefix(prefix)

    def _delete_prefix(self, prefix: str) -> None:
        try:
            self._bucket.delete_prefix(prefix)
        except AssistantError as exc:
            self._metrics.count("MediaCleanupFailed")
            logger.warning(
                "could not delete a voice note's media; the lifecycle rule will", extra={"error": str(exc)}
            )
