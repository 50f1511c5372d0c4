from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.local.runtime import LocalCloud


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    """The local twin (moto + the socialmessaging stand-in), built from template.yaml, logs captured."""
    log = io.StringIO()
    with LocalCloud(tmp_path / "home", log_stream=log) as running:
        running.log = log  # type: ignore[attr-defined]
        yield running
