"""The dashboard and the chat in headless Chromium, against the server on a twin with replayed traffic."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from assistant.local.web.server import WebApp

if TYPE_CHECKING:
    from playwright.sync_api import Page

VOICE = Path(__file__).resolve().parents[1] / "fixtures" / "voice"

# The twin silences this powertools warning while it runs; pytest resets warning filters for every test, and
# this module's twin outlives one.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


def expect(target: Any) -> Any:
    # Imported here: without playwright the fixtures skip (or fail on CI) before any test body runs.
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def test_the_dashboard_draws_categories_over_time_and_the_counts(
    served: WebApp, page: Page, page_errors: list[str]
) -> None:
    page.goto(served.url + "/")
    assert page.url == served.url + "/dashboard"
    expect(page.locator("#categories-chart svg rect.bar").first).to_be_visible()
    assert page.locator("#categories-chart svg rect.bar").count() >= 1
    report = page.request.get(served.url + "/api/report").json()
    assert report["questions"] >= 1
    expect(page.locator("#questions-count")).to_have_text(str(report["questions"]))
    expect(page.locator("#unique-users")).to_have_text(str(report["unique_users"]))
    expect(page.locator("#top-categories li")).to_have_count(min(8, len(report["categories"])) or 1)
    expect(page.get_by_role("heading", name="Categories over time")).to_be_visible()
    link = page.get_by_role("link", name="Download CSV")
    assert link.get_attribute("href") == "/api/report.csv"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".csv")
    assert page_errors == []


def test_the_dashboard_refreshes_itself_every_five_seconds(served: WebApp, page: Page) -> None:
    page.goto(served.url + "/dashboard")
    expect(page.locator("#status")).to_contain_text("Updated")
    started = time.monotonic()
    with page.expect_request(lambda request: request.url.endswith("/api/report"), timeout=8_000):
        pass
    assert 3.5 < time.monotonic() - started < 8


def test_the_chat_shows_read_ticks_typing_then_the_reply_with_its_sources(
    served: WebApp, page: Page, page_errors: list[str]
) -> None:
    page.goto(served.url + "/chat")
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_label("Message").fill("where is the opening keynote?")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_selector("#typing", state="visible")
    reply = page.locator("#messages .bubble.incoming").last
    expect(reply).to_contain_text("Auditorium A")
    expect(page.locator("#typing")).to_be_hidden()
    mine = page.locator("#messages .bubble.outgoing").last
    expect(mine).to_contain_text("where is the opening keynote?")
    expect(mine.locator(".ticks.read")).to_have_text("✓✓")
    expect(reply.locator(".sources li").first).to_be_visible()
    assert "_" not in reply.locator(".sources-title").inner_text()
    assert page_errors == []


def test_a_voice_note_chosen_from_a_file_is_answered(served: WebApp, page: Page) -> None:
    page.goto(served.url + "/chat")
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#voice-input", str(VOICE / "keynote-en.ogg"))
    expect(page.locator("#messages .bubble.outgoing").last).to_contain_text("Voice note")
    reply = page.locator("#messages .bubble.incoming").last
    expect(reply).to_contain_text("Auditorium A", timeout=60_000)
    expect(reply).to_contain_text("🎤")
