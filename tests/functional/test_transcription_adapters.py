"""The two Transcriber adapters on the wire: Amazon Transcribe on moto, Whisper on a local SageMaker endpoint.

moto's Transcribe keeps job states only: each GetTranscriptionJob moves a job one step (QUEUED, IN_PROGRESS,
COMPLETED; it never fails one), and it writes no transcript. ``TranscribeService`` adds what the real service
does: when a job it started is first seen COMPLETED, the transcript lands at the job's output key.
"""

from __future__ import annotations

import io
import json
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.transcribe.models import transcribe_backends

from assistant.adapters.aws import client
from assistant.adapters.transcription import (
    TRANSCRIBE_LANGUAGES,
    AmazonTranscribeTranscriber,
    SageMakerWhisperTranscriber,
)
from assistant.errors import RejectedByService, RetryableError, UnusableAudio
from assistant.fakes import FixedClock, RecordingMetrics
from assistant.ports import media_prefix

REGION = "us-east-1"
BUCKET = "event-assistant-media"
JOB = "vn-0f3a9c2e7b1d4e5f8a6b0c1d2e3f4a5b"
JOB_NAME = "event-assistant-" + JOB
SPOKEN = "¿Dónde es la charla de Ada?"


def make_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    """Silence, 16 kHz mono 16-bit PCM: the form the converter hands the transcribers."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return make_wav(tmp_path / "note.wav", 4)


# -- Amazon Transcribe on moto -------------------------------------------------------------------------------


class TranscribeService:
    """moto's Transcribe client, plus what the real service does and moto does not: the transcript is
    written to the output key when a job this wrapper started completes. Counts the jobs started."""

    def __init__(self, transcribe: Any, s3: Any, *, text: str | None = SPOKEN, fail: bool = False) -> None:
        self._client = transcribe
        self._s3 = s3
        self._text = text
        self._fail = fail
        self._pending: dict[str, tuple[str, str]] = {}
        self.started = 0
        self.start_calls = 0

    def start_transcription_job(self, **request: Any) -> Any:
        self.start_calls += 1
        response = self._client.start_transcription_job(**request)
        self.started += 1
        name = request["TranscriptionJobName"]
        if self._fail:
            backend = transcribe_backends[DEFAULT_ACCOUNT_ID][REGION]
            backend.transcriptions[name].status = "FAILED"
        elif self._text is not None:
            self._pending[name] = (request["OutputBucketName"], request["OutputKey"])
        return response

    def get_transcription_job(self, **request: Any) -> Any:
        response = self._client.get_transcription_job(**request)
        name = request["TranscriptionJobName"]
        if response["TranscriptionJob"]["TranscriptionJobStatus"] == "COMPLETED" and name in self._pending:
            bucket, key = self._pending.pop(name)
            self._s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(amazon_transcript(self._text or "")))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def amazon_transcript(text: str) -> dict[str, Any]:
    return {
        "jobName": JOB_NAME,
        "accountId": DEFAULT_ACCOUNT_ID,
        "status": "COMPLETED",
        "results": {"transcripts": [{"transcript": text}], "items": []},
    }


@dataclass
class AwsWorld:
    transcribe: Any
    s3: Any
    clock: FixedClock = field(default_factory=FixedClock)
    metrics: RecordingMetrics = field(default_factory=RecordingMetrics)

    def transcriber(
        self, service: Any, *, s3: Any = None, codes: tuple[str, ...] = ()
    ) -> AmazonTranscribeTranscriber:
        return AmazonTranscribeTranscriber(
            service,
            s3 or self.s3,
            BUCKET,
            language_codes=codes,
            clock=self.clock,
            poll_seconds=2.0,
            metrics=self.metrics,
        )

    def keys(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=media_prefix(JOB))
        return [item["Key"] for item in listed.get("Contents", [])]

    def jobs(self) -> list[str]:
        return [
            job["TranscriptionJobName"]
            for job in self.transcribe.list_transcription_jobs()["TranscriptionJobSummaries"]
        ]


@pytest.fixture
def aws() -> Iterator[AwsWorld]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield AwsWorld(boto3.client("transcribe", region_name=REGION), s3)


@pytest.mark.parametrize(
    ("languages", "codes", "expected"),
    [
        (("es",), (), {"LanguageCode": "es-ES"}),
        (("en", "es"), (), {"IdentifyLanguage": True, "LanguageOptions": ["en-US", "es-ES"]}),
        (("en", "es"), ("en-GB",), {"LanguageCode": "en-GB"}),
        (("es",), ("es-ES", "es-US"), {"IdentifyLanguage": True, "LanguageOptions": ["es-ES", "es-US"]}),
    ],
)
def test_one_language_is_forced_and_several_are_identified(
    aws: AwsWorld, wav: Path, languages: tuple[str, ...], codes: tuple[str, ...], expected: dict[str, Any]
) -> None:
    transcriber = aws.transcriber(TranscribeService(aws.transcribe, aws.s3), codes=codes)
    # A deadline that ends the call after the start leaves the job for us to look at.
    with pytest.raises(RetryableError):
        transcriber.transcribe(wav, job=JOB, languages=languages, deadline=aws.clock.now() + 1)

    job = aws.transcribe.get_transcription_job(TranscriptionJobName=JOB_NAME)["TranscriptionJob"]
    assert job["Media"] == {"MediaFileUri": f"s3://{BUCKET}/{media_prefix(JOB)}audio.wav"}
    assert job["MediaFormat"] == "wav"
    assert job["MediaSampleRateHertz"] == 16000
    for key, value in expected.items():
        assert job[key] == value
    if "LanguageCode" in expected:
        assert not job.get("IdentifyLanguage")
    uploaded = aws.s3.get_object(Bucket=BUCKET, Key=media_prefix(JOB) + "audio.wav")["Body"].read()
    assert uploaded == wav.read_bytes()


def test_every_served_language_has_an_amazon_transcribe_code() -> None:
    assert set(TRANSCRIBE_LANGUAGES) == {"en", "es", "pt", "fr", "de", "tr", "ar"}
    assert all(code.startswith(iso + "-") for iso, code in TRANSCRIBE_LANGUAGES.items())


def test_transcript_is_returned_and_nothing_is_left_behind(aws: AwsWorld, wav: Path) -> None:
    service = TranscribeService(aws.transcribe, aws.s3)
    start = aws.clock.now()

    transcript = aws.transcriber(service).transcribe(wav, job=JOB, languages=("es", "en"))

    assert transcript.text == SPOKEN
    assert transcript.language == "es"  # moto "identifies" the first option
    assert service.started == 1
    assert aws.clock.now() - start == 6.0  # three polls: QUEUED, IN_PROGRESS, COMPLETED
    assert aws.keys() == []
    assert aws.jobs() == []
    assert aws.metrics.counts == {"TranscribeJobStarted": 1}


def test_retry_after_a_crash_while_polling_carries_on_with_the_same_job(aws: AwsWorld, wav: Path) -> None:
    service = TranscribeService(aws.transcribe, aws.s3)
    with pytest.raises(RetryableError):
        aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",), deadline=aws.clock.now() + 3)
    assert aws.jobs() == [JOB_NAME]  # still running: the retry finds it

    transcript = aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",))

    assert transcript.text == SPOKEN
    assert transcript.language == "es"
    assert service.started == 1
    assert service.start_calls == 2  # the second was refused with ConflictException
    assert aws.metrics.counts["TranscribeJobResumed"] == 1
    assert aws.keys() == []
    assert aws.jobs() == []


def test_a_completed_job_whose_transcript_is_gone_is_started_again_once(aws: AwsWorld, wav: Path) -> None:
    # An earlier attempt started the job, read and deleted its transcript and audio, and died.
    aws.transcribe.start_transcription_job(
        TranscriptionJobName=JOB_NAME,
        Media={"MediaFileUri": f"s3://{BUCKET}/{media_prefix(JOB)}audio.wav"},
        MediaFormat="wav",
        LanguageCode="es-ES",
        OutputBucketName=BUCKET,
        OutputKey=media_prefix(JOB) + "transcript.json",
    )
    for _ in range(3):
        aws.transcribe.get_transcription_job(TranscriptionJobName=JOB_NAME)
    service = TranscribeService(aws.transcribe, aws.s3)

    transcript = aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",))

    assert transcript.text == SPOKEN
    assert service.started == 1
    assert aws.metrics.counts["TranscribeJobRestarted"] == 1
    assert aws.keys() == []
    assert aws.jobs() == []


def test_a_restarted_job_that_leaves_no_transcript_again_is_not_restarted_twice(
    aws: AwsWorld, wav: Path
) -> None:
    service = TranscribeService(aws.transcribe, aws.s3, text=None)

    with pytest.raises(RetryableError):
        aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",))

    assert service.started == 2
    assert aws.metrics.counts["TranscribeJobRestarted"] == 1


def test_a_start_whose_answer_was_lost_is_looked_up_not_repeated(aws: AwsWorld, wav: Path) -> None:
    class LostAnswer(TranscribeService):
        def start_transcription_job(self, **request: Any) -> Any:
            first = self.start_calls == 0
            response = super().start_transcription_job(**request)
            if first:
                raise ReadTimeoutError(endpoint_url="https://transcribe.us-east-1.amazonaws.com/")
            return response

    service = LostAnswer(aws.transcribe, aws.s3)

    transcript = aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",))

    assert transcript.text == SPOKEN
    assert service.start_calls == 1
    assert aws.metrics.counts["TranscribeJobResumed"] == 1
    assert aws.jobs() == []


def test_a_failed_job_is_unreadable_audio_and_is_cleaned_up(aws: AwsWorld, wav: Path) -> None:
    service = TranscribeService(aws.transcribe, aws.s3, fail=True)

    with pytest.raises(UnusableAudio) as raised:
        aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",))

    assert raised.value.reason == "unreadable"
    assert aws.keys() == []
    assert aws.jobs() == []


def test_an_empty_transcript_is_empty_text(aws: AwsWorld, wav: Path) -> None:
    service = TranscribeService(aws.transcribe, aws.s3, text="")

    transcript = aws.transcriber(service).transcribe(wav, job=JOB, languages=("en",))

    assert transcript.text == ""
    assert transcript.language == "en"


def test_a_clean_up_that_fails_is_logged_without_personal_data_and_not_raised(
    aws: AwsWorld, wav: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    class NoDeletes:
        def __init__(self, s3: Any) -> None:
            self._s3 = s3

        def delete_object(self, **request: Any) -> Any:
            error = {"Error": {"Code": "AccessDenied", "Message": f"denied: {request['Key']}"}}
            raise ClientError(error, "DeleteObject")

        def __getattr__(self, name: str) -> Any:
            return getattr(self._s3, name)

    service = TranscribeService(aws.transcribe, aws.s3)

    transcript = aws.transcriber(service, s3=NoDeletes(aws.s3)).transcribe(wav, job=JOB, languages=("es",))

    assert transcript.text == SPOKEN
    assert aws.metrics.counts["TranscribeCleanupFailed object"] == 2
    assert aws.jobs() == []  # the job is still deleted
    assert [getattr(record, "error", None) for record in caplog.records] == ["AccessDenied", "AccessDenied"]
    logged = caplog.text + "".join(capsys.readouterr()) + "".join(str(vars(r)) for r in caplog.records)
    assert SPOKEN not in logged and JOB not in logged


def test_no_time_left_starts_nothing(aws: AwsWorld, wav: Path) -> None:
    service = TranscribeService(aws.transcribe, aws.s3)

    with pytest.raises(RetryableError):
        aws.transcriber(service).transcribe(wav, job=JOB, languages=("es",), deadline=aws.clock.now())

    assert service.start_calls == 0
    assert aws.keys() == []


def test_a_throttled_start_is_retryable(aws: AwsWorld, wav: Path) -> None:
    class Throttled(TranscribeService):
        def start_transcription_job(self, **request: Any) -> Any:
            error = {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}
            raise ClientError(error, "StartTranscriptionJob")

    with pytest.raises(RetryableError):
        aws.transcriber(Throttled(aws.transcribe, aws.s3)).transcribe(wav, job=JOB, languages=("es",))
    assert aws.jobs() == []


# -- Whisper on a local SageMaker endpoint -------------------------------------------------------------------


@dataclass
class Reply:
    body: bytes
    status: int = 200
    error: str | None = None


@dataclass
class Invocation:
    path: str
    content_type: str
    payload: dict[str, Any]


class WhisperEndpoint:
    """``POST /endpoints/<name>/invocations`` on a local port: records each request and answers from a
    script (the last reply repeats). ``on_request`` runs before each answer (a test moves its clock)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies) or [Reply(json.dumps({"text": "hola"}).encode())]
        self.invocations: list[Invocation] = []
        self.on_request: Any = None
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.invocations.append(
                    Invocation(self.path, str(self.headers.get("Content-Type")), json.loads(raw))
                )
                if endpoint.on_request is not None:
                    endpoint.on_request()
                reply = endpoint.replies.pop(0) if len(endpoint.replies) > 1 else endpoint.replies[0]
                self.send_response(reply.status)
                if reply.error:
                    self.send_header("x-amzn-ErrorType", reply.error)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02})
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def whisper(endpoint: WhisperEndpoint, clock: FixedClock | None = None) -> SageMakerWhisperTranscriber:
    runtime = client("sagemaker-runtime", attempts=1, region_name=REGION, endpoint_url=endpoint.url)
    return SageMakerWhisperTranscriber(runtime, "whisper-large-v3", clock=clock)


@pytest.fixture
def endpoint() -> Iterator[WhisperEndpoint]:
    running = WhisperEndpoint()
    yield running
    running.close()


def text_reply(payload: Any) -> Reply:
    return Reply(json.dumps(payload).encode())


def test_whisper_gets_each_30_seconds_as_a_complete_wav(endpoint: WhisperEndpoint, tmp_path: Path) -> None:
    audio = make_wav(tmp_path / "long.wav", 70)
    endpoint.replies = [
        text_reply({"text": " hola "}),
        text_reply({"text": ""}),
        text_reply({"text": "adiós"}),
    ]

    transcript = whisper(endpoint).transcribe(audio, job=JOB, languages=("es",))

    assert transcript.text == "hola adiós"
    assert transcript.language == "es"
    assert len(endpoint.invocations) == 3
    frames = []
    for invocation in endpoint.invocations:
        assert invocation.path == "/endpoints/whisper-large-v3/invocations"
        assert invocation.content_type == "application/json"
        assert invocation.payload["task"] == "transcribe"
        assert invocation.payload["language"] == "es"
        with wave.open(io.BytesIO(bytes.fromhex(invocation.payload["audio_input"]))) as chunk:
            assert (chunk.getnchannels(), chunk.getsampwidth(), chunk.getframerate()) == (1, 2, 16000)
            frames.append(chunk.getnframes())
            assert len(chunk.readframes(chunk.getnframes())) == 2 * chunk.getnframes()
    assert frames == [30 * 16000, 30 * 16000, 10 * 16000]


def test_whisper_is_not_told_the_language_when_the_event_serves_several(
    endpoint: WhisperEndpoint, wav: Path
) -> None:
    transcript = whisper(endpoint).transcribe(wav, job=JOB, languages=("en", "es"))

    assert transcript.text == "hola"
    assert transcript.language is None  # the caller detects it from the text
    assert "language" not in endpoint.invocations[0].payload


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        ({"text": "where is room B"}, "where is room B"),
        ({"text": ["where is", " room B "]}, "where is room B"),
        ([{"generated_text": " where is room B"}], "where is room B"),
        ({"text": "   "}, ""),
    ],
)
def test_whisper_answers_in_each_container_shape_are_read(
    endpoint: WhisperEndpoint, wav: Path, payload: Any, text: str
) -> None:
    endpoint.replies = [text_reply(payload)]

    assert whisper(endpoint).transcribe(wav, job=JOB, languages=("en",)).text == text


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b"[]", b'{"text": 3}', b'[{"label": "x"}]', b'"hola"', b'{"text": ["a", null]}'],
)
def test_a_malformed_whisper_answer_is_rejected(endpoint: WhisperEndpoint, wav: Path, body: bytes) -> None:
    endpoint.replies = [Reply(body)]

    with pytest.raises(RejectedByService) as raised:
        whisper(endpoint).transcribe(wav, job=JOB, languages=("en",))

    assert raised.value.code == "UnexpectedResponse"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(b'{"message": "slow down"}', 400, "ThrottlingException"), RetryableError),
        (Reply(b'{"message": "busy"}', 503, "ServiceUnavailable"), RetryableError),
        (Reply(b'{"Message": "model failed"}', 424, "ModelError"), RejectedByService),
        (Reply(b'{"message": "no such endpoint"}', 400, "ValidationError"), RejectedByService),
    ],
)
def test_whisper_errors_are_translated(
    endpoint: WhisperEndpoint, wav: Path, reply: Reply, error: type[Exception]
) -> None:
    endpoint.replies = [reply]

    with pytest.raises(error) as raised:
        whisper(endpoint).transcribe(wav, job=JOB, languages=("en",))

    if isinstance(raised.value, RejectedByService):
        assert raised.value.code == reply.error


def test_whisper_starts_no_chunk_past_the_deadline(endpoint: WhisperEndpoint, tmp_path: Path) -> None:
    clock = FixedClock()
    endpoint.on_request = lambda: clock.advance(20)
    audio = make_wav(tmp_path / "long.wav", 70)

    with pytest.raises(RetryableError):
        whisper(endpoint, clock).transcribe(audio, job=JOB, languages=("en",), deadline=clock.now() + 30)

    assert len(endpoint.invocations) == 2


def test_what_is_not_a_wav_file_is_unreadable(endpoint: WhisperEndpoint, tmp_path: Path) -> None:
    audio = tmp_path / "note.wav"
    audio.write_bytes(b"OggS" + bytes(100))

    with pytest.raises(UnusableAudio) as raised:
        whisper(endpoint).transcribe(audio, job=JOB, languages=("en",))

    assert raised.value.reason == "unreadable"
    assert endpoint.invocations == []


def test_an_empty_wav_is_empty_text_without_a_call(endpoint: WhisperEndpoint, tmp_path: Path) -> None:
    audio = make_wav(tmp_path / "empty.wav", 0)

    assert whisper(endpoint).transcribe(audio, job=JOB, languages=("en",)).text == ""
    assert endpoint.invocations == []
