from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as the local twin reads it (short forms kept as ``{"Ref": ...}``), read once."""
    return load_template(ROOT / "template.yaml")


def as_list(value: Any) -> list[Any]:
    """A template field that may be one value or a list of them (Action, Resource), as a list."""
    return value if isinstance(value, list) else [value]
