"""Dashboard Lambda: API Gateway HTTP API (payload 2.0) -> the organizers' dashboard on AWS.

The same page, scripts and CSV as ``assistant serve`` (files of ``assistant.web``), and the report from
the conversation table. The API decides who gets in: ``/api/*`` routes sit behind the Cognito JWT authorizer,
the page and its files are public (they hold no data). The page served here carries
``<meta name="auth" data-domain=... data-client-id=...>`` from the stage's variables (``authDomain``,
``clientId``), which tells dashboard.js to sign in; the local server's page has none, so there it does not.

Logs: method, route and status only; never a header (the token), a query string (the sign-in code) or a body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from html import escape
from http import HTTPStatus
from importlib import resources
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from assistant.adapters.analytics import DynamoDBAnalytics
from assistant.adapters.aws import client
from assistant.adapters.system import SystemClock
from assistant.bootstrap import settings_from
from assistant.web import PAGE_FILES, report_csv

logger = Logger()

WEB_PACKAGE = PAGE_FILES
STATIC_FILES = {
    "app.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
"""What ``GET /static/{file}`` serves: the dashboard's files only (the chat is the local twin's)."""

Response = dict[str, Any]


@cache
def analytics() -> DynamoDBAnalytics:
    """The organizers' counters, built on first use (after configuration) and kept while warm."""
    return DynamoDBAnalytics(client("dynamodb"), settings_from().table_name, SystemClock())


def _headers(content_type: str, cache_control: str, auth_origin: str = "") -> dict[str, str]:
    # The page's only cross-origin request is its code-for-token exchange with the Cognito domain.
    connect = f"'self' {auth_origin}".strip()
    return {
        "Content-Type": content_type,
        "Cache-Control": cache_control,
        "Content-Security-Policy": f"default-src 'self'; img-src 'self' data:; connect-src {connect};"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


def _response(status: HTTPStatus, body: str, headers: dict[str, str]) -> Response:
    return {"statusCode": int(status), "headers": headers, "body": body, "isBase64Encoded": False}


def _json(status: HTTPStatus, body: Any, auth_origin: str = "") -> Response:
    payload = json.dumps(body, ensure_ascii=False, default=str)
    return _response(status, payload, _headers("application/json; charset=utf-8", "no-store", auth_origin))


def _file(name: str, content_type: str, auth_origin: str) -> Response:
    text = resources.files(WEB_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return _response(HTTPStatus.OK, text, _headers(content_type, "no-cache", auth_origin))


def _auth(event: dict[str, Any]) -> dict[str, str] | None:
    variables = event.get("stageVariables") or {}
    domain, client_id = variables.get("authDomain") or "", variables.get("clientId") or ""
    if not domain.startswith("https://") or not client_id:
        return None
    return {"domain": domain.rstrip("/"), "clientId": client_id}


def route(event: dict[str, Any]) -> tuple[str, Response]:
    """The response to one request, and the route it matched (what the log names: never the raw path)."""
    http = (event.get("requestContext") or {}).get("http") or {}
    method, path = str(http.get("method") or ""), str(http.get("path") or event.get("rawPath") or "")
    auth = _auth(event)
    origin = auth["domain"] if auth else ""
    if method != "GET":
        return "-", _json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use GET"}, origin)
    if path == "/":
        response = _response(HTTPStatus.FOUND, "", _headers("text/plain; charset=utf-8", "no-cache", origin))
        response["headers"]["Location"] = "/dashboard"
        return "/", response
    if path == "/dashboard":
        response = _file("dashboard.html", "text/html; charset=utf-8", origin)
        if auth is not None:
            meta = (
                f'<meta name="auth" data-domain="{escape(auth["domain"])}"'
                f' data-client-id="{escape(auth["clientId"])}">\n'
            )
            response["body"] = response["body"].replace("</head>", meta + "</head>", 1)
        return path, response
    if path.startswith("/static/") and path.removeprefix("/static/") in STATIC_FILES:
        name = path.removeprefix("/static/")
        return path, _file(name, STATIC_FILES[name], origin)
    if path == "/api/report":
        return path, _json(HTTPStatus.OK, analytics().report(SystemClock().now()), origin)
    if path == "/api/report.csv":
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        response = _response(
            HTTPStatus.OK,
            report_csv(analytics().report(SystemClock().now())),
            _headers("text/csv; charset=utf-8", "no-store", origin),
        )
        response["headers"]["Content-Disposition"] = f'attachment; filename="assistant-report-{stamp}.csv"'
        return path, response
    return "-", _json(HTTPStatus.NOT_FOUND, {"error": "not found"}, origin)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> Response:
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "-")
    try:
        matched, response = route(event)
    except Exception as exc:  # noqa: BLE001 - answer 500 without the exception's text (it may quote data)
        logger.warning("%s report failed: %s", method, type(exc).__name__)
        matched, response = "-", _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
    logger.info("%s %s %s", method, matched, response["statusCode"])
    return response
