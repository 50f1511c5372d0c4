"""The local knowledge base in a home directory, and the sample knowledge it starts from."""

from __future__ import annotations

from pathlib import Path

from assistant.local.engine import Embedder, KnowledgeBase, load_document

SUPPORTED = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
LOCAL_BUCKET = "s3://local-knowledge-bucket/"


def sample_knowledge_dir() -> Path:
    """``knowledge/`` at the project root: the sample conference's documents."""
    return Path(__file__).resolve().parents[2] / "knowledge"


def sample_documents() -> list[Path]:
    return sorted(
        p for p in sample_knowledge_dir().iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED
    )


def knowledge_dir(home: Path) -> Path:
    return home / "kb"


def exists(home: Path) -> bool:
    return (knowledge_dir(home) / "passages.json").exists()


def open_knowledge_base(home: Path, embedder: Embedder, *, seed: bool) -> KnowledgeBase:
    """The home's knowledge base; with ``seed``, a home without one gets the sample knowledge first."""
    if exists(home):
        return KnowledgeBase.load(knowledge_dir(home), embedder)
    knowledge_base = KnowledgeBase(embedder)
    if seed:
        add_documents(knowledge_base, sample_documents())
        knowledge_base.save(knowledge_dir(home))
    return knowledge_base


def add_documents(knowledge_base: KnowledgeBase, paths: list[Path]) -> list[str]:
    """Load and add documents (a document added again replaces its earlier version); returns their ids."""
    documents = [load_document(path, uri=LOCAL_BUCKET + path.name) for path in paths]
    knowledge_base.add(documents)
    return [d.doc_id for d in documents]
