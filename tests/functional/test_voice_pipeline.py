"""Voice notes through the local pipeline: the Lambda code, moto's S3, the socialmessaging stand-in's
GetWhatsAppMessageMedia, a real ffmpeg and the local faster-whisper model."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.local import faults
from assistant.local.envelopes import voice_envelope
from assistant.local.runtime import LocalCloud
from assistant.services import replies

VOICE = Path(__file__).resolve().parents[1] / "fixtures" / "voice"
ANSWER_VISIBILITY = 720  # template.yaml: AnswerQueue
SENDER = "15550100123"


def run(cloud: LocalCloud, envelope: dict[str, Any]) -> list[str]:
    """The bodies of the texts sent for ``envelope``."""
    before = len(cloud.social.calls)
    cloud.publish_inbound(json.dumps(envelope))
    cloud.drain()
    return [
        c["message"]["text"]["body"]
        for c in cloud.social.calls[before:]
        if c["message"].get("type") == "text"
    ]


def leftovers() -> list[Path]:
    """Voice-note folders left in temporary storage (named ``vn-<message key>``)."""
    return sorted(Path(tempfile.gettempdir()).glob("vn-*"))


@pytest.fixture
def voice_cloud(cloud: LocalCloud, local_transcriber: Any, monkeypatch: pytest.MonkeyPatch) -> LocalCloud:
    """The twin, with the session's loaded model (the answer function would load its own at first use)."""
    from assistant.local import speech

    monkeypatch.setattr(speech, "LocalWhisperTranscriber", lambda *a, **k: local_transcriber)
    from assistant import bootstrap

    bootstrap.answer_service.cache_clear()
    return cloud


def test_a_voice_note_is_heard_and_answered_from_the_knowledge_and_nothing_stays(
    voice_cloud: LocalCloud,
) -> None:
    voice_cloud.social.add_media("note-1", VOICE / "keynote-en.ogg")
    (body,) = run(voice_cloud, voice_envelope("note-1", sender=SENDER))
    heard, _, answer = body.partition("\n\n")
    assert heard.startswith('🎤 "') and "keynote" in heard.lower().replace(" ", "")
    assert "Auditorium A" in answer
    reads = [c["message"] for c in voice_cloud.social.calls if c["message"].get("status") == "read"]
    assert reads and "typing_indicator" in reads[0]  # before the slow work
    assert voice_cloud.social.media_fetched == ["note-1"]
    assert voice_cloud.media_objects() == []
    assert leftovers() == []
    assert voice_cloud.metrics["VoiceTranscribed"] + voice_cloud.metrics["VoiceTranscribed en"] >= 1


def test_a_spanish_voice_note_is_answered_in_spanish(voice_cloud: LocalCloud) -> None:
    voice_cloud.social.add_media("note-es", VOICE / "prayer-es.ogg")
    (body,) = run(voice_cloud, voice_envelope("note-es", sender=SENDER))
    heard, _, answer = body.partition("\n\n")
    assert heard.startswith('🎤 "')
    assert "Fuentes" in answer or "documentos" in answer  # framed in Spanish around the English quote
    assert voice_cloud.media_objects() == []


def test_audio_that_is_not_audio_gets_the_polite_reply_and_is_deleted(
    voice_cloud: LocalCloud, tmp_path: Path
) -> None:
    fake = tmp_path / "not-audio.ogg"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)
    voice_cloud.social.add_media("note-bad", fake)
    (body,) = run(voice_cloud, voice_envelope("note-bad", sender=SENDER))
    assert body == replies.say("audio_unreadable", "en")
    assert voice_cloud.media_objects() == []
    assert leftovers() == []


def test_a_crash_in_the_middle_of_transcription_is_answered_once_after_the_retry(
    voice_cloud: LocalCloud, local_transcriber: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = local_transcriber.transcribe
    calls: list[str] = []

    def dies_once(audio: Path, **kwargs: Any) -> Any:
        calls.append(kwargs["job"])
        if len(calls) == 1:
            raise faults.SimulatedCrash("the process died while transcribing")
        return real(audio, **kwargs)

    monkeypatch.setattr(local_transcriber, "transcribe", dies_once)
    voice_cloud.social.add_media("note-2", VOICE / "keynote-en.ogg")
    bodies = run(voice_cloud, voice_envelope("note-2", sender=SENDER))
    assert len(bodies) == 1 and "Auditorium A" in bodies[0]
    assert len(calls) == 2 and calls[0] == calls[1]  # the same job, after the visibility timeout
    assert voice_cloud.social.media_fetched == ["note-2", "note-2"]  # fetched again, to the same key
    assert voice_cloud.media_objects() == []  # the crashed attempt's copy is gone too
    assert leftovers() == []


def test_replay_with_a_media_directory_answers_the_voice_note(seeded_home: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(VOICE / "keynote-en.ogg", media / "1234567890.ogg")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(voice_envelope("1234567890", sender=SENDER)) + "\n")
    out = tmp_path / "out.jsonl"
    assert (
        main(["replay", str(events), "--out", str(out), "--home", str(seeded_home), "--media", str(media)])
        == 0
    )
    texts = [json.loads(line)["message"] for line in out.read_text().splitlines()]
    bodies = [m["text"]["body"] for m in texts if m.get("type") == "text"]
    assert len(bodies) == 1 and bodies[0].startswith('🎤 "') and "Auditorium A" in bodies[0]
    assert (media / "1234567890.ogg").exists()  # WhatsApp's copy is not ours to delete
    assert leftovers() == []
