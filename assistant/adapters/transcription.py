"""Two ``Transcriber`` adapters: Amazon Transcribe (batch jobs) and Whisper on a SageMaker endpoint.

Amazon Transcribe works on objects, not bytes, and its job outlives the function that started it. So the
WAV goes to the media bucket under the note's prefix, the job is named after the note (``job``, the same on
every retry), and the transcript is written back under that prefix. A job name is unique per account and
region: a retry that tries to start the job again gets ``ConflictException`` and carries on with the job the
earlier attempt started, which is what makes a voice note cost one job however often it is retried.

Whisper on SageMaker (a Bedrock Marketplace deployment) is a synchronous endpoint with no state: a retry
simply invokes it again.
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, error_code, may_have_taken_effect, translate
from assistant.adapters.system import SystemClock
from assistant.errors import RejectedByService, RetryableError, UnusableAudio
from assistant.ports import Clock, MetricsSink, Transcript, media_prefix

logger = Logger(child=True)

JOB_NAME_PREFIX = "event-assistant-"
AUDIO_NAME = "audio.wav"
TRANSCRIPT_NAME = "transcript.json"
SAMPLE_RATE = 16000

TRANSCRIBE_LANGUAGES: dict[str, str] = {
    "en": "en-US",
    "es": "es-ES",
    "pt": "pt-BR",
    "fr": "fr-FR",
    "de": "de-DE",
    "tr": "tr-TR",
    "ar": "ar-SA",
}
"""ISO 639-1 codes to the Amazon Transcribe language codes used when none are configured."""

# GetTranscriptionJob answers an unknown name with BadRequestException (the API's own NotFoundException is
# not what it uses here); for a well-formed name, that is the only bad request it can be.
_NO_SUCH_JOB = frozenset({"BadRequestException", "NotFoundException"})
_NO_SUCH_OBJECT = frozenset({"NoSuchKey", "404", "NotFound"})


def iso_language(code: str | None) -> str | None:
    """``es-ES`` -> ``es``: the port speaks ISO 639-1."""
    if not code:
        return None
    return code.split("-", 1)[0].lower() or None


class AmazonTranscribeTranscriber:
    """The ``Transcriber`` port on Amazon Transcribe batch jobs, exactly once per voice note.

    Every name derives from ``job``: the input ``media_prefix(job) + "audio.wav"``, the output
    ``media_prefix(job) + "transcript.json"``, the job ``"event-assistant-" + job``. What a retry finds:

    - the job running: it polls it; the job completed, its transcript there: it reads it;
    - the job completed and its transcript gone (an earlier attempt read and deleted it, then died): it
      deletes the job and starts it again, once (the retry uploaded the audio again first);
    - a start whose answer was lost (a timeout, a 5xx): it looks the job up before starting it again.

    After reading, the transcript, the audio and the job are deleted, best effort: the transcript must not
    stay, and the bucket's lifecycle rule removes what a failed clean-up leaves.
    """

    def __init__(
        self,
        transcribe_client: Any,
        s3_client: Any,
        bucket: str,
        *,
        language_codes: tuple[str, ...] = (),
        clock: Clock,
        poll_seconds: float = 1.0,
        metrics: MetricsSink | None = None,
    ) -> None:
        if poll_seconds <= 0:
            raise ValueError("poll_seconds must be positive")
        self._transcribe = transcribe_client
        self._s3 = s3_client
        self._bucket = bucket
        self._language_codes = language_codes
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._metrics = metrics

    def transcribe(
        self, audio: Path, *, job: str, languages: tuple[str, ...], deadline: float | None = None
    ) -> Transcript:
        """What ``audio`` says; raises ``RetryableError`` when the job would outlive ``deadline`` (it keeps
        running, and the retry finds it) and ``UnusableAudio("unreadable")`` when the job fails."""
        if deadline is not None and self._clock.now() >= deadline:
            raise RetryableError("transcribe: no time left to start")
        name = JOB_NAME_PREFIX + job
        prefix = media_prefix(job)
        audio_key, transcript_key = prefix + AUDIO_NAME, prefix + TRANSCRIPT_NAME
        # Uploaded on every attempt, before the start: a restarted job needs it (the attempt that deleted
        # the transcript deleted the audio too), and the same bytes at the same key change nothing else.
        self._upload(audio, audio_key)
        request: dict[str, Any] = {
            "TranscriptionJobName": name,
            "Media": {"MediaFileUri": f"s3://{self._bucket}/{audio_key}"},
            "MediaFormat": "wav",
            "MediaSampleRateHertz": SAMPLE_RATE,
            "OutputBucketName": self._bucket,
            "OutputKey": transcript_key,
            **self._language_settings(languages),
        }
        state = self._start(request)
        restarted = False
        while True:
            status = state.get("TranscriptionJobStatus")
            if status == "COMPLETED":
                body = self._read(transcript_key)
                if body is None:
                    if restarted:
                        # The job we started completed without a transcript where we asked for it: nothing a
                        # third job would mend now; the retry starts over.
                        raise RetryableError("transcribe: the completed job left no transcript")
                    self._count("TranscribeJobRestarted")
                    logger.info("transcription job completed earlier and its transcript is gone: restarting")
                    self._delete_job(name)
                    state = self._start(request)
                    restarted = True
                    continue
                transcript = Transcript(
                    text=_transcript_text(body), language=iso_language(state.get("LanguageCode"))
                )
                self._clean(name, (transcript_key, audio_key))
                return transcript
            if status == "FAILED":
                # FailureReason is not logged: it may quote the media's location.
                self._count("TranscribeJobFailed")
                self._clean(name, (transcript_key, audio_key))
                raise UnusableAudio("unreadable")
            if deadline is not None and self._clock.now() + self._poll_seconds > deadline:
                self._count("TranscribeDeadline")
                raise RetryableError("transcribe: the job outlives the deadline")
            self._clock.sleep(self._poll_seconds)
            found = self._find(name)
            if found is None:
                # Deleted under us (an earlier attempt's late clean-up): the retry starts a new one.
                raise RetryableError("transcribe: the job is gone")
            state = found

    # -- the job --------------------------------------------------------------------------------------------

    def _language_settings(self, languages: tuple[str, ...]) -> dict[str, Any]:
        """One language forces it; several are identified among; none (or none known) lets Transcribe
        identify among all it knows."""
        codes = self._language_codes
        if not codes:
            unknown = [code for code in languages if code not in TRANSCRIBE_LANGUAGES]
            if unknown:
                logger.warning("languages without an Amazon Transcribe code", extra={"languages": unknown})
            codes = tuple(TRANSCRIBE_LANGUAGES[code] for code in languages if code in TRANSCRIBE_LANGUAGES)
        codes = tuple(dict.fromkeys(codes))
        if len(codes) == 1:
            return {"LanguageCode": codes[0]}
        if not codes:
            return {"IdentifyLanguage": True}
        return {"IdentifyLanguage": True, "LanguageOptions": list(codes)}

    def _start(self, request: dict[str, Any]) -> dict[str, Any]:
        """Start the job, or carry on with the one that already has its name (an earlier attempt's, or this
        attempt's own whose answer was lost)."""
        name = request["TranscriptionJobName"]
        for attempt in range(2):
            try:
                response = self._transcribe.start_transcription_job(**request)
            except AWS_ERRORS as exc:
                code = error_code(exc)
                if code == "ConflictException" or may_have_taken_effect(exc):
                    found = self._find(name)
                    if found is not None:
                        self._count("TranscribeJobResumed")
                        return found
                    if code != "ConflictException" and attempt == 0:
                        continue  # the lost start did not happen: start it now
                if code == "ConflictException":
                    # It exists, yet cannot be found: it is being deleted. The retry will know better.
                    raise RetryableError("transcribe: ConflictException") from None
                raise translate("transcribe", exc) from None
            self._count("TranscribeJobStarted")
            job: dict[str, Any] = response.get("TranscriptionJob") or {}
            return job
        raise RetryableError("transcribe: the job could not be started")  # pragma: no cover - loop returns

    def _find(self, name: str) -> dict[str, Any] | None:
        try:
            response = self._transcribe.get_transcription_job(TranscriptionJobName=name)
        except AWS_ERRORS as exc:
            if error_code(exc) in _NO_SUCH_JOB:
                return None
            raise translate("transcribe", exc) from None
        job: dict[str, Any] = response.get("TranscriptionJob") or {}
        return job

    def _delete_job(self, name: str) -> None:
        try:
            self._transcribe.delete_transcription_job(TranscriptionJobName=name)
        except AWS_ERRORS as exc:
            if error_code(exc) not in _NO_SUCH_JOB:
                raise translate("transcribe", exc) from None

    # -- the bucket -----------------------------------------------------------------------------------------

    def _upload(self, audio: Path, key: str) -> None:
        try:
            with audio.open("rb") as body:
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="audio/wav")
        except AWS_ERRORS as exc:
            raise translate("s3", exc) from None

    def _read(self, key: str) -> bytes | None:
        """The transcript's bytes, or None when there is none. (Without ``s3:ListBucket`` S3 answers a
        missing key with AccessDenied, which is raised, not taken for "gone".)"""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
            body: bytes = response["Body"].read()
        except AWS_ERRORS as exc:
            if error_code(exc) in _NO_SUCH_OBJECT:
                return None
            raise translate("s3", exc) from None
        return body

    def _clean(self, name: str, keys: tuple[str, ...]) -> None:
        """Delete the objects, then the job; log what fails (its code only) and go on."""
        for key in keys:
            try:
                self._s3.delete_object(Bucket=self._bucket, Key=key)
            except AWS_ERRORS as exc:
                self._count("TranscribeCleanupFailed", Step="object")
                logger.warning("could not delete a voice note object", extra={"error": error_code(exc)})
        try:
            self._transcribe.delete_transcription_job(TranscriptionJobName=name)
        except AWS_ERRORS as exc:
            if error_code(exc) not in _NO_SUCH_JOB:
                self._count("TranscribeCleanupFailed", Step="job")
                logger.warning("could not delete a transcription job", extra={"error": error_code(exc)})

    def _count(self, name: str, **dimensions: str) -> None:
        if self._metrics is not None:
            self._metrics.count(name, 1, **dimensions)


def _transcript_text(body: bytes) -> str:
    """``results.transcripts[0].transcript`` of Amazon Transcribe's output; missing or empty: ``""``."""
    try:
        data = json.loads(body)
    except ValueError:
        raise RejectedByService("transcribe", "UnexpectedTranscript") from None
    if not isinstance(data, dict):
        raise RejectedByService("transcribe", "UnexpectedTranscript")
    results = data.get("results")
    transcripts = results.get("transcripts") if isinstance(results, dict) else None
    if not isinstance(transcripts, list) or not transcripts or not isinstance(transcripts[0], dict):
        return ""
    text = transcripts[0].get("transcript")
    return text.strip() if isinstance(text, str) else ""


# -- Whisper on SageMaker ------------------------------------------------------------------------------------


class SageMakerWhisperTranscriber:
    """The ``Transcriber`` port on a Whisper endpoint (``sagemaker-runtime.invoke_endpoint``).

    Whisper hears 30 seconds at a time, and the endpoint's request size is bounded: the WAV is sent in
    chunks of at most ``chunk_seconds``, each a complete WAV file, hex-encoded in JSON as the Marketplace
    model expects. The language is passed only when the event serves exactly one (the caller detects it
    from the text otherwise). No side effects: ``job`` is not needed, and a retry invokes again.
    """

    def __init__(
        self,
        runtime_client: Any,
        endpoint_name: str,
        *,
        chunk_seconds: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive")
        self._runtime = runtime_client
        self._endpoint = endpoint_name
        self._chunk_seconds = chunk_seconds
        self._clock: Clock = clock or SystemClock()

    def transcribe(
        self, audio: Path, *, job: str, languages: tuple[str, ...], deadline: float | None = None
    ) -> Transcript:
        """What ``audio`` says: the chunks' texts joined with spaces. Raises ``RetryableError`` rather than
        start a chunk past ``deadline``, ``UnusableAudio("unreadable")`` for what is not a WAV file."""
        forced = languages[0] if len(languages) == 1 else None
        texts: list[str] = []
        for chunk in wav_chunks(audio, self._chunk_seconds):
            if deadline is not None and self._clock.now() >= deadline:
                raise RetryableError("sagemaker-runtime: no time left for the next chunk")
            text = self._invoke(chunk, forced)
            if text:
                texts.append(text)
        return Transcript(text=" ".join(texts), language=forced)

    def _invoke(self, chunk: bytes, language: str | None) -> str:
        payload: dict[str, Any] = {"audio_input": chunk.hex(), "task": "transcribe"}
        if language:
            payload["language"] = language
        try:
            response = self._runtime.invoke_endpoint(
                EndpointName=self._endpoint, ContentType="application/json", Body=json.dumps(payload)
            )
            body: bytes = response["Body"].read()
        except AWS_ERRORS as exc:
            # ModelError (424: the model failed on this input) is a RejectedByService, as every 4xx.
            raise translate("sagemaker-runtime", exc) from None
        return whisper_text(body)


def whisper_text(body: bytes) -> str:
    """The text of a Whisper endpoint's answer, in the shapes its containers use: ``{"text": "..."}``,
    ``{"text": ["...", ...]}`` or ``[{"generated_text": "..."}, ...]``."""
    unexpected = RejectedByService("sagemaker-runtime", "UnexpectedResponse")
    try:
        data = json.loads(body)
    except ValueError:
        raise unexpected from None
    parts: list[Any]
    if isinstance(data, dict) and "text" in data:
        parts = data["text"] if isinstance(data["text"], list) else [data["text"]]
    elif isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        parts = [item.get("generated_text") for item in data]
    else:
        raise unexpected
    if not all(isinstance(part, str) for part in parts):
        raise unexpected
    return " ".join(part.strip() for part in parts if part.strip())


def wav_chunks(audio: Path, seconds: float) -> Iterator[bytes]:
    """``audio`` cut into complete WAV files of at most ``seconds`` each (none for an empty file)."""
    try:
        with audio.open("rb") as raw, wave.open(raw, "rb") as source:
            params = source.getparams()
            per_chunk = max(1, int(seconds * params.framerate))
            while frames := source.readframes(per_chunk):
                out = io.BytesIO()
                with wave.open(out, "wb") as chunk:
                    chunk.setnchannels(params.nchannels)
                    chunk.setsampwidth(params.sampwidth)
                    chunk.setframerate(params.framerate)
                    chunk.writeframes(frames)
                yield out.getvalue()
    except (wave.Error, EOFError):
        raise UnusableAudio("unreadable") from None
