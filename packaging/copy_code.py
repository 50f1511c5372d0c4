"""Copy what runs in Lambda into a function's artifact directory (the Makefile's ``build-%Function``).

Only the ``assistant`` and ``handlers`` packages, without the local twin (``assistant/local``: the stand-ins,
the local engine, the web server). Never the local state (``.assistant/``, with its hash key), the tests,
the benchmarks, the documents or the template.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("assistant", "handlers")


def _ignore(directory: str, names: list[str]) -> set[str]:
    ignored = {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo"))}
    if Path(directory).resolve() == ROOT / "assistant":
        ignored.add("local")
    return ignored


def copy_code(target: Path) -> None:
    for package in PACKAGES:
        destination = target / package
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(ROOT / package, destination, ignore=_ignore)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: copy_code.py ARTIFACTS_DIR")
    copy_code(Path(sys.argv[1]))
