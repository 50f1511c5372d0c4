"""ffmpeg: voice notes (Opus in Ogg, AAC, AMR, MP3...) to the 16 kHz mono 16-bit WAV that speech engines read.

The command line is built with ffmpeg-python and run as a subprocess with a timeout. Choices, and why:

- The WAV is written to a file, never to a pipe: ffmpeg cannot seek back on a pipe to fill in the header's
  sizes, and some readers then see a zero-length or endless stream.
- Output stops after ``max_seconds + 1``: ffmpeg decodes no further, so an hour-long "note" costs about as
  much as a note just over the limit, and the caller still learns it was too long (the result is over
  ``max_seconds``).
- Only the demuxers of audio formats are allowed (``-format_whitelist``) and only local files
  (``-protocol_whitelist``): a file is whatever its bytes say, and a playlist or concat script disguised as
  ``.ogg`` must not make ffmpeg open other files or URLs.
- Reasons, as ``UnusableAudio`` tells the user: ffmpeg failing, timing out or finding no audio stream is
  ``unreadable`` (corrupted, mislabelled, not audio). ffmpeg succeeding but writing under 0.1 s of audio is
  ``silent``: the container was sound and simply held (next to) nothing, which is an empty recording, and
  "I could not hear anything" is the truer reply.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import wave
from pathlib import Path

import ffmpeg  # type: ignore[import-untyped]

from assistant.errors import UnusableAudio

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MIN_SECONDS = 0.1
"""Less audio than this is an empty recording (an Opus packet alone is 20 ms)."""

LAYER_FFMPEG = Path("/opt/bin/ffmpeg")
"""Where the ffmpeg Lambda layer (layers/ffmpeg) puts the binary."""

ALLOWED_DEMUXERS = "ogg,matroska,mov,mp3,aac,amr,wav,flac"
"""Formats WhatsApp sends audio in (audio/ogg, audio/aac, audio/amr, audio/mpeg, audio/mp4), plus WebM, WAV
and FLAC. ffmpeg matches each name against every alias of a demuxer: "mov" admits mp4, m4a and 3gp."""


class FfmpegMissing(FileNotFoundError):
    """No usable ffmpeg binary: the message says where it was looked for, never a user's path."""


def find_ffmpeg(configured: str = "") -> str:
    """The ffmpeg binary to run: ``configured`` (FFMPEG_PATH) when set, else the Lambda layer's, else the
    first on PATH, else the static build that the imageio-ffmpeg package ships (the local default).

    A configured path that is not an executable file is an error rather than a reason to fall back: a typo
    in the configuration should fail loudly at start, not run some other ffmpeg."""
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        raise FfmpegMissing("FFMPEG_PATH does not name an executable file")
    if LAYER_FFMPEG.is_file() and os.access(LAYER_FFMPEG, os.X_OK):
        return str(LAYER_FFMPEG)
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]
    except ImportError as exc:
        raise FfmpegMissing(
            "no ffmpeg found: not configured (FFMPEG_PATH), not in the Lambda layer (/opt/bin), not on PATH,"
            " and the imageio-ffmpeg package is not installed (pip install imageio-ffmpeg, or the project's"
            " [local] extra)"
        ) from exc
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # the package is installed without a binary for this platform
        raise FfmpegMissing("imageio-ffmpeg has no ffmpeg binary for this platform") from exc


class FfmpegConverter:
    """``AudioConverter`` with an ffmpeg binary (see ``find_ffmpeg``)."""

    def __init__(self, binary: str, *, timeout_seconds: float = 60) -> None:
        self._binary = binary
        self._timeout = timeout_seconds

    def command(self, source: Path, target: Path, *, max_seconds: float) -> list[str]:
        """The ffmpeg command line (public for tests and for the curious)."""
        stream = ffmpeg.input(
            str(source), format_whitelist=ALLOWED_DEMUXERS, protocol_whitelist="file"
        ).output(
            str(target),
            map="0:a:0",  # the first audio stream; none at all fails the conversion
            vn=None,
            sn=None,
            dn=None,
            ac=1,
            ar=SAMPLE_RATE,
            acodec="pcm_s16le",
            t=f"{max_seconds + 1:g}",
            format="wav",
            map_metadata="-1",
        )
        options: list[str] = stream.overwrite_output().get_args()
        return [self._binary, "-nostdin", "-hide_banner", "-loglevel", "error", *options]

    def to_wav(self, source: Path, target: Path, *, max_seconds: float) -> float:
        args = self.command(source, target, max_seconds=max_seconds)
        try:
            # ffmpeg's stderr is not logged: it can quote the file's tags (a title, an author's name).
            done = subprocess.run(args, capture_output=True, timeout=self._timeout, check=False)  # noqa: S603
        except subprocess.TimeoutExpired as exc:  # run() has killed ffmpeg already
            target.unlink(missing_ok=True)
            logger.warning("ffmpeg timed out", extra={"timeout_seconds": self._timeout})
            raise UnusableAudio("unreadable") from exc
        if done.returncode != 0:
            target.unlink(missing_ok=True)
            logger.info("ffmpeg could not read the audio", extra={"returncode": done.returncode})
            raise UnusableAudio("unreadable")
        seconds = wav_seconds(target)
        if seconds < MIN_SECONDS:
            raise UnusableAudio("silent")
        return seconds


def wav_seconds(path: Path) -> float:
    """Seconds of audio in a 16 kHz mono 16-bit WAV, from its frame count; anything else is unreadable."""
    try:
        with wave.open(str(path), "rb") as wav:
            if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, SAMPLE_RATE):
                raise UnusableAudio("unreadable")
            return wav.getnframes() / SAMPLE_RATE
    except (OSError, EOFError, wave.Error) as exc:
        raise UnusableAudio("unreadable") from exc
