"""``assistant loadtest`` end to end: an event's traffic through the local pipeline with concurrent
invocations, with and without each fault, and the invariants it checks.

Small runs (tens of messages): the command's defaults (10,000 messages) are measured in the README.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.local import loadtest
from assistant.local.engine import KnowledgeBase

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"users": 25, "messages": 60, "window": 10.0, "baseline_messages": 20}


def small(**changes: object) -> loadtest.Options:
    return loadtest.Options(**(SMALL | {"engine": "scripted"} | changes))  # type: ignore[arg-type]


def test_an_event_burst_holds_every_invariant(sample_kb: KnowledgeBase) -> None:
    progress = io.StringIO()
    report = loadtest.run(
        small(messages=120, users=40, media_dir=ROOT / "examples" / "media"),
        progress=progress,
        knowledge_base=sample_kb,
    )

    assert report.ok, loadtest.table(report)
    assert report.messages == 120
    assert {"text", "duplicate", "malformed", "status", "reaction", "unsupported", "voice"} <= set(
        report.kinds
    )
    # Every message due a reply got exactly one: an answer, or a fixed text (unsupported, still working).
    assert report.valid == report.replies > 0
    assert 0 < report.static_replies < report.replies
    assert report.lost == report.duplicate_replies == report.unexpected_replies == 0
    assert report.locks_left == 0 and report.dead_lettered == 0 and report.pii_in_logs == 0
    assert report.typing_p50_ms is not None and report.reply_p50_ms is not None
    assert report.typing_p50_ms <= report.reply_p50_ms
    assert report.calls["dynamodb.TransactWriteItems"] > 0
    assert report.baseline_ms_per_msg > 0
    assert "published" in progress.getvalue()


@pytest.mark.parametrize(
    ("fault", "rate"),
    [
        ("bedrock-throttle", 0.3),
        ("send-throttle", 0.2),
        ("ddb-throttle", 0.05),
        ("ambiguous", 0.05),
        ("crash", 0.02),
    ],
)
def test_every_fault_still_gives_one_reply_per_message(
    fault: str, rate: float, sample_kb: KnowledgeBase
) -> None:
    report = loadtest.run(small(faults={fault: rate}, seed=11), knowledge_base=sample_kb)

    assert sum(report.faults["fired"].values()) > 0, "the fault never fired: the test proves nothing"
    assert report.duplicate_replies == 0 and report.unexpected_replies == 0, loadtest.table(report)
    assert report.locks_left == 0 and report.pii_in_logs == 0, loadtest.table(report)
    if fault == "crash":
        # An answer attempt that dies three times in a row is dead-lettered by design (maxReceiveCount 3):
        # nothing is dropped, what has no reply waits in a DLQ for a redrive.
        assert report.lost <= report.dead_lettered, loadtest.table(report)
    else:
        assert report.lost == 0 and report.dead_lettered == 0, loadtest.table(report)


def test_answers_are_worked_on_concurrently(sample_kb: KnowledgeBase) -> None:
    """With a 0.5 s answer time and 4 answer invocations allowed in flight, the scripted engine works on
    several questions at once: the workers overlap their waits, as Lambda's concurrent invocations do."""
    report = loadtest.run(
        small(users=20, messages=20, window=0.5, latency=0.5, concurrency=4), knowledge_base=sample_kb
    )

    assert report.ok, loadtest.table(report)
    assert report.peak_answers_in_flight >= 2


def test_the_command_prints_json_and_fails_on_bad_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sample_kb: KnowledgeBase
) -> None:
    original = loadtest.run

    def with_the_sample_kb(options: loadtest.Options, progress: object = None) -> loadtest.Report:
        options.baseline_messages = 10
        return original(options, knowledge_base=sample_kb)

    monkeypatch.setattr(loadtest, "run", with_the_sample_kb)
    arguments = ["--users", "10", "--messages", "20", "--window", "5", "--engine", "scripted"]
    code = main(["loadtest", *arguments, "--json", "--fault", "send-throttle=0.1"])
    report = json.loads(capsys.readouterr().out)

    assert code == 0 and report["ok"] is True
    for key in (
        "messages",
        "valid",
        "replies",
        "static_replies",
        "lost",
        "duplicate_replies",
        "dead_lettered",
        "locks_left",
        "throughput_msgs_per_s",
        "typing_p50_ms",
        "typing_p95_ms",
        "reply_p50_ms",
        "reply_p95_ms",
        "faults",
    ):
        assert key in report
    assert report["faults"]["rates"] == {"send-throttle": 0.1}

    assert main(["loadtest", "--fault", "lightning=0.5"]) == 2
    assert main(["loadtest", "--users", "10", "--messages", "1000"]) == 2
    assert "raise --users" in capsys.readouterr().err
