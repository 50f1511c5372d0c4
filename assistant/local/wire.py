"""A small HTTP server speaking the AWS rest-json wire format, for local stand-ins of services moto lacks.

botocore reaches it through ``AWS_ENDPOINT_URL_<SERVICE>``; signatures are not checked. An operation
handler returns a JSON-able dict or raises ``ServiceError`` (sent as ``x-amzn-ErrorType`` + status).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]


class ServiceError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class RestJsonServer:
    """Routes ``POST`` paths (regular expressions with named groups) to operation handlers. With
    ``methods=True`` it serves GET, PUT and DELETE too, and routes are ``"<METHOD> <path pattern>"``,
    matched against ``"<METHOD> <path>"`` (services that use several methods on one path)."""

    def __init__(self, name: str, *, methods: bool = False) -> None:
        self._name = name
        self._methods = methods
        self._routes: list[tuple[re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None

    def route(self, pattern: str, handler: Handler) -> None:
        self._routes.append((re.compile(pattern + r"$"), handler))

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError(f"the {self._name} stand-in is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                path = f"{self.command} {self.path}" if server._methods else self.path
                status, headers, body = server.dispatch(path, self.rfile.read(length))
                payload = json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _other_method(self) -> None:
                if server._methods:
                    self.do_POST()
                else:
                    self.send_error(405)

            do_GET = do_PUT = do_DELETE = _other_method

            def log_message(self, format: str, *args: Any) -> None:
                return  # requests carry personal data: never log them

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._server.daemon_threads = True
        # A short poll interval: ``stop`` waits for the serving loop to notice, and the local twin starts
        # and stops its stand-ins for every command and every test (the default half second adds up).
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=self._name, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def dispatch(self, path: str, raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        try:
            from urllib.parse import unquote

            clean = unquote(path.split("?")[0])
            for pattern, handler in self._routes:
                match = pattern.match(clean)
                if match:
                    try:
                        request = json.loads(raw or b"{}")
                    except ValueError:
                        raise ServiceError("ValidationException", 400, "request body is not JSON") from None
                    if not isinstance(request, dict):
                        raise ServiceError("ValidationException", 400, "request body is not a JSON object")
                    return 200, headers, handler(request, match.groupdict())
            raise ServiceError("UnknownOperationException", 404, "operation not available in the stand-in")
        except ServiceError as err:
            headers["x-amzn-ErrorType"] = err.code
            return err.status, headers, {"message": str(err)}
