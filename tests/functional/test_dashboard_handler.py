"""The dashboard Lambda behind the HTTP API (payload 2.0), with the report read from moto's DynamoDB."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.analytics import DynamoDBAnalytics
from assistant.fakes import FixedClock
from assistant.ports import AnswerRecord, QuestionRecord
from assistant.services.analytics import bucket_of
from handlers import dashboard
from tests.worlds import create_table

NOW = 1_773_219_600.0  # 2026-03-11 09:00 UTC
BUCKET = bucket_of(NOW)
SECRET_QUESTION = "=is there a sauna near room 4?"
USER = "user-hash-15550100777"
AUTH = {"authDomain": "https://organizers-x.auth.us-east-1.amazoncognito.com", "clientId": "client123"}
META = f'<meta name="auth" data-domain="{AUTH["authDomain"]}" data-client-id="client123">\n'

ENVIRONMENT = {
    "TABLE_NAME": "t",
    "PROCESSED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:processed",
    "HASH_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
    "KNOWLEDGE_BASE_ID": "KB",
    "GENERATION_MODEL_ARN": "arn:aws:bedrock:us-east-1::foundation-model/m",
    "GUARDRAIL_ID": "g",
    "GUARDRAIL_VERSION": "1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class Context:
    function_name = "dashboard"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:dashboard"
    aws_request_id = "req-1"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    dashboard.analytics.cache_clear()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        store = DynamoDBAnalytics(client, "t", FixedClock(NOW))
        store.record_question(
            QuestionRecord("m1", USER, "Venue & Facilities", "text", BUCKET, "2026-03-11", SECRET_QUESTION)
        )
        store.record_question(QuestionRecord("m2", "u2", "Agenda", "audio", BUCKET, "2026-03-11", "when?"))
        store.record_answer(AnswerRecord("m2", "knowledge_base", 1.5, BUCKET))
        yield
    dashboard.analytics.cache_clear()


def request(
    path: str, method: str = "GET", *, stage: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    """An HTTP API (payload format 2.0) event, as API Gateway sends it."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "authorization": "Bearer secret.jwt.token",
            "host": "abc.execute-api.us-east-1.amazonaws.com",
        },
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "203.0.113.9", "userAgent": "test"},
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "stage": "$default",
        },
        "stageVariables": stage,
        "isBase64Encoded": False,
    }


def call(event: dict[str, Any]) -> dict[str, Any]:
    return dashboard.handler(event, Context())  # type: ignore[arg-type]


def test_the_report_route_answers_the_counters_as_json(table: None) -> None:
    response = call(request("/api/report", stage=AUTH))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("application/json")
    assert response["headers"]["Cache-Control"] == "no-store"
    report = json.loads(response["body"])
    assert report["questions"] == 2
    assert {c["name"] for c in report["categories"]} == {"Venue & Facilities", "Agenda"}
    assert report["volumes"] == {"text": 1, "audio": 1}
    assert report["unique_users"] == 2


def test_the_csv_route_answers_the_local_servers_csv_as_an_attachment(table: None) -> None:
    response = call(request("/api/report.csv"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/csv; charset=utf-8"
    assert response["headers"]["Content-Disposition"].startswith('attachment; filename="assistant-report-')
    rows = list(csv.reader(io.StringIO(response["body"])))
    assert rows[0] == ["bucket_start", "category", "count"]
    assert ["questions", "2"] in rows


def test_the_root_redirects_to_the_dashboard() -> None:
    response = call(request("/"))
    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "/dashboard"


def test_the_page_is_the_local_servers_page() -> None:
    from importlib import resources

    response = call(request("/dashboard", stage=AUTH))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    local = resources.files("assistant.web").joinpath("dashboard.html").read_text()
    assert response["body"].replace(META, "") == local
    # The page may trade its sign-in code with the Cognito domain, and with nothing else out there.
    policy = response["headers"]["Content-Security-Policy"]
    assert f"connect-src 'self' {AUTH['authDomain']};" in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("dashboard.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8")],
)
def test_the_dashboards_static_files_are_served_with_their_types(name: str, content_type: str) -> None:
    response = call(request(f"/static/{name}"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == content_type
    assert response["body"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/chat.js",
        "/static/server.py",
        "/static/../server.py",
        "/config.json",
        "/chat",
        "/api/chat",
        "/nope",
    ],
)
def test_anything_else_is_not_found(path: str) -> None:
    response = call(request(path))
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"error": "not found"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_only_get_is_answered(method: str) -> None:
    assert call(request("/api/report", method))["statusCode"] == 405


def test_the_page_on_aws_carries_how_to_sign_in_from_the_stage_variables() -> None:
    body = call(request("/dashboard", stage=AUTH))["body"]
    assert META + "</head>" in body


@pytest.mark.parametrize("stage", [None, {}, {"authDomain": "http://plain.example", "clientId": "c"}])
def test_the_page_offers_no_sign_in_without_a_complete_configuration(stage: dict[str, str] | None) -> None:
    from importlib import resources

    body = call(request("/dashboard", stage=stage))["body"]
    assert 'name="auth"' not in body
    assert body == resources.files("assistant.web").joinpath("dashboard.html").read_text()


def test_a_failing_report_answers_500_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def report(self, now: float) -> dict[str, Any]:
            raise RuntimeError(SECRET_QUESTION)

    monkeypatch.setattr(dashboard, "analytics", lambda: Broken())
    response = call(request("/api/report"))
    assert response["statusCode"] == 500
    assert SECRET_QUESTION not in response["body"]


def test_logs_name_the_method_and_route_and_nothing_personal(
    table: None, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    call(request("/api/report", stage=AUTH, query="code=sign-in-code-123"))
    call(request("/api/report.csv"))
    call(request("/secret-path-15550100777"))
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "GET /api/report 200" in logged
    assert "GET - 404" in logged
    for personal in ("Bearer", "secret.jwt.token", "sign-in-code-123", "203.0.113.9", "15550100777", "sauna"):
        assert personal not in logged, personal
