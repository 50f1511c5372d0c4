"""The agenda file the content team publishes (S3 in the cloud, a path locally), read into a ``Schedule``.

Read on first use and again once it is ``refresh_seconds`` old, so a corrected agenda reaches warm
functions within minutes. A file that cannot be read or parsed never fails a question: the last good
schedule is kept (or an empty one, which turns the schedule tools off), and a warning is logged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS
from assistant.agenda import AgendaError, Schedule, load_agenda
from assistant.ports import Clock

logger = Logger(child=True)


class AgendaFile:
    def __init__(
        self,
        uri: str,
        timezone: str,
        *,
        clock: Clock,
        s3: Callable[[], Any],
        refresh_seconds: float = 300.0,
    ) -> None:
        self._uri = uri
        self._timezone = timezone
        self._clock = clock
        self._s3 = s3
        self._refresh = refresh_seconds
        self._lock = threading.Lock()
        self._schedule = Schedule.empty(timezone)
        self._read_at: float | None = None

    def __call__(self) -> Schedule:
        with self._lock:
            now = self._clock.now()
            if self._uri and (self._read_at is None or now - self._read_at >= self._refresh):
                self._read_at = now
                try:
                    self._schedule = load_agenda(self._name(), self._read(), self._timezone)
                except (AgendaError, OSError, UnicodeDecodeError, *AWS_ERRORS) as exc:
                    logger.warning("agenda not read; the last schedule is kept", extra={"error": str(exc)})
                except Exception as exc:  # noqa: BLE001 - a malformed file must never fail a question
                    logger.warning(
                        "agenda not read; the last schedule is kept", extra={"error": type(exc).__name__}
                    )
            return self._schedule

    def _name(self) -> str:
        return PurePosixPath(urlparse(self._uri).path).name or self._uri

    def _read(self) -> str:
        parsed = urlparse(self._uri)
        if parsed.scheme == "s3":
            body = self._s3().get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
            return bytes(body).decode("utf-8")
        return Path(self._uri).read_text(encoding="utf-8")
