"""The project installs and runs from a wheel, not only in editable mode: the template and the sample
knowledge ship inside the package (assistant/local/bundled), and nothing is read beside the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from this checkout and installed (without its dependencies: this venv has them) into
    a directory of its own."""
    work = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(work / "dist"), str(ROOT)], check=True)
    (wheel,) = (work / "dist").glob("event_assistant-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)], check=True)
    return work


def _run(installed: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # From a directory outside the checkout, with the installed copy first on the path: the checkout's own
    # editable install must not be what answers.
    env = {**os.environ, "PYTHONPATH": str(installed / "site"), "ASSISTANT_HOME": str(installed / "home")}
    code = "import sys, assistant.cli as c; assert c.__file__.startswith(sys.argv[1]); "
    code += "sys.exit(c.main(sys.argv[2:]))"
    return subprocess.run(
        [sys.executable, "-c", code, str(installed / "site"), *args],
        cwd=installed,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_the_wheel_holds_the_template_and_the_sample_knowledge(installed: Path) -> None:
    bundled = installed / "site" / "assistant" / "local" / "bundled"
    assert (bundled / "template.yaml").is_file() and not (bundled / "template.yaml").is_symlink()
    assert (bundled / "template.yaml").read_text() == (ROOT / "template.yaml").read_text()
    assert sorted(p.name for p in (bundled / "knowledge").iterdir() if p.is_file()) == sorted(
        p.name for p in (ROOT / "knowledge").iterdir() if p.is_file()
    )
    assert (installed / "site" / "assistant" / "web" / "dashboard.html").is_file()


def test_kb_ask_and_replay_run_from_the_wheel(installed: Path) -> None:
    asked = _run(installed, "kb", "ask", "Where is the opening keynote?")
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "answer source: knowledge_base" in asked.stdout + asked.stderr
    events = installed / "events.jsonl"
    events.write_text((ROOT / "examples" / "events.jsonl").read_text().splitlines()[0] + "\n")
    replayed = _run(installed, "replay", str(events))
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    calls = [json.loads(line) for line in replayed.stdout.splitlines() if line.startswith("{")]
    assert any(call["message"].get("type") == "text" for call in calls)
