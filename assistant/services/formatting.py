"""Reply text as a WhatsApp user sees it: split under the 4,096-character limit of a text message."""

from __future__ import annotations

import re

WHATSAPP_TEXT_LIMIT = 4096
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_message(text: str, limit: int = WHATSAPP_TEXT_LIMIT) -> list[str]:
    """Split text into parts of at most ``limit`` characters, at paragraph, then sentence, then word
    boundaries; a single word longer than the limit is cut."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        sep = "\n\n" if piece.startswith("\0") else " "
        piece = piece.lstrip("\0")
        candidate = f"{current}{sep}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """Units no longer than ``limit``; a unit that starts a paragraph is marked with a leading NUL."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        units = [paragraph] if len(paragraph) <= limit else _SENTENCE_END.split(paragraph)
        first = True
        for unit in units:
            for small in _by_words(unit, limit) if len(unit) > limit else [unit]:
                out.append(("\0" if first else "") + small)
                first = False
    return out


def _by_words(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(word[:limit])
            word = word[limit:]
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return chunks
