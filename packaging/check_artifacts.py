"""Check what `sam build` wrote: each function holds only what runs in Lambda, and its handler imports.

    python packaging/check_artifacts.py .aws-sam/build

For each function directory: nothing of the project but the ``assistant`` and ``handlers`` packages (no local
twin, state, tests, benchmarks, documents or template), every locked distribution installed, and its handler
imported by a Python that sees only that directory and the standard library (the dependencies are pure Python,
or have a pure-Python fallback, so the check runs on any machine). Prints each function's size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "packaging" / "requirements-lambda.txt"
FORBIDDEN = (
    ".assistant",
    ".venv",
    "tests",
    "benchmarks",
    "knowledge",
    "examples",
    "docs",
    "layers",
    "packaging",
    "template.yaml",
    "pyproject.toml",
    "Makefile",
    "README.md",
    "assistant/local",
)


class _Loader(yaml.SafeLoader):
    """Reads the built template's CloudFormation short forms (!Ref, !Sub...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _locked() -> list[str]:
    return [m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", LOCK.read_text(), re.MULTILINE)]


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def check(build: Path) -> list[str]:
    template = yaml.load((build / "template.yaml").read_text(), Loader=_Loader)
    problems: list[str] = []
    normalise = lambda name: re.sub(r"[-_.]+", "_", name).lower()  # noqa: E731
    for name, resource in sorted(template["Resources"].items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code = build / name
        handler = resource["Properties"]["Handler"]
        for entry in FORBIDDEN:
            if (code / entry).exists():
                problems.append(f"{name}: holds {entry}, which does not run in Lambda")
        installed = {normalise(p.name.split("-")[0]) for p in code.glob("*.dist-info")}
        missing = [d for d in _locked() if normalise(d) not in installed]
        if missing:
            problems.append(f"{name}: locked but not installed: {', '.join(missing)}")
        module, function = handler.rsplit(".", 1)
        probe = (
            "import sys; sys.path[:0] = [sys.argv[1]]; import importlib; "
            f"m = importlib.import_module({module!r}); assert callable(getattr(m, {function!r}))"
        )
        run = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe, str(code)], capture_output=True, text=True, check=False
        )
        if run.returncode:
            last = (run.stderr.strip().splitlines() or ["?"])[-1]
            problems.append(f"{name}: {handler} does not import from the artifact: {last}")
        print(f"{name:<22} {_size(code) / 2**20:6.1f} MiB  {handler}")
    return problems


if __name__ == "__main__":
    build = Path(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build")
    found = check(build)
    for problem in found:
        print(problem, file=sys.stderr)
    raise SystemExit(1 if found else 0)
