"""`assistant replay` as a user runs it: a real subprocess, a real home directory, logs read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


def replay(
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


def fixture_lines() -> list[str]:
    return [json.dumps(json.loads(p.read_text())) for p in sorted((FIXTURES / "eum").glob("*.json"))]


def test_replay_of_the_sample_fixtures(tmp_path: Path, seeded_home: Path) -> None:
    lines = fixture_lines()
    lines += [
        lines[-1],
        "this is not json",
        json.dumps(text_envelope("my secret question about the keynote", wamid="wamid.Z")),
    ]
    result = replay(tmp_path, lines, "--out", str(tmp_path / "out.jsonl"), "--home", str(seeded_home))
    assert result.returncode == 0, result.stderr
    calls = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(c["operation"] == "SendWhatsAppMessage" and c["metaApiVersion"] for c in calls)
    messages = [c["message"] for c in calls]
    typing = [m for m in messages if "typing_indicator" in m]
    replies = [m for m in messages if m.get("type") == "text"]
    # five questions (2 texts, 2 interactive, 1 synthetic text), eight unsupported kinds
    assert len(typing) == 5
    assert len(replies) == 5 + 8
    assert "not JSON" in result.stderr
    assert result.stdout == ""


def test_replay_writes_calls_to_stdout_without_out_and_uses_assistant_home(
    tmp_path: Path, seeded_home: Path
) -> None:
    line = json.dumps(text_envelope("hello", wamid="wamid.H"))
    result = replay(tmp_path, [line], env={"ASSISTANT_HOME": str(seeded_home)})
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2
    assert (seeded_home / "logs" / "functions.log").exists()
    again = replay(tmp_path, [line], env={"ASSISTANT_HOME": str(seeded_home)})
    assert again.stdout == "" and "DuplicateMessage: 1" in again.stderr


def test_default_home_is_dot_assistant_in_the_working_directory(tmp_path: Path) -> None:
    result = replay(tmp_path, [json.dumps(text_envelope("hello", wamid="wamid.D"))])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".assistant" / "hash.key").exists()


def test_no_personal_data_in_logs_metrics_state_or_summary(tmp_path: Path) -> None:
    lines = fixture_lines() + [
        json.dumps(text_envelope("my secret question about the keynote", wamid="wamid.Z"))
    ]
    home = tmp_path / "home"
    result = replay(tmp_path, lines, "--out", str(tmp_path / "out.jsonl"), "--home", str(home))
    assert result.returncode == 0
    log = (home / "logs" / "functions.log").read_text()
    state = "".join(p.read_text() for p in (home / "state").glob("*.json"))
    assert '"message":"accepted"' in log and "MessageStatus" in log  # the logs are really there
    assert "msg#" in state and "user#" in state
    for text in (log, state, result.stderr):
        for value in PERSONAL:
            assert value not in text, value
