"""``assistant serve``'s web server: the organizers' dashboard and a WhatsApp-like chat on the local twin.

Standard library only (``ThreadingHTTPServer``); the pages, styles and scripts are files of this package,
served from here (no CDN). Bound to 127.0.0.1 unless told otherwise.

Threads: ``LocalCloud`` is not thread-safe, so one worker thread owns it. Request threads hand it work (a
chat turn, a report) through a one-thread executor and wait for the report; a chat turn returns as soon as
the inbound function has sent its read receipt and typing indicator, while the worker drains on. What the
chat page shows is read from ``cloud.social``'s record of sent messages, which the socialmessaging stand-in
keeps under its own lock (it records them from its server thread), so a page sees "typing" while the answer
stage is still at work.

Logs: method, route and status only. Query strings (a sender's number), bodies (questions, voice notes) and
wamids (which hold the number) are personal data and are never logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from assistant.local.envelopes import new_wamid, text_envelope, voice_envelope
from assistant.web import PAGE_FILES, report_csv

if TYPE_CHECKING:
    from assistant.local.runtime import LocalCloud

logger = logging.getLogger(__name__)

Report = Callable[[], Mapping[str, Any]]
"""What ``GET /api/report`` serves: the organizers' report (see the dashboard) as a JSON-able mapping."""

STATIC_FILES = {
    "dashboard.html": "text/html; charset=utf-8",
    "chat.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
}
PAGES = {"/dashboard": "dashboard.html", "/chat": "chat.html"}

AUDIO_TYPES = {
    "ogg": "audio/ogg; codecs=opus",
    "opus": "audio/ogg; codecs=opus",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "wav": "audio/wav",
}
"""Voice-note files the chat takes, by extension: the audio WhatsApp delivers (and the pipeline hears)."""

AUDIO_LIMIT = 16 * 1024 * 1024
"""WhatsApp's limit for an audio message."""
BODY_LIMIT = AUDIO_LIMIT * 4 // 3 + 64 * 1024
"""A request body: a voice note in base64, and its JSON around it."""
TEXT_LIMIT = 4096
SENDER = re.compile(r"\d{6,15}")
"""A WhatsApp number as ``wa_id`` carries it: digits only."""

REPORT_TIMEOUT = 60.0
"""A report waits for the worker, which may be draining a chat turn (a voice note takes seconds)."""
READ_RECEIPT_WAIT = 15.0
"""How long ``POST /api/chat`` waits for the inbound function's read receipt before answering anyway."""

_SECURITY_HEADERS = {
    # Every script and style is a file of this package: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BadRequest(ValueError):
    """A request this server refuses; the message is shown to the caller and says nothing personal."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class _Conversation:
    """What the server knows of one sender's chat: the wamids of what they sent, in order."""

    wamids: dict[str, int] = field(default_factory=dict)
    """wamid -> the message's number in this conversation (1, 2, ...): how read receipts are matched."""
    pending: int = 0
    """Turns submitted to the worker and not finished."""


class WebApp:
    """The server: ``start()``, then ``url``; ``stop()`` when done (or use it as a context manager)."""

    def __init__(
        self, cloud: LocalCloud, report: Report, *, host: str = "127.0.0.1", port: int = 8000
    ) -> None:
        self.cloud = cloud
        self._report = report
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._media_dir: Path | None = None
        self._lock = threading.Lock()
        self._conversations: dict[str, _Conversation] = {}
        self._seen_at: list[str] = []
        """When this server first saw each recorded socialmessaging call (the twin's virtual time)."""
        self._stopped = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> WebApp:
        self._media_dir = Path(tempfile.mkdtemp(prefix="assistant-web-"))
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-cloud")
        self._server = _Server((self._host, self._port), _Handler, self)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="web", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._worker is not None:
            # A turn being drained finishes (the cloud's state must stay whole); queued ones are dropped.
            self._worker.shutdown(wait=True, cancel_futures=True)
            self._worker = None
        if self._media_dir is not None:
            shutil.rmtree(self._media_dir, ignore_errors=True)
            self._media_dir = None
        self._stopped.set()

    def wait(self) -> None:
        """Block until ``stop()`` (Ctrl-C interrupts the wait)."""
        self._stopped.wait()

    def __enter__(self) -> WebApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the web server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _submit(self, work: Callable[[], Any]) -> Future[Any]:
        if self._worker is None:
            raise RuntimeError("the web server is not started")
        return self._worker.submit(work)

    # -- the report -----------------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The report, made on the worker thread: it may read the cloud, which only the worker touches."""
        result = self._submit(self._report).result(timeout=REPORT_TIMEOUT)
        return dict(result)

    # -- chat -----------------------------------------------------------------------------------------------

    def send(
        self, sender: str, *, text: str | None = None, audio: bytes | None = None, extension: str = "ogg"
    ) -> dict[str, Any]:
        """Publish one message of ``sender`` (a text, or a voice note's bytes) and have the worker drain it.

        Returns once the read receipt for it was sent (or the turn ended without one): ``message`` is its
        number in the conversation, ``cursor`` the index of its first event for ``GET /api/chat/events``."""
        wamid = new_wamid(sender)
        media: Path | None = None
        if audio is not None:
            if self._media_dir is None:
                raise RuntimeError("the web server is not started")
            media_id = secrets.token_hex(12)
            media = self._media_dir / f"{media_id}.{extension}"
            media.write_bytes(audio)
            self.cloud.social.add_media(media_id, media)
            envelope = voice_envelope(media_id, sender=sender, mime_type=AUDIO_TYPES[extension], wamid=wamid)
        else:
            envelope = text_envelope(text or "", sender=sender, wamid=wamid)
        with self._lock:
            conversation = self._conversations.setdefault(sender, _Conversation())
            number = len(conversation.wamids) + 1
            conversation.wamids[wamid] = number
            conversation.pending += 1
        cursor = len(self.events(sender))
        turn = self._submit(lambda: self._turn(json.dumps(envelope), media))
        turn.add_done_callback(lambda done: self._finished(sender, done))
        self._wait_for_read_receipt(wamid, turn)
        return {"message": number, "cursor": cursor}

    def _turn(self, envelope: str, media: Path | None) -> None:
        """On the worker: run one inbound message through the pipeline, as ``assistant chat`` does."""
        try:
            self.cloud.publish_inbound(envelope)
            self.cloud.drain()
            self.cloud.save_state()  # a server that is killed keeps what it did
        finally:
            if media is not None:
                media.unlink(missing_ok=True)  # a voice note is heard once, then forgotten

    def _finished(self, sender: str, turn: Future[Any]) -> None:
        with self._lock:
            self._conversations[sender].pending -= 1
        if not turn.cancelled() and turn.exception() is not None:
            logger.warning("chat turn failed: %s", type(turn.exception()).__name__)

    def _wait_for_read_receipt(self, wamid: str, turn: Future[Any]) -> None:
        # Polled: the stand-in's server thread records the receipt in the middle of the worker's drain.
        deadline = time.monotonic() + READ_RECEIPT_WAIT
        while not self._read(wamid):
            done, _ = wait_for([turn], timeout=0.01)
            if done or time.monotonic() > deadline:
                return

    def _read(self, wamid: str) -> bool:
        return any(
            message.get("status") == "read" and message.get("message_id") == wamid
            for message in self.cloud.social.sent()
        )

    def events(self, sender: str, after: int = 0) -> list[dict[str, Any]]:
        """What the assistant did in ``sender``'s chat, from the recorded socialmessaging calls, oldest first:
        ``read`` and ``typing`` (a read receipt, and the typing indicator it carries) with the number of the
        message they are about, ``reply`` with its text."""
        sent = self.cloud.social.sent()
        events: list[dict[str, Any]] = []
        with self._lock:
            now = _iso(self.cloud.clock.now())
            self._seen_at.extend(now for _ in range(len(self._seen_at), len(sent)))
            conversation = self._conversations.get(sender)
            wamids = dict(conversation.wamids) if conversation else {}
            seen_at = list(self._seen_at)
        for at, message in zip(seen_at, sent, strict=False):
            if message.get("status") == "read":
                number = wamids.get(str(message.get("message_id")))
                if number is None:
                    continue
                events.append({"kind": "read", "text": None, "at": at, "message": number})
                if "typing_indicator" in message:
                    events.append({"kind": "typing", "text": None, "at": at, "message": number})
            elif message.get("to") == sender and message.get("type") == "text":
                context = message.get("context")
                replied_to = context.get("message_id") if isinstance(context, dict) else None
                body = (message.get("text") or {}).get("body")
                events.append(
                    {"kind": "reply", "text": body, "at": at, "message": wamids.get(str(replied_to))}
                )
        return events[max(after, 0) :]

    def pending(self, sender: str) -> bool:
        """Whether a turn of ``sender``'s is still waiting for, or in, the worker."""
        with self._lock:
            conversation = self._conversations.get(sender)
            return bool(conversation and conversation.pending)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: WebApp) -> None:
        super().__init__(address, handler)
        self.app = app


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class _Handler(BaseHTTPRequestHandler):
    server_version = "assistant-serve"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    @property
    def app(self) -> WebApp:
        return cast(_Server, self.server).app

    @property
    def route(self) -> str:
        return urlsplit(self.path).path

    # -- logging: method, route and status; never a query string or a body ----------------------------------

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = code.value if isinstance(code, HTTPStatus) else code
        logger.info("%s %s %s", self.command, self.route, status)

    def log_error(self, format: str, *args: Any) -> None:
        # The default message quotes the request line, query string and all.
        logger.warning("%s %s: request refused", getattr(self, "command", None) or "-", _safe_route(self))

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- methods --------------------------------------------------------------------------------------------

    def _host_allowed(self) -> bool:
        """On a loopback address, only requests naming a loopback host: a page elsewhere that rebinds its
        own name to 127.0.0.1 (DNS rebinding) must not read the figures or the chat."""
        address = self.server.server_address
        bound = str(address[0]) if isinstance(address, tuple) else ""
        if bound not in _LOOPBACK:
            return True
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in _LOOPBACK

    def do_GET(self) -> None:
        route = self.route
        if not self._host_allowed():
            self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "unexpected Host"})
            return
        try:
            if route == "/":
                self._redirect("/dashboard")
            elif route in PAGES:
                self._static(PAGES[route])
            elif route.startswith("/static/") and route.removeprefix("/static/") in STATIC_FILES:
                self._static(route.removeprefix("/static/"))
            elif route == "/api/report":
                self._json(HTTPStatus.OK, self.app.report())
            elif route == "/api/report.csv":
                self._csv(self.app.report())
            elif route == "/api/chat/events":
                self._chat_events()
            elif route in ("/api/chat",):
                raise BadRequest("use POST", HTTPStatus.METHOD_NOT_ALLOWED)
            else:
                raise BadRequest("not found", HTTPStatus.NOT_FOUND)
        except BadRequest as refused:
            self._json(refused.status, {"error": str(refused)})
        except FutureTimeout:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "the local cloud is busy; try again"})
        except Exception as exc:  # noqa: BLE001 - one failing report must not take the server down
            logger.warning("%s %s failed: %s", self.command, route, type(exc).__name__)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def do_POST(self) -> None:
        route = self.route
        if not self._host_allowed():
            self._json(HTTPStatus.MISDIRECTED_REQUEST, {"error": "unexpected Host"})
            return
        try:
            if route != "/api/chat":
                raise BadRequest("not found", HTTPStatus.NOT_FOUND)
            self._json(HTTPStatus.ACCEPTED, self._chat(self._body()))
        except BadRequest as refused:
            self._json(refused.status, {"error": str(refused)})
        except Exception as exc:  # noqa: BLE001 - answer, and keep serving
            logger.warning("%s %s failed: %s", self.command, route, type(exc).__name__)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    # -- chat -----------------------------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        # JSON only: a cross-site form cannot send it without a preflight, which this server never answers.
        if self.headers.get_content_type() != "application/json":
            raise BadRequest("send application/json", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            raise BadRequest("Content-Length is required", HTTPStatus.LENGTH_REQUIRED) from None
        if length < 0 or length > BODY_LIMIT:
            self.close_connection = True
            raise BadRequest("the request is too large", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, RecursionError):
            raise BadRequest("the body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("the body is not a JSON object")
        return body

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        sender = _sender(body.get("sender"))
        text, audio = body.get("text"), body.get("audio")
        if audio is not None:
            extension = _audio_extension(body.get("filename"))
            if not isinstance(audio, str):
                raise BadRequest("audio must be base64")
            try:
                data = base64.b64decode(audio, validate=True)
            except (binascii.Error, ValueError):
                raise BadRequest("audio must be base64") from None
            if not data or len(data) > AUDIO_LIMIT:
                raise BadRequest("a voice note is 1 byte to 16 MB")
            return self.app.send(sender, audio=data, extension=extension)
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("text or audio is required")
        if len(text) > TEXT_LIMIT:
            raise BadRequest(f"a message is at most {TEXT_LIMIT} characters")
        return self.app.send(sender, text=text.strip())

    def _chat_events(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        sender = _sender((query.get("sender") or [""])[0])
        try:
            after = int((query.get("after") or ["0"])[0])
        except ValueError:
            raise BadRequest("after must be a number") from None
        # Pending first: a turn that ends in between has recorded all it sent, so the events below hold it.
        pending = self.app.pending(sender)
        events = self.app.events(sender)
        self._json(
            HTTPStatus.OK, {"events": events[max(after, 0) :], "next": len(events), "pending": pending}
        )

    # -- responses ------------------------------------------------------------------------------------------

    def _send(self, status: HTTPStatus, content_type: str, payload: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (_SECURITY_HEADERS | {k.replace("_", "-"): v for k, v in headers.items()}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: HTTPStatus, body: Any) -> None:
        payload = json.dumps(body, ensure_ascii=False, default=str).encode()
        self._send(status, "application/json; charset=utf-8", payload, Cache_Control="no-store")

    def _static(self, name: str) -> None:
        payload = resources.files(PAGE_FILES).joinpath(name).read_bytes()
        self._send(HTTPStatus.OK, STATIC_FILES[name], payload, Cache_Control="no-cache")

    def _redirect(self, location: str) -> None:
        self._send(HTTPStatus.FOUND, "text/plain; charset=utf-8", b"", Location=location)

    def _csv(self, report: Mapping[str, Any]) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self._send(
            HTTPStatus.OK,
            "text/csv; charset=utf-8",
            report_csv(report).encode(),
            Content_Disposition=f'attachment; filename="assistant-report-{stamp}.csv"',
            Cache_Control="no-store",
        )


def _sender(value: Any) -> str:
    if not isinstance(value, str) or not SENDER.fullmatch(value):
        raise BadRequest("sender must be a WhatsApp number (6 to 15 digits)")
    return value


def _audio_extension(filename: Any) -> str:
    extension = str(filename or "note.ogg").rsplit(".", 1)[-1].lower()
    if extension not in AUDIO_TYPES:
        raise BadRequest("a voice note is .ogg, .opus, .mp3, .m4a, .aac, .amr or .wav")
    return extension


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _safe_route(handler: BaseHTTPRequestHandler) -> str:
    path = getattr(handler, "path", "")
    return urlsplit(path).path if isinstance(path, str) and path.startswith("/") else "-"


def serve(
    cloud: LocalCloud,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    report: Report,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard and the chat on ``cloud`` until interrupted (Ctrl-C): ``assistant serve``.

    ``announce`` is told the server's address once it listens. Request lines go to stderr (method, route,
    status) unless the ``assistant.local.web`` logger is configured otherwise."""
    web_logger = logging.getLogger("assistant.local.web")
    if not web_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        web_logger.addHandler(handler)
        web_logger.setLevel(logging.INFO)
        web_logger.propagate = False
    app = WebApp(cloud, report, host=host, port=port).start()
    try:
        if announce is not None:
            announce(app.url)
        app.wait()
    except KeyboardInterrupt:
        pass
    finally:
        app.stop()
