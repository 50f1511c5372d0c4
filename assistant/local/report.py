"""The organizers' figures from the local twin's state (`assistant report`, `assistant serve`'s dashboard):
the same counters, read by the same adapter, as a deployed stack's."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from assistant.local.runtime import LocalCloud


def build_report(cloud: LocalCloud) -> dict[str, Any]:
    """The dashboard's figures from a running twin's table."""
    import boto3

    from assistant.adapters.analytics import DynamoDBAnalytics

    table = cloud.table_name()
    return DynamoDBAnalytics(boto3.client("dynamodb"), table, cloud.clock).report(cloud.clock.now())


def report_for_home(home: Path) -> dict[str, Any]:
    """The figures of what the twin in ``home`` has seen (replays, chats), read from its saved state."""
    with LocalCloud(home, log_stream=io.StringIO()) as cloud:
        return build_report(cloud)
