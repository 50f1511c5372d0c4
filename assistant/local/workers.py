"""Lambda concurrency on the local twin: several invocations in flight at once, as on AWS.

On AWS each concurrent invocation of a function is its own process; here each is a worker thread with its
own copy of the handler module (its own batch processor, logger and metrics objects, as a process would
have), while the services behind it are shared. Two rules keep that sound:

- **The baton.** moto is not thread-safe, and neither is a handler's Python between two AWS calls, so one
  thread at a time holds the baton and runs. A worker lets go of it only while it waits: on a stand-in
  over HTTP (Bedrock's latency, a send), as a Lambda process waits on the network while others run; or in
  a virtual ``sleep`` (a backoff). A call to moto takes the baton whoever makes it (a stand-in's server
  thread copying a voice note into S3 included).
- **Virtual time.** A worker's ``sleep`` waits until the twin's clock reaches its end; the scheduler moves
  the clock there when every in-flight invocation is asleep and nothing else is due
  (``LocalCloud.run``). A backoff therefore delays its own invocation and nobody else's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from assistant.local.clock import VirtualClock

LOCAL_ENDPOINT = "http://127.0.0.1"
"""Where the stand-ins listen: a call there is a wait on the network, not work on moto."""


class Baton:
    """One lock, held by the thread that runs; ``held()`` tells whether the current thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()

    def held(self) -> bool:
        return bool(getattr(self._local, "held", False))

    def acquire(self) -> None:
        self._lock.acquire()
        self._local.held = True

    def release(self) -> None:
        self._local.held = False
        self._lock.release()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold it for the block (nothing more if this thread holds it already)."""
        if self.held():
            yield
            return
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Let go of it for the block, if this thread holds it; take it back after."""
        if not self.held():
            yield
            return
        self.release()
        try:
            yield
        finally:
            self.acquire()


class Workers:
    """The concurrency of one ``LocalCloud.run``: the baton, who is working on what, who sleeps until when."""

    def __init__(self, clock: VirtualClock) -> None:
        self.baton = Baton()
        self.clock = clock
        self._local = threading.local()
        self._changed = threading.Condition()
        self._sleepers: dict[int, float] = {}
        self._copies: dict[str, list[Callable[..., Any]]] = {}
        self._names = itertools.count()
        self.calls: Counter[tuple[str, str, str]] = Counter()
        """Every AWS call made, by (function or "harness", service, operation)."""
        self.senders: dict[str, str] = {}
        """The function that sent each reply part, by its callback data (``<message key>.<part>``)."""

    # -- which function a thread works for -------------------------------------------------------------------

    def function(self) -> str | None:
        """The function whose invocation the current thread runs (None: the harness, a stand-in)."""
        return getattr(self._local, "function", None)

    @contextlib.contextmanager
    def working_for(self, function: str) -> Iterator[None]:
        """The current thread runs this function's code (its handler) for the block: faults that target
        the functions' calls apply to its calls, not to the poller's receives and deletes around it."""
        self._local.function = function
        try:
            yield
        finally:
            self._local.function = None

    # -- virtual sleep ---------------------------------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        """A worker waits for virtual time to pass; anyone else moves the clock (no one waits on them)."""
        if seconds <= 0:
            return
        if self.function() is None:
            self.clock.advance(seconds)
            return
        until = self.clock.now() + seconds
        me = threading.get_ident()
        with self.baton.released(), self._changed:
            self._sleepers[me] = until
            self._changed.notify_all()
            while self.clock.now() < until:
                self._changed.wait(0.05)
            del self._sleepers[me]

    def sleepers(self) -> list[float]:
        with self._changed:
            return list(self._sleepers.values())

    def wake(self) -> None:
        """The clock moved: sleepers check their time."""
        with self._changed:
            self._changed.notify_all()

    # -- handler copies: one per concurrent invocation, as one per process --------------------------------

    def take_handler(self, module_name: str, attribute: str) -> Callable[..., Any]:
        free = self._copies.setdefault(f"{module_name}.{attribute}", [])
        if free:
            return free.pop()
        copy = _fresh_copy(module_name, f"{module_name}__worker{next(self._names)}")
        handler: Callable[..., Any] = getattr(copy, attribute)
        return handler

    def give_back(self, module_name: str, attribute: str, handler: Callable[..., Any]) -> None:
        self._copies[f"{module_name}.{attribute}"].append(handler)


def _remember_sender(workers: Workers, function: str, params: dict[str, Any]) -> None:
    message = params.get("message")
    try:
        decoded = json.loads(message if isinstance(message, (str, bytes)) else b"")
    except ValueError:
        return
    callback = decoded.get("biz_opaque_callback_data") if isinstance(decoded, dict) else None
    if isinstance(callback, str):
        workers.senders.setdefault(callback, function)


def _fresh_copy(module_name: str, alias: str) -> ModuleType:
    """The module's code run again under another name: new module-level objects, shared imports."""
    original = importlib.import_module(module_name)
    spec = importlib.util.spec_from_file_location(alias, original.__file__)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a copy of {module_name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def installed(workers: Workers) -> Iterator[None]:
    """Route every botocore call through the baton for the duration (every client, old or new)."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def make_api_call(self: Any, operation: str, params: dict[str, Any]) -> Any:
        function = workers.function() or "harness"
        workers.calls[(function, self.meta.service_model.service_name, operation)] += 1
        if operation == "SendWhatsAppMessage":
            _remember_sender(workers, function, params)
        if str(self.meta.endpoint_url).startswith(LOCAL_ENDPOINT):
            with workers.baton.released():
                return original(self, operation, params)
        with workers.baton.hold():
            return original(self, operation, params)

    BaseClient._make_api_call = make_api_call
    try:
        yield
    finally:
        BaseClient._make_api_call = original
