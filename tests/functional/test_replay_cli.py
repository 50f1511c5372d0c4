"""`assistant replay` as a user runs it: a real home directory, logs and state read back, any file at all.

Every home is seeded with the session's embedded sample knowledge (``seeded_home``), so nothing is embedded
twice. The command runs in process (``main([...])``) unless a subprocess is what the test is about: the
entry point itself, and a process killed in the middle of a replay.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.local import knowledge_home
from assistant.local.runtime import LocalCloud
from assistant.local.socialmessaging import SocialMessagingStandIn
from tests.conftest import FIXTURES, text_envelope

# Personal data present in the fixtures and the synthetic messages below: none may reach logs or state.
PERSONAL = [
    "972987654321",
    "15550001111",
    "15550009999",
    "972123456789",
    "Test Name",
    "Test User",
    "Ada Lovelace",
    "wamid.",
    "US.13491208655302741918",
    "Body Text",
    "my secret question about the keynote",
    "Chandler",
]

QUESTIONS = [
    "where is the opening keynote?",
    "When is lunch on day 1?",
    "Who won the football match last night?",
]


def subprocess_replay(
    tmp_path: Path, lines: list[str], *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "replay", str(events), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | (env or {}),
        check=False,
    )


def replay(capsys: pytest.CaptureFixture[str], events: Path, *extra: str) -> tuple[int, str, str]:
    """``assistant replay`` in this process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(["replay", str(events), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def write_lines(path: Path, lines: list[str | bytes]) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def fixture_lines() -> list[str]:
    return [json.dumps(json.loads(p.read_text())) for p in sorted((FIXTURES / "eum").glob("*.json"))]


def question_lines() -> list[str]:
    # One sender each: a user's second question while the first is answered would be told to wait.
    return [
        json.dumps(text_envelope(text, wamid=f"wamid.Q{n}", sender=f"1555000{n:04d}"))
        for n, text in enumerate(QUESTIONS, start=1)
    ]


def calls_in(*outputs: str) -> list[dict[str, Any]]:
    return [json.loads(line)["message"] for output in outputs for line in output.splitlines() if line]


def replies_by_question(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["context"]["message_id"] for m in messages if m.get("type") == "text")


def read_receipts_by_question(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(m["message_id"] for m in messages if m.get("status") == "read")


# -- the command as a user runs it --------------------------------------------------------------------------


def test_replay_of_the_sample_fixtures(tmp_path: Path, seeded_home: Path) -> None:
    lines = fixture_lines()
    lines += [
        lines[-1],
        "this is not json",
        json.dumps(text_envelope("my secret question about the keynote", wamid="wamid.Z")),
    ]
    result = subprocess_replay(
        tmp_path, lines, "--out", str(tmp_path / "out.jsonl"), "--home", str(seeded_home)
    )
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(c["operation"] == "SendWhatsAppMessage" and c["metaApiVersion"] for c in calls)
    messages = [c["message"] for c in calls]
    typing = [m for m in messages if "typing_indicator" in m]
    replies = [m for m in messages if m.get("type") == "text"]
    # five questions (2 texts, 2 interactive, 1 synthetic text), two voice notes (heard in the answer stage:
    # their media ids name no media here, so each gets the "couldn't play that" reply), six unsupported kinds
    assert len(typing) == 5 + 2
    assert len(replies) == 5 + 2 + 6
    assert "not JSON" in result.stderr
    assert result.stdout == ""


def test_replay_writes_calls_to_stdout_without_out_and_uses_assistant_home(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSISTANT_HOME", str(seeded_home))
    events = write_lines(tmp_path / "events.jsonl", [json.dumps(text_envelope("hello", wamid="wamid.H"))])
    code, out, _ = replay(capsys, events)
    assert code == 0
    assert len(out.splitlines()) == 2
    assert (seeded_home / "logs" / "functions.log").exists()
    code, out, err = replay(capsys, events)
    assert out == "" and "DuplicateMessage: 1" in err


def test_default_home_is_dot_assistant_in_the_working_directory(
    tmp_path: Path, sample_kb_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(sample_kb_dir, knowledge_home.knowledge_dir(tmp_path / ".assistant"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSISTANT_HOME", raising=False)
    events = write_lines(tmp_path / "events.jsonl", [json.dumps(text_envelope("hello", wamid="wamid.D"))])
    code, _, _ = replay(capsys, events)
    assert code == 0
    assert (tmp_path / ".assistant" / "hash.key").exists()


def test_no_personal_data_in_logs_metrics_state_or_summary(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = fixture_lines() + [
        json.dumps(text_envelope("my secret question about the keynote", wamid="wamid.Z"))
    ]
    events = write_lines(tmp_path / "events.jsonl", list(lines))
    code, _, err = replay(capsys, events, "--out", str(tmp_path / "out.jsonl"), "--home", str(seeded_home))
    assert code == 0
    log = (seeded_home / "logs" / "functions.log").read_text()
    state = "".join(p.read_text() for p in (seeded_home / "state").glob("*.json"))
    assert '"level":"INFO"' in log and "MessageStatus" in log  # the logs are really there
    assert "MessageStatus sent" in err  # and the status events of what was sent came back
    assert "msg#" in state and "user#" in state
    for text in (log, state, err):
        for value in PERSONAL:
            assert value not in text, value


# -- any file at all ----------------------------------------------------------------------------------------


def test_lines_that_cannot_be_published_are_reported_by_number_and_skipped(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, last = question_lines()[:2]
    oversized = json.dumps(text_envelope("my secret question about the keynote " * 9000, wamid="wamid.B"))
    assert len(oversized.encode()) > 300_000
    lines: list[str | bytes] = [
        first,
        b'{"whatsAppWebhookEntry": "\xff\xfe Chandler"}',  # 2: not UTF-8
        "[" * 100_000 + "]" * 100_000,  # 3: deeper than the JSON parser's recursion limit
        '{"a":' * 20_000 + "1" + "}" * 20_000,  # 4
        oversized,  # 5
        b"\x00\x00\x00",  # 6: UTF-8, but not JSON
        '["an", "array"]',  # 7
        "",
        last,  # 9
    ]
    events = write_lines(tmp_path / "events.jsonl", lines)
    code, out, err = replay(capsys, events, "--home", str(seeded_home))
    assert code == 0
    assert replies_by_question(calls_in(out)) == {"wamid.Q1": 1, "wamid.Q2": 1}
    assert "line 2: not valid UTF-8 (at byte 27), skipped" in err
    assert "line 3: nested too deeply, skipped" in err
    assert "line 4: nested too deeply, skipped" in err
    assert "line 5: over SNS's 256 KB limit, skipped" in err
    assert "line 6: not JSON, skipped" in err
    assert "line 7: not a JSON object, skipped" in err
    assert "line 8" not in err and "line 9" not in err
    assert "envelopes: 2" in err
    for value in ("Chandler", "my secret question", "wamid."):
        assert value not in err


def test_random_bytes_between_two_envelopes_are_reported_line_by_line_and_the_envelopes_answered(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = random.Random(20261123).randbytes(64 * 1024)
    assert b"\x00" in junk and b"\n" in junk
    first, last = question_lines()[:2]
    events = tmp_path / "junk.bin"
    events.write_bytes(first.encode() + b"\n" + junk + b"\n" + last.encode() + b"\n")
    code, out, err = replay(capsys, events, "--home", str(seeded_home))
    assert code == 0
    assert replies_by_question(calls_in(out)) == {"wamid.Q1": 1, "wamid.Q2": 1}
    assert "not valid UTF-8" in err and "replay finished" in err
    assert "envelopes: 2" in err


def test_envelope_exactly_at_the_sns_limit_is_published(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = json.dumps(text_envelope("x", wamid="wamid.L"))
    line = line[:-1] + ', "padding": "' + "p" * (262_144 - len(line) - 15) + '"}'
    assert len(line.encode()) == 262_144
    code, out, err = replay(
        capsys, write_lines(tmp_path / "events.jsonl", [line]), "--home", str(seeded_home)
    )
    assert code == 0 and "skipped" not in err
    assert read_receipts_by_question(calls_in(out)) == {"wamid.L": 1}


# -- interrupted, then replayed: nothing sent twice ---------------------------------------------------------


def test_replay_killed_between_lines_and_run_again_sends_every_reply_once(
    tmp_path: Path, seeded_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = question_lines()
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "replay", "-", "--home", str(seeded_home)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=tmp_path,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
    assert process.stdin is not None and process.stdout is not None
    watchdog = threading.Timer(120, process.kill)  # a hung replay fails the test, not the whole run
    watchdog.start()
    first_run = []
    try:
        for line in lines[:2]:
            process.stdin.write(line.encode() + b"\n")
            process.stdin.flush()
            # read receipt and reply: the line is done, and the replay waits for the next one
            first_run += [process.stdout.readline().decode() for _ in range(2)]
    finally:
        process.kill()  # SIGKILL: no exit handler runs; only what was saved after each line survives
        process.wait(timeout=30)
        watchdog.cancel()
    diagnostics = (tmp_path / "stderr.txt").read_text(errors="replace")
    assert replies_by_question(calls_in(*first_run)) == {"wamid.Q1": 1, "wamid.Q2": 1}, diagnostics

    events = write_lines(tmp_path / "events.jsonl", list(lines))
    code, second_run, _ = replay(capsys, events, "--home", str(seeded_home))
    assert code == 0
    messages = calls_in(*first_run, second_run)
    expected = {f"wamid.Q{n}": 1 for n in range(1, len(lines) + 1)}
    assert replies_by_question(messages) == expected
    assert read_receipts_by_question(messages) == expected


Interrupt = Callable[[Callable[[], None], pytest.MonkeyPatch], None]
"""Runs (or not) the real drain of the line to interrupt, and interrupts it."""


def interrupt_at(monkeypatch: pytest.MonkeyPatch, line: int, interrupt: Interrupt) -> None:
    """Make the ``line``-th drain of the replay go through ``interrupt``."""
    real_drain = LocalCloud.drain
    drains = 0

    def drain(cloud: LocalCloud, max_rounds: int = 200) -> None:
        nonlocal drains
        drains += 1
        if drains == line:
            interrupt(lambda: real_drain(cloud, max_rounds), monkeypatch)
        else:
            real_drain(cloud, max_rounds)

    monkeypatch.setattr(LocalCloud, "drain", drain)


def keyboard_interrupt_before_the_line_ran(real_drain: Callable[[], None], _: pytest.MonkeyPatch) -> None:
    raise KeyboardInterrupt


def keyboard_interrupt_after_the_line_ran(real_drain: Callable[[], None], _: pytest.MonkeyPatch) -> None:
    real_drain()
    raise KeyboardInterrupt


def ctrl_c_in_the_middle_of_the_line(real_drain: Callable[[], None], patch: pytest.MonkeyPatch) -> None:
    # Ctrl-C while the line's read receipt is being sent: the message is admitted, its answer still
    # queued. Stopping there would save the admission and lose the answer with the in-memory queue.
    assert threading.current_thread() is threading.main_thread()  # where the replay's handler runs
    send = SocialMessagingStandIn._send

    def send_during_ctrl_c(stand_in: SocialMessagingStandIn, request: dict[str, Any]) -> str:
        patch.setattr(SocialMessagingStandIn, "_send", send)  # once
        os.kill(os.getpid(), signal.SIGINT)
        return send(stand_in, request)

    patch.setattr(SocialMessagingStandIn, "_send", send_during_ctrl_c)
    real_drain()


@pytest.mark.parametrize(
    "interrupt",
    [
        keyboard_interrupt_before_the_line_ran,
        keyboard_interrupt_after_the_line_ran,
        ctrl_c_in_the_middle_of_the_line,
    ],
)
def test_interrupted_replay_run_again_sends_every_reply_once(
    tmp_path: Path,
    seeded_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    interrupt: Interrupt,
) -> None:
    lines = question_lines()
    events = write_lines(tmp_path / "events.jsonl", list(lines))
    with monkeypatch.context() as patch:
        interrupt_at(patch, 2, interrupt)
        code, first_run, err = replay(capsys, events, "--home", str(seeded_home))
    assert code == 130
    assert "replay interrupted at line 2" in err
    assert 1 <= len(replies_by_question(calls_in(first_run))) <= 2

    code, second_run, _ = replay(capsys, events, "--home", str(seeded_home))
    assert code == 0
    messages = calls_in(first_run, second_run)
    expected = {f"wamid.Q{n}": 1 for n in range(1, len(lines) + 1)}
    assert replies_by_question(messages) == expected
    assert read_receipts_by_question(messages) == expected
