"""Word error rate and speed of the local transcriber on the synthetic voice notes.

python benchmarks/voice/wer.py                      # notes.jsonl and the two test fixtures
python benchmarks/voice/wer.py --languages en,es    # the event's languages, for detection

Each note goes the way a voice note goes in the answer stage: ffmpeg to a 16 kHz WAV, then
``LocalWhisperTranscriber``, twice: with the note's language forced (an event with one language) and with
it detected among ``--languages``. Texts are compared lower-cased, without punctuation, hyphens joined
("wi-fi" is "wifi"); accents count ("oracion" for "oración" is an error). The notes are espeak-ng speaking
(``make_notes.py``): robotic, clean, and not what people sound like in a hallway.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import unicodedata
from pathlib import Path

from assistant.adapters.audio import FfmpegConverter, find_ffmpeg
from assistant.local.speech import LocalWhisperTranscriber

HERE = Path(__file__).resolve().parent
FIXTURES = (
    ("../../tests/fixtures/voice/keynote-en.ogg", "en", "Where is the opening keynote?"),
    ("../../tests/fixtures/voice/prayer-es.ogg", "es", "¿Dónde está la sala de oración?"),
)


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text).lower().replace("-", "")
    return re.sub(r"[^\w\s']", " ", text).split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref != hyp))
    return row[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="en,es,pt,fr", help="the event's languages (for detection)")
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))
    notes = list(FIXTURES)
    for line in (HERE / "notes.jsonl").read_text(encoding="utf-8").splitlines():
        note = json.loads(line)
        notes.append((note["file"], note["language"], note["reference"]))

    converter = FfmpegConverter(find_ffmpeg())
    transcriber = LocalWhisperTranscriber()
    transcriber.warm()
    print(f"model: assemble {transcriber.assemble_seconds:.2f}s, load {transcriber.load_seconds:.2f}s")
    # (errors, words) per language, forced and detected
    scores: dict[str, list[int]] = {}
    audio_seconds = convert_seconds = detect_seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for file, language, reference in notes:
            wav = Path(tmp) / "note.wav"
            started = time.perf_counter()
            seconds = converter.to_wav(HERE / file, wav, max_seconds=120)
            converted = time.perf_counter() - started
            audio_seconds += seconds
            convert_seconds += converted
            expected = words(reference)
            counts = scores.setdefault(language, [0, 0, 0])
            counts[2] += len(expected)
            line = f"{Path(file).name:18} {seconds:3.1f}s convert {converted * 1000:3.0f}ms"
            for column, allowed in enumerate(((language,), languages)):
                heard = transcriber.transcribe(wav, job="bench", languages=allowed)
                timings = transcriber.last_timings
                assert timings is not None
                wrong = edit_distance(expected, words(heard.text))
                counts[column] += wrong
                if column == 1:
                    detect_seconds += timings.total
                mode = "forced" if column == 0 else f"detected {heard.language}"
                line += f" | {mode} {timings.total:.2f}s {wrong}/{len(expected)} {heard.text!r}"
            print(line)
    print(
        f"per second of audio ({audio_seconds:.0f} s in {len(notes)} notes): ffmpeg to 16 kHz WAV "
        f"{convert_seconds / audio_seconds * 1000:.1f} ms, transcription with the language detected "
        f"{detect_seconds / audio_seconds:.2f} s"
    )
    for language, (forced, detected, count) in scores.items():
        print(f"WER {language}: forced {forced / count:.0%}, detected {detected / count:.0%} ({count} words)")
    forced, detected, count = (sum(column) for column in zip(*scores.values(), strict=True))
    print(f"WER all: forced {forced / count:.0%}, detected {detected / count:.0%} ({count} words)")


if __name__ == "__main__":
    main()
