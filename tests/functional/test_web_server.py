"""`assistant serve`'s web server over HTTP, on the local twin with a stub report."""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.local.runtime import LocalCloud
from assistant.local.web.server import WebApp

VOICE = Path(__file__).resolve().parents[1] / "fixtures" / "voice"
SENDER = "15550100777"

REPORT: dict[str, Any] = {
    "questions": 5,
    "categories": [{"name": "agenda", "count": 3}, {"name": "venue", "count": 2}],
    "timeline": {
        "bucket_seconds": 900,
        "buckets": [
            {"start": "2026-03-11T09:00:00Z", "categories": {"agenda": 2, "venue": 1}},
            {"start": "2026-03-11T09:15:00Z", "categories": {"agenda": 1, "venue": 1}},
        ],
    },
    "volumes": {"text": 4, "audio": 1},
    "unique_users": 3,
    "latency": {"p50": 0.8, "p95": 2.5},
    "sources": {"knowledge_base": 3, "agenda": 2},
    "guardrail_interventions": 1,
    "feedback": {"positive": 2, "negative": 1, "other": 0},
    "unanswered": [{"category": "venue", "questions": ["=is there a sauna?"]}],
    "generated_at": "2026-03-11T09:30:00Z",
}


class StubReport:
    """The report function: a fixed report, and the threads it was made on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self) -> dict[str, Any]:
        self.threads.append(threading.current_thread().name)
        return REPORT


@pytest.fixture
def report() -> StubReport:
    return StubReport()


@pytest.fixture
def app(cloud: LocalCloud, report: StubReport) -> Iterator[WebApp]:
    with WebApp(cloud, report, port=0) as running:
        yield running


def request(
    app: WebApp, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed: status, headers, body."""
    host, port = app.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        payload = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get_json(app: WebApp, path: str) -> Any:
    with urllib.request.urlopen(app.url + path, timeout=30) as response:
        return json.loads(response.read())


def post_chat(app: WebApp, body: dict[str, Any]) -> dict[str, Any]:
    sent = urllib.request.Request(
        app.url + "/api/chat",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(sent, timeout=60) as response:
        assert response.status == 202
        accepted: dict[str, Any] = json.loads(response.read())
        return accepted


def follow(app: WebApp, sender: str, cursor: int, timeout: float = 120) -> list[dict[str, Any]]:
    """The events from ``cursor`` until the server has no turn of ``sender``'s left, as the page polls."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = get_json(app, f"/api/chat/events?sender={sender}&after={cursor}")
        events += got["events"]
        cursor = got["next"]
        if not got["pending"]:
            return events
        time.sleep(0.05)
    raise AssertionError("the chat turn did not finish")


# -- pages and the report ------------------------------------------------------------------------------------


def test_the_root_redirects_to_the_dashboard_and_the_pages_are_served_from_the_package(app: WebApp) -> None:
    status, headers, _ = request(app, "GET", "/")
    assert status == 302 and headers["location"] == "/dashboard"
    status, headers, page = request(app, "GET", "/dashboard")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'id="categories-chart"' in page and b'href="/api/report.csv"' in page
    assert "default-src 'self'" in headers["content-security-policy"]
    status, _, page = request(app, "GET", "/chat")
    assert status == 200 and b'id="typing"' in page and b'accept="audio/*' in page
    for name, kind in [
        ("app.css", "text/css"),
        ("dashboard.js", "text/javascript"),
        ("chat.js", "text/javascript"),
    ]:
        status, headers, _ = request(app, "GET", f"/static/{name}")
        assert status == 200 and headers["content-type"].startswith(kind)
    assert request(app, "GET", "/static/server.py")[0] == 404
    assert request(app, "GET", "/static/../server.py")[0] == 404
    assert request(app, "GET", "/nowhere")[0] == 404


def test_the_pages_load_nothing_from_elsewhere(app: WebApp) -> None:
    for path in ("/dashboard", "/chat", "/static/app.css", "/static/dashboard.js", "/static/chat.js"):
        body = request(app, "GET", path)[2].decode()
        assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in body and "//cdn" not in body


def test_the_report_is_served_as_json_and_made_on_the_thread_that_runs_the_cloud(
    app: WebApp, report: StubReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    drained_on: list[str] = []
    drain = app.cloud.drain

    def recorded_drain(*args: Any, **kwargs: Any) -> None:
        drained_on.append(threading.current_thread().name)
        drain(*args, **kwargs)

    monkeypatch.setattr(app.cloud, "drain", recorded_drain)
    assert get_json(app, "/api/report") == REPORT
    post_chat(app, {"sender": SENDER, "text": "hello"})
    follow(app, SENDER, 0)
    assert get_json(app, "/api/report") == REPORT
    # One worker owns the cloud: chat turns and reports alike run there, never on a request thread.
    assert len(set(drained_on + report.threads)) == 1 and len(report.threads) == 2


def test_a_failing_report_is_a_500_that_says_nothing_of_the_failure(cloud: LocalCloud) -> None:
    def broken() -> dict[str, Any]:
        raise KeyError("15550100777")

    with WebApp(cloud, broken, port=0) as app:
        status, _, body = request(app, "GET", "/api/report")
    assert status == 500 and json.loads(body) == {"error": "internal error"}


def test_the_report_downloads_as_csv_bucket_rows_then_a_blank_line_then_the_summary(app: WebApp) -> None:
    status, headers, body = request(app, "GET", "/api/report.csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert (
        headers["content-disposition"].startswith("attachment; filename=")
        and ".csv" in headers["content-disposition"]
    )
    rows = list(csv.reader(io.StringIO(body.decode())))
    blank = rows.index([])
    assert rows[:blank] == [
        ["bucket_start", "category", "count"],
        ["2026-03-11T09:00:00Z", "agenda", "2"],
        ["2026-03-11T09:00:00Z", "venue", "1"],
        ["2026-03-11T09:15:00Z", "agenda", "1"],
        ["2026-03-11T09:15:00Z", "venue", "1"],
    ]
    summary = dict(rows[blank + 1 :])
    assert summary["metric"] == "value"
    assert summary["questions"] == "5" and summary["unique_users"] == "3"
    assert summary["latency_p50_seconds"] == "0.8" and summary["latency_p95_seconds"] == "2.5"
    assert summary["guardrail_interventions"] == "1"
    assert summary["feedback_positive"] == "2" and summary["feedback_negative"] == "1"
    assert summary["volume:audio"] == "1" and summary["source:agenda"] == "2"
    assert summary["category:agenda"] == "3" and summary["unanswered:venue"] == "1"
    assert "sauna" not in body.decode()  # the unanswered questions themselves stay on the dashboard


# -- chat ----------------------------------------------------------------------------------------------------


def test_a_chat_message_is_read_with_typing_at_once_then_answered_about_the_keynote(app: WebApp) -> None:
    accepted = post_chat(app, {"sender": SENDER, "text": "where is the opening keynote?"})
    assert accepted == {"message": 1, "cursor": 0}
    # The read receipt and typing indicator exist by the time the POST has returned.
    first = get_json(app, f"/api/chat/events?sender={SENDER}&after=0")["events"]
    assert [e["kind"] for e in first[:2]] == ["read", "typing"]
    events = follow(app, SENDER, accepted["cursor"])
    assert [e["kind"] for e in events] == ["read", "typing", "reply"]
    assert all(e["message"] == 1 and e["at"].endswith("Z") for e in events)
    assert "Auditorium A" in events[-1]["text"]
    assert get_json(app, f"/api/chat/events?sender={SENDER}&after=3") == {
        "events": [],
        "next": 3,
        "pending": False,
    }


def test_each_sender_sees_only_their_own_conversation(app: WebApp) -> None:
    post_chat(app, {"sender": SENDER, "text": "where is the opening keynote?"})
    follow(app, SENDER, 0)
    other = "15550100888"
    assert get_json(app, f"/api/chat/events?sender={other}&after=0") == {
        "events": [],
        "next": 0,
        "pending": False,
    }
    second = post_chat(app, {"sender": SENDER, "text": "is there wifi?"})
    assert second == {"message": 2, "cursor": 3}
    events = follow(app, SENDER, second["cursor"])
    assert [(e["kind"], e["message"]) for e in events] == [("read", 2), ("typing", 2), ("reply", 2)]


@pytest.fixture
def voice_app(app: WebApp, local_transcriber: Any, monkeypatch: pytest.MonkeyPatch) -> WebApp:
    """The server, its twin with the session's loaded Whisper model (not one loaded per test)."""
    from assistant import bootstrap
    from assistant.local import speech

    monkeypatch.setattr(speech, "LocalWhisperTranscriber", lambda *a, **k: local_transcriber)
    bootstrap.answer_service.cache_clear()
    return app


def test_an_uploaded_voice_note_is_heard_answered_and_not_kept(voice_app: WebApp) -> None:
    audio = base64.b64encode((VOICE / "keynote-en.ogg").read_bytes()).decode()
    accepted = post_chat(voice_app, {"sender": SENDER, "audio": audio, "filename": "note.ogg"})
    events = follow(voice_app, SENDER, accepted["cursor"])
    assert [e["kind"] for e in events] == ["read", "typing", "reply"]
    heard, _, answer = events[-1]["text"].partition("\n\n")
    assert heard.startswith('🎤 "') and "Auditorium A" in answer
    assert voice_app.cloud.social.media_fetched and voice_app.cloud.media_objects() == []
    assert voice_app._media_dir is not None and list(voice_app._media_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ({"sender": SENDER, "text": "hi"}, "text/plain", 415),
        ({"sender": "+1 555", "text": "hi"}, "application/json", 400),
        ({"sender": SENDER, "text": "   "}, "application/json", 400),
        ({"sender": SENDER, "text": "x" * 4097}, "application/json", 400),
        ({"sender": SENDER, "audio": "bm90IGF1ZGlv", "filename": "note.exe"}, "application/json", 400),
        ({"sender": SENDER, "audio": "not base64!"}, "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"{not json", "application/json", 400),
    ],
)
def test_a_chat_request_that_is_not_a_message_is_refused(
    app: WebApp, body: Any, content_type: str, status: int
) -> None:
    assert request(app, "POST", "/api/chat", body, content_type)[0] == status
    assert app.cloud.social.calls == []


def test_events_need_a_sender_number(app: WebApp) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        get_json(app, "/api/chat/events?sender=ada&after=0")
    assert refused.value.code == 400


def test_the_server_logs_method_route_and_status_and_no_personal_data(
    app: WebApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistant.local.web")
    accepted = post_chat(app, {"sender": SENDER, "text": "where is the opening keynote?"})
    follow(app, SENDER, accepted["cursor"])
    request(app, "GET", f"/nowhere?sender={SENDER}")
    request(app, "POST", "/api/chat", {"sender": SENDER, "text": "secret"}, "text/plain")
    lines = [
        record.getMessage() for record in caplog.records if record.name.startswith("assistant.local.web")
    ]
    assert "POST /api/chat 202" in lines and "GET /api/chat/events 200" in lines
    assert "GET /nowhere 404" in lines and "POST /api/chat 415" in lines
    logged = "\n".join(lines)
    for personal in (SENDER, "keynote", "secret", "wamid", "Auditorium"):
        assert personal not in logged


def test_a_request_naming_another_host_is_refused_on_loopback(cloud: Any) -> None:
    import http.client

    from assistant.local.web.server import WebApp

    with WebApp(cloud, lambda: {"questions": 0}, port=0) as app:
        address = app.url.removeprefix("http://")
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request("GET", "/api/report", headers={"Host": "attacker.example:80"})
        assert connection.getresponse().status == 421
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request("GET", "/api/report")
        assert connection.getresponse().status == 200
