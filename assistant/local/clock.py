"""Virtual time for the local twin: real time plus an offset that only moves forward.

On AWS a failed SQS record comes back after the queue's visibility timeout (6 or 12 minutes here), a lease
expires after two, a Bedrock backoff waits seconds. The twin cannot wait that long, and must not retry
sooner than AWS would (a retry while the failed attempt's claim is still held is a different story from
the one that happens in the cloud). So the functions get this clock: ``sleep`` moves the offset instead of
sleeping, and the poller ``advance``s it to the next due visibility timeout when nothing else is left to do.
The twin runs the functions one invocation at a time, so nobody else is waiting for real time to pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class VirtualClock:
    """The ``Clock`` port (``assistant.ports.Clock``) in virtual time."""

    def __init__(self, offset: float = 0.0, *, real_time: Callable[[], float] = time.time) -> None:
        if offset < 0:
            raise ValueError("a virtual clock never runs behind real time")
        self._offset = offset
        self._real_time = real_time
        # The stand-ins read the clock from their server threads while the poller moves it.
        self._lock = threading.Lock()
        self.sleeper: Callable[[float], None] | None = None
        """Who waits out a ``sleep`` instead (``LocalCloud.run``'s workers: a worker's backoff delays it
        alone); None: the offset moves."""

    def now(self) -> float:
        """Seconds since the epoch, in virtual time."""
        with self._lock:
            return self._real_time() + self._offset

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass at once (a negative or zero wait is no wait, as ``time.sleep`` would)."""
        if seconds > 0:
            if self.sleeper is not None:
                self.sleeper(seconds)
            else:
                self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("virtual time only moves forward")
        with self._lock:
            self._offset += seconds

    def advance_to(self, when: float) -> None:
        """Move virtual time forward to ``when`` (seconds since the epoch); nothing if it has passed."""
        with self._lock:
            self._offset += max(0.0, when - (self._real_time() + self._offset))

    @property
    def offset(self) -> float:
        """How far virtual time is ahead of real time, in seconds."""
        with self._lock:
            return self._offset
