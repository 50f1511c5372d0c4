"""Browser tests: `assistant serve`'s pages in a real headless Chromium (Debian's), driven by Playwright.

Skipped, with the reason, where Chromium or Playwright is missing, except on CI (``CI`` set), where they
fail instead: CI is what proves them (``.ci/run`` installs Chromium)."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from assistant.local.envelopes import text_envelope
from assistant.local.runtime import LocalCloud
from assistant.local.web.server import WebApp

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# As this machine needs them: no sandbox as root, no GPU, and none of Chromium's own network traffic
# (its connections out are refused here, many at a time).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TRAFFIC = [
    ("15550100201", "where is the opening keynote?"),
    ("15550100202", "is there wifi?"),
    ("15550100203", "hello"),
    ("15550100201", "where can I have lunch?"),
]
"""Replayed before the pages open: the dashboard has something to show."""


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} (Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests need {missing}; on CI they must run")
        pytest.skip(f"the browser tests need {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Debian's Chromium, never a browser Playwright downloads (`playwright install` cannot work here).
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def stub_report(cloud: LocalCloud) -> Callable[[], dict[str, Any]]:
    """A report in the dashboard's shape, from what the twin sent (for when ``assistant.local.report`` is not
    there): one question per read receipt, all in one bucket."""

    def report() -> dict[str, Any]:
        sent = cloud.social.sent()
        questions = sum(1 for message in sent if message.get("status") == "read")
        replies = sum(1 for message in sent if message.get("type") == "text")
        return {
            "questions": questions,
            "categories": [{"name": "general", "count": questions}],
            "timeline": {
                "bucket_seconds": 900,
                "buckets": [{"start": "2026-03-11T09:00:00Z", "categories": {"general": questions}}],
            },
            "volumes": {"text": questions},
            "unique_users": len({sender for sender, _ in TRAFFIC}),
            "latency": {"p50": 0.4, "p95": 1.2},
            "sources": {"knowledge_base": replies},
            "guardrail_interventions": 0,
            "feedback": {"positive": 0, "negative": 0, "other": 0},
            "unanswered": [],
            "generated_at": "2026-03-11T09:15:00Z",
        }

    return report


def report_of(cloud: LocalCloud) -> Callable[[], dict[str, Any]]:
    """The real report when it is there, else the stub."""
    try:
        from assistant.local.report import build_report
    except ImportError:
        return stub_report(cloud)
    return lambda: build_report(cloud)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    """The server on a free port, on a twin that has answered some traffic already."""
    home = tmp_path_factory.mktemp("browser") / "home"
    with LocalCloud(home, log_stream=io.StringIO()) as cloud:
        for sender, text in TRAFFIC:
            cloud.publish_inbound(json.dumps(text_envelope(text, sender=sender)))
        cloud.drain()
        with WebApp(cloud, report_of(cloud), port=0) as app:
            yield app
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def page_errors() -> list[str]:
    """What went wrong in the page: uncaught errors, console errors (a refused script or style among them)."""
    return []


@pytest.fixture
def page(browser: Browser, page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    opened.on("pageerror", lambda error: page_errors.append(str(error)))
    opened.on("console", lambda message: message.type == "error" and page_errors.append(message.text))
    yield opened
    context.close()
