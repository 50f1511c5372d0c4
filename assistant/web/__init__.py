"""The organizers' dashboard and the local chat page: their files (``*.html``, ``*.css``, ``*.js``), served by
the dashboard function on AWS and by ``assistant serve`` locally, and the report as CSV, which both offer.

Only what the dashboard function needs lives here (it ships to Lambda); the local server is
``assistant.local.web``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

PAGE_FILES = __name__
"""The package whose files are the pages (``importlib.resources.files(PAGE_FILES)``)."""


def report_csv(report: Mapping[str, Any]) -> str:
    """The report as CSV: one row per time bucket and category, a blank line, then the summary figures."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bucket_start", "category", "count"])
    timeline = report.get("timeline") or {}
    for bucket in timeline.get("buckets") or []:
        for category, count in sorted((bucket.get("categories") or {}).items()):
            writer.writerow([_cell(bucket.get("start")), _cell(category), count])
    writer.writerow([])
    writer.writerow(["metric", "value"])
    latency = report.get("latency") or {}
    feedback = report.get("feedback") or {}
    rows: list[tuple[str, Any]] = [
        ("questions", report.get("questions")),
        ("unique_users", report.get("unique_users")),
        ("latency_p50_seconds", latency.get("p50")),
        ("latency_p95_seconds", latency.get("p95")),
        ("guardrail_interventions", report.get("guardrail_interventions")),
        *((f"feedback_{kind}", feedback.get(kind)) for kind in ("positive", "negative", "other")),
        *_prefixed("category", ((c.get("name"), c.get("count")) for c in report.get("categories") or [])),
        *_prefixed("volume", (report.get("volumes") or {}).items()),
        *_prefixed("source", (report.get("sources") or {}).items()),
        *_prefixed(
            "unanswered",
            (
                (group.get("category"), len(group.get("questions") or []))
                for group in report.get("unanswered") or []
            ),
        ),
        ("bucket_seconds", timeline.get("bucket_seconds")),
        ("generated_at", report.get("generated_at")),
    ]
    for name, value in rows:
        writer.writerow([_cell(name), "" if value is None else _cell(value)])
    return out.getvalue()


def _prefixed(prefix: str, items: Iterable[tuple[Any, Any]]) -> list[tuple[str, Any]]:
    return [(f"{prefix}:{name}", value) for name, value in items]


def _cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
