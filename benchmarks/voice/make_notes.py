"""Regenerate the voice-note fixtures: synthetic attendee questions as WhatsApp-like Ogg/Opus files.

python benchmarks/voice/make_notes.py

WhatsApp voice notes are Opus in Ogg, mono; these are spoken by espeak-ng (``/usr/bin/espeak-ng``) and
encoded by the ffmpeg that ``find_ffmpeg`` picks (imageio-ffmpeg's static build has libopus) at 24 kbit/s in
VoIP mode, so each is a few kilobytes. The output is reproducible (bit-exact muxing, no metadata):
regenerating changes no committed byte unless espeak-ng or ffmpeg changed.

Two go to ``tests/fixtures/voice/`` (the functional tests hear them); the rest are the word-error-rate set,
``benchmarks/voice/notes/*.ogg``, listed with their language and reference text in ``notes.jsonl``
(``wer.py`` scores the local transcriber on them). The espeak voices and speeds were chosen so that
Whisper base hears the two test fixtures right; the rest were not tuned one by one.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.adapters.audio import find_ffmpeg

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "voice"
BENCH = ROOT / "benchmarks" / "voice"
ESPEAK = "/usr/bin/espeak-ng"
PADDING = "adelay=400:all=1,apad=pad_dur=0.5"
"""A little silence before and after, as a note recorded by holding a button has."""


@dataclass(frozen=True)
class Note:
    path: Path
    language: str
    text: str
    voice: str
    speed: int
    """espeak-ng words per minute (its default is 175: slower is clearer)."""


VOICES = {"en": ("en-us+m1", 135), "es": ("es-419+klatt4", 115), "pt": ("pt-br", 120), "fr": ("fr-fr", 120)}
"""One espeak-ng voice and speed per language: for English and Spanish, those Whisper base heard best on the
two test fixtures (out of about thirty tried), used as they are for the rest."""


def note(path: Path, language: str, text: str) -> Note:
    voice, speed = VOICES[language]
    return Note(path, language, text, voice, speed)


FIXTURE_NOTES = (
    note(FIXTURES / "keynote-en.ogg", "en", "Where is the opening keynote?"),
    note(FIXTURES / "prayer-es.ogg", "es", "¿Dónde está la sala de oración?"),
)

NOTES = BENCH / "notes"
WER_NOTES = (
    note(NOTES / "en-wifi.ogg", "en", "What is the wifi password?"),
    note(NOTES / "en-lunch.ogg", "en", "When does lunch start?"),
    note(NOTES / "en-parking.ogg", "en", "Where can I park my car?"),
    note(NOTES / "en-badge.ogg", "en", "I lost my badge, what should I do?"),
    note(NOTES / "en-slides.ogg", "en", "Will the slides be shared after the talk?"),
    note(NOTES / "en-room.ogg", "en", "Which room is the security workshop in?"),
    note(NOTES / "es-parking.ogg", "es", "¿Cuánto cuesta el aparcamiento?"),
    note(NOTES / "es-lunch.ogg", "es", "¿A qué hora empieza la comida?"),
    note(NOTES / "es-wifi.ogg", "es", "¿Cuál es la contraseña del wifi?"),
    note(NOTES / "es-toilets.ogg", "es", "¿Dónde están los baños?"),
    note(NOTES / "es-keynote.ogg", "es", "¿Quién da la conferencia inaugural?"),
    note(NOTES / "es-badge.ogg", "es", "He perdido mi acreditación."),
    note(NOTES / "pt-coffee.ogg", "pt", "Onde fica o café?"),
    note(NOTES / "fr-schedule.ogg", "fr", "À quelle heure commence la première session?"),
    note(NOTES / "fr-cloakroom.ogg", "fr", "Où est le vestiaire?"),
)


def speak(note: Note, ffmpeg: str) -> None:
    """espeak-ng to a WAV, then ffmpeg to 48 kHz mono Opus in Ogg, padded with silence, bit-exact (a fixed
    stream serial number, no encoder tag)."""
    note.path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(
            [ESPEAK, "-v", note.voice, "-s", str(note.speed), "-w", str(wav), note.text], check=True
        )
        subprocess.run(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
             "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-af", PADDING,
             "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "24k", "-application", "voip",
             str(note.path)],
            check=True,
        )  # fmt: skip


def main() -> None:
    ffmpeg = find_ffmpeg()
    for note in FIXTURE_NOTES + WER_NOTES:
        speak(note, ffmpeg)
        print(f"{note.path.relative_to(ROOT)}  {note.path.stat().st_size} bytes")
    lines = [
        json.dumps(
            {"file": str(n.path.relative_to(BENCH)), "language": n.language, "reference": n.text},
            ensure_ascii=False,
        )
        for n in WER_NOTES
    ]
    (BENCH / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
