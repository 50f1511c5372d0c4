from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.local import knowledge_home
from assistant.local.engine import KnowledgeBase
from assistant.local.runtime import LocalCloud, shared_embedder


@pytest.fixture(scope="session")
def sample_kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample knowledge, embedded once for the whole session (seeding a home costs seconds)."""
    home = tmp_path_factory.mktemp("sample-home")
    knowledge_home.open_knowledge_base(home, shared_embedder(), seed=True)
    return knowledge_home.knowledge_dir(home)


@pytest.fixture(scope="session")
def sample_kb(sample_kb_dir: Path) -> KnowledgeBase:
    return KnowledgeBase.load(sample_kb_dir, shared_embedder())


@pytest.fixture
def seeded_home(tmp_path: Path, sample_kb_dir: Path) -> Path:
    """A home directory that already holds the sample knowledge base."""
    home = tmp_path / "home"
    shutil.copytree(sample_kb_dir, knowledge_home.knowledge_dir(home))
    return home


@pytest.fixture
def cloud(tmp_path: Path, sample_kb: KnowledgeBase) -> Iterator[LocalCloud]:
    """The local twin (moto + the socialmessaging and Bedrock stand-ins), built from template.yaml,
    answering from the sample knowledge, logs captured."""
    with LocalCloud(tmp_path / "home", log_stream=io.StringIO(), knowledge_base=sample_kb) as running:
        yield running


# Imported here, with its fixture, to leave the rest of this file as it was (cheap: no faster-whisper).
from assistant.local.speech import LocalWhisperTranscriber  # noqa: E402


@pytest.fixture(scope="session")
def local_transcriber() -> LocalWhisperTranscriber:
    """Whisper base, loaded once for the session (about a second) and shared by the voice tests."""
    transcriber = LocalWhisperTranscriber()
    transcriber.warm()
    return transcriber
