"""What `sam build` packages: the locked dependencies still satisfy pyproject.toml, every function is built by
the Makefile's recipe, and that recipe copies only what runs in Lambda (packaging/check_artifacts.py checks a
real build in CI's `make sam-build`)."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from assistant.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "packaging" / "requirements-lambda.txt"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    return {
        _normal(m.group(1)): m.group(2)
        for m in re.finditer(
            r"^([A-Za-z0-9_.-]+)==(\S+) \\\n\s+--hash=sha256:[0-9a-f]{64}", LOCK.read_text(), re.M
        )
    }


def test_the_lock_pins_every_dependency_of_the_functions_with_a_hash() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    locked = _locked()
    assert len(locked) == LOCK.read_text().count("==")
    for line in dependencies:
        requirement = Requirement(line)
        version = locked.get(_normal(requirement.name))
        assert version is not None, f"{requirement.name} is not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{requirement.name}=={version} no longer satisfies {requirement.specifier}: run `make lock`"
        )


def test_every_function_is_built_by_the_makefile_from_the_project() -> None:
    template = load_template(ROOT / "template.yaml")
    functions = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert len(functions) >= 5
    for name, resource in functions.items():
        assert resource.get("Metadata", {}).get("BuildMethod") == "makefile", name
    assert template["Globals"]["Function"]["CodeUri"] == "."
    makefile = (ROOT / "Makefile").read_text()
    assert "build-%Function:" in makefile and "--require-hashes" in makefile
    assert "--platform manylinux2014_aarch64 --python-version 3.12" in makefile


def test_the_recipe_copies_the_packages_without_the_local_twin(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from copy_code import copy_code  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    copy_code(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["assistant", "handlers"]
    assert not (tmp_path / "assistant" / "local").exists()
    assert (tmp_path / "assistant" / "web" / "dashboard.html").exists()
    assert not list(tmp_path.rglob("__pycache__"))
    for handler in ("inbound", "answer", "ingest", "categorize", "dashboard"):
        assert (tmp_path / "handlers" / f"{handler}.py").exists()
