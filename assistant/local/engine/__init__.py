"""The event's knowledge: documents read, cut into passages, searched by words and meaning, and quoted.

Local and offline: BM25 (bm25s) for words, all-MiniLM-L6-v2 (int8 ONNX, shipped by a package) for
meaning, and an extractive answerer that quotes the documents or says it does not know. The heavy
libraries (onnxruntime, tokenizers, bm25s, pypdf) are imported only when first needed.

Typical use::

    embedder = MiniLMEmbedder()
    knowledge = KnowledgeBase.build([load_document(p) for p in paths], embedder)
    reply = answer(question, knowledge.search(question), embedder)
"""

from assistant.local.engine.answer import DEFAULT_THRESHOLD, Citation, ExtractiveAnswer, answer
from assistant.local.engine.chunking import Passage, chunk_document
from assistant.local.engine.documents import SUPPORTED_SUFFIXES, Document, load_document
from assistant.local.engine.embedding import Embedder, MiniLMEmbedder, ModelFilesMissing
from assistant.local.engine.index import Hit, KnowledgeBase, SearchMode

__all__ = [
    "DEFAULT_THRESHOLD",
    "SUPPORTED_SUFFIXES",
    "Citation",
    "Document",
    "Embedder",
    "ExtractiveAnswer",
    "Hit",
    "KnowledgeBase",
    "MiniLMEmbedder",
    "ModelFilesMissing",
    "Passage",
    "SearchMode",
    "answer",
    "chunk_document",
    "load_document",
]
