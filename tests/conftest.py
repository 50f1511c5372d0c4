"""Shared test setup: no real AWS, ever, and a known service name for powertools."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from assistant.local.envelopes import text_envelope as local_text_envelope

# Before any boto3 client or powertools Logger exists: fake credentials and a fixed region.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "event-assistant",
        "POWERTOOLS_METRICS_NAMESPACE": "EventAssistant",
    }
)

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    """An End User Messaging Social envelope from tests/fixtures/eum."""
    data: dict[str, Any] = json.loads((FIXTURES / "eum" / name).read_text())
    return data


def with_message(envelope: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of a single-message envelope whose first message has the given fields replaced."""
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    message = entry["changes"][0]["value"]["messages"][0]
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return {**envelope, "whatsAppWebhookEntry": json.dumps(entry)}


def text_envelope(
    body: str, *, wamid: str, sender: str = "15550001111", timestamp: int = 1762827867
) -> dict[str, Any]:
    """A one-text-message envelope, built as `assistant chat` builds them."""
    return local_text_envelope(body, sender=sender, name="Ada Lovelace", wamid=wamid, timestamp=timestamp)


@pytest.fixture
def fixture_envelope() -> Any:
    return load_fixture
