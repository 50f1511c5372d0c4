"""Voice notes with fakes: heard, answered as if typed, refused politely, and nothing left behind.

The real ffmpeg, faster-whisper and the AWS engines are in tests/functional.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assistant import bootstrap
from assistant.errors import RetryableError, UnusableAudio
from assistant.fakes import FakeMediaSource, InMemoryMediaBucket, ScriptedConverter, ScriptedTranscriber
from assistant.local.envelopes import voice_envelope
from assistant.models.envelope import parse_envelope
from assistant.ports import ProcessedMessage, Recipient, media_prefix
from assistant.services import replies
from assistant.services.voice import VoiceNotes, VoicePolicy, accepts, job_of
from tests.worlds import World

OGG = b"OggS" + b"\x00" * 200
ANSWER_VISIBILITY_SECONDS = 720


class VoiceWorld(World):
    def __init__(self, tmp_path: Path, *, answer: str = "In Auditorium A at 09:00.", **changes: Any) -> None:
        super().__init__(answer=answer, transcriber="local", **changes)
        self.bucket = InMemoryMediaBucket()
        self.media = FakeMediaSource(self.bucket, media={"m-1": (OGG, "ogg")})
        self.converter = ScriptedConverter()
        self.transcriber = ScriptedTranscriber()
        self.workdir = tmp_path / "work"
        self.voice = VoiceNotes(
            media=self.media,
            bucket=self.bucket,
            converter=self.converter,
            transcriber=self.transcriber,
            metrics=self.metrics,
            clock=self.clock,
            policy=VoicePolicy(
                max_seconds=120, max_bytes=16 * 1024 * 1024, languages=self.settings.languages
            ),
            workdir=self.workdir,
        )
        core = bootstrap.build_core(
            self.settings, clock=self.clock, store=self.store, messenger=self.messenger, metrics=self.metrics
        )
        self.answer = bootstrap.build_answer(core, engine=self.engine, voice=self.voice)

    def leftovers(self) -> list[str]:
        files = [str(p) for p in self.workdir.rglob("*")] if self.workdir.exists() else []
        return sorted(self.bucket.objects) + files


def voice_question(key: str = "m1", media_id: str | None = "m-1") -> ProcessedMessage:
    return ProcessedMessage(
        message_key=key,
        user_key="u1",
        kind="voice",
        text="",
        message_id=f"wamid.{key}",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-abc",
        meta_phone_number_id="123",
        received_at=1,
        media_id=media_id,
        mime_type="audio/ogg; codecs=opus",
    )


def test_a_voice_note_is_answered_as_typed_after_showing_what_was_heard(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    world.admit()
    assert world.answer.handle(voice_question()) == "answered"
    (reply,) = world.messenger.texts
    assert reply["body"] == '🎤 "where is the opening keynote?"\n\nIn Auditorium A at 09:00.'
    assert reply["quote"] == "wamid.m1"
    assert world.transcriber.jobs == [job_of("m1")]
    assert world.leftovers() == []  # nothing in the bucket, nothing on disk
    assert world.store.holder("u1") is None
    assert world.metrics.counts["VoiceTranscribed en"] == 1
    assert world.metrics.measures["AudioDuration"] == [3.0]
    assert "TranscriptionTime" in world.metrics.measures


def test_the_language_heard_is_the_language_of_the_reply(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    world.transcriber.text, world.transcriber.language = "hola", "es"
    world.admit()
    world.answer.handle(voice_question())
    (reply,) = world.messenger.texts
    assert reply["body"].startswith('🎤 "hola"')
    assert replies.say("greeting", "es") in reply["body"]  # small talk, in Spanish


@pytest.mark.parametrize(
    ("setup", "reply_key"),
    [
        (lambda w: setattr(w.media, "reported_size", 17 * 1024 * 1024), "audio_too_big"),
        (lambda w: setattr(w.converter, "seconds", 300.0), "audio_too_long"),
        (lambda w: w.media.media.update({"m-1": (b"\x89PNG not audio", "ogg")}), "audio_unreadable"),
        (lambda w: w.media.media.update({"m-1": (b"", "ogg")}), "audio_unclear"),
        (lambda w: setattr(w.converter, "seconds", 0.1), "audio_unclear"),
        (lambda w: setattr(w.transcriber, "text", "  ...  "), "audio_unclear"),
    ],
    ids=["too-big", "too-long", "mislabelled", "empty", "too-short", "nothing-intelligible"],
)
def test_audio_that_cannot_be_heard_gets_one_polite_reply_and_nothing_stays(
    tmp_path: Path, setup: Any, reply_key: str
) -> None:
    world = VoiceWorld(tmp_path)
    setup(world)
    world.admit()
    assert world.answer.handle(voice_question()) == "answered"
    (reply,) = world.messenger.texts
    assert reply["body"] == replies.say(reply_key, "en", limit=120)
    assert world.engine.asked == []  # no knowledge-base answer for what was not heard
    assert world.leftovers() == []
    assert world.store.holder("u1") is None


def test_a_crash_in_the_middle_of_transcription_is_retried_with_the_same_job_and_no_second_copy(
    tmp_path: Path,
) -> None:
    world = VoiceWorld(tmp_path)
    world.transcriber.fail_with = [RetryableError("transcribe: deadline")]
    world.admit()
    with pytest.raises(RetryableError):
        world.answer.handle(voice_question())
    assert world.messenger.texts == []
    assert world.leftovers() == []  # cleaned even though it failed
    world.clock.advance(ANSWER_VISIBILITY_SECONDS)
    assert world.answer.handle(voice_question()) == "answered"
    assert world.transcriber.jobs == [job_of("m1"), job_of("m1")]  # the same job: the engine finds it
    assert world.media.fetched == [f"{media_prefix(job_of('m1'))}m-1.ogg"] * 2  # the same key, overwritten
    assert len(world.messenger.texts) == 1
    assert world.leftovers() == []


def test_files_left_by_a_crashed_attempt_in_the_same_environment_are_cleared(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    stale = world.workdir / job_of("m1")
    stale.mkdir(parents=True)
    (stale / "note.audio").write_bytes(b"old")
    world.admit()
    world.answer.handle(voice_question())
    assert world.leftovers() == []


def test_a_failed_cleanup_is_counted_and_does_not_fail_the_answer(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    world.bucket.fail_deletes = 5
    world.admit()
    assert world.answer.handle(voice_question()) == "answered"
    assert world.metrics.counts["MediaCleanupFailed"] >= 1
    assert len(world.messenger.texts) == 1


def test_voice_notes_switched_off_in_the_answer_stage_get_the_text_only_reply(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    core = bootstrap.build_core(
        world.settings, clock=world.clock, store=world.store, messenger=world.messenger, metrics=world.metrics
    )
    world.answer = bootstrap.build_answer(core, engine=world.engine, voice=None)
    world.answer._voice = None  # build_answer builds one for TRANSCRIBER=local: take it away
    world.admit()
    world.answer.handle(voice_question())
    assert world.messenger.texts[0]["body"] == replies.say("unsupported", "en")


def test_a_voice_question_without_a_media_id_is_unreadable(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    with pytest.raises(UnusableAudio) as caught:
        world.voice.listen(voice_question(media_id=None))
    assert caught.value.reason == "unreadable"


# -- the inbound stage --------------------------------------------------------------------------------


def test_inbound_accepts_a_voice_note_and_publishes_its_media_not_its_bytes(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    assert world.handle(voice_envelope("m-1", sender="15550001111")) == ["accepted"]
    (event,) = world.publisher.events
    assert (event.kind, event.media_id, event.text) == ("voice", "m-1", "")
    assert event.mime_type == "audio/ogg; codecs=opus"
    assert [typing for _, typing in world.messenger.reads] == [True]  # read and typing before slow work


def test_inbound_refuses_audio_labelled_with_a_type_that_is_not_audio(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    envelope = voice_envelope("m-1", sender="15550001111", mime_type="image/jpeg")
    assert world.handle(envelope) == ["unreadable_audio"]
    assert world.messenger.texts[0]["body"] == replies.say("audio_unreadable", "en")
    assert world.publisher.events == []


def test_with_voice_off_a_voice_note_gets_the_text_only_reply(tmp_path: Path) -> None:
    world = World(transcriber="off")
    assert world.handle(voice_envelope("m-1", sender="15550001111")) == ["unsupported"]
    assert world.messenger.texts[0]["body"] == replies.say("unsupported", "en")


def test_with_voice_on_an_image_is_told_text_and_voice_work(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    envelope = voice_envelope("m-1", sender="15550001111")
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    message = entry["changes"][0]["value"]["messages"][0]
    message.pop("audio")
    message["type"] = "image"
    message["image"] = {"mime_type": "image/jpeg", "sha256": "x", "id": "i-1"}
    envelope["whatsAppWebhookEntry"] = json.dumps(entry)
    assert world.handle_envelope(parse_envelope(envelope)) == ["unsupported"]
    assert world.messenger.texts[0]["body"] == replies.say("unsupported_media", "en")


def test_the_processed_message_round_trips_with_its_media() -> None:
    from assistant.adapters.sns import decode, encode

    event = replace(voice_question(), media_id="m-9")
    assert decode(json.loads(encode(event))) == event


def test_accepted_audio_types() -> None:
    assert accepts("audio/ogg; codecs=opus")
    assert accepts("audio/mpeg")
    assert not accepts("image/jpeg")
    assert not accepts("")
    assert not accepts(None)


@pytest.mark.parametrize(
    ("code", "reply_key"),
    [("ResourceNotFoundException", "audio_unreadable"), ("AccessDeniedException", "apology")],
)
def test_media_that_cannot_be_had_is_unreadable_and_a_denied_fetch_is_the_operators_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, reply_key: str
) -> None:
    from assistant.errors import RejectedByService

    world = VoiceWorld(tmp_path)

    def refused(*args: object) -> None:
        raise RejectedByService("socialmessaging", code)

    monkeypatch.setattr(world.media, "fetch", refused)
    world.admit()
    world.answer.handle(voice_question())
    (reply,) = world.messenger.texts
    help_desk = replies.help_desk("", "en")
    assert reply["body"] == replies.say(reply_key, "en", help_desk=help_desk, limit=120)
    assert world.leftovers() == []


def test_a_transcription_outliving_its_deadline_keeps_what_the_job_writes_for_the_retry(
    tmp_path: Path,
) -> None:
    world = VoiceWorld(tmp_path)
    prefix = media_prefix(job_of("m1"))

    def job_still_running(*args: object, **kwargs: object) -> None:
        world.bucket.objects[prefix + "transcript.json"] = b"{}"  # the job goes on writing
        raise RetryableError("transcribe: the job outlives the deadline")

    world.transcriber.transcribe = job_still_running  # type: ignore[method-assign]
    world.admit()
    with pytest.raises(RetryableError):
        world.answer.handle(voice_question())
    assert list(world.bucket.objects) == [prefix + "transcript.json"]  # not deleted from under the job
    assert not (world.workdir / job_of("m1")).exists()  # local files are gone all the same
