"""Word-level text helpers shared by the index and the answerer.

The lexical index and the answerer's overlap score must cut words the same way, or a word that matched in
retrieval would not count when the answer is picked: so both use :func:`terms`.
"""

from __future__ import annotations

import re

# A short, conventional English stopword list. Question words (who, where, when...) are in it on purpose:
# every question has one and they say nothing about which passage answers it.
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most my
myself no nor not now of off on once only or other our ours ourselves out over own same she should so
some such than that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your yours
yourself yourselves get got also may might must shall us let there's what's where's when's who's it's
i'm i'd i'll i've you're we're they're isn't aren't don't doesn't can't won't
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """Strip the commonest English plural endings, so that "sessions" finds "session" and back.

    Anything cleverer (Porter) conflates more than it helps on a corpus this small and this specific.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stopword-free, lightly stemmed words of ``text``, in order (repeats kept)."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        word = word.removesuffix("'s")
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(_stem(word))
    return out


def word_count(text: str) -> int:
    return len(text.split())


# A sentence ends with . ! or ? followed by space and a capital, digit or opening quote/bracket. Abbreviations
# such as "e.g." or "Dr." are protected below rather than by a lookbehind, which Python wants fixed-width.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = (
    "e.g.",
    "i.e.",
    "etc.",
    "Dr.",
    "Mr.",
    "Mrs.",
    "Ms.",
    "Prof.",
    "St.",
    "vs.",
    "approx.",
    "No.",
)


def sentences(text: str) -> list[str]:
    """Split prose into sentences; good enough for event documents, not a general-purpose splitter."""
    text = " ".join(text.split())
    if not text:
        return []
    protected = text
    for abbreviation in _ABBREVIATIONS:
        protected = protected.replace(abbreviation + " ", abbreviation.replace(".", "\x00") + " ")
    parts = _SENTENCE_END.split(protected)
    return [part.replace("\x00", ".").strip() for part in parts if part.strip()]


LIST_MARKER = "- "
_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)])\s+")
_TIME = re.compile(r"^\s*\d{1,2}[:.h]\d{2}\b")
_LABEL_MAX_WORDS = 25
_LABEL = re.compile(r"^\s*[A-Z][\w'/&()\- ]{0,30}:\s+\S")


def is_list_item(line: str) -> bool:
    return bool(_LIST_ITEM.match(line))


def strip_list_marker(line: str) -> str:
    return _LIST_ITEM.sub("", line, count=1).strip()


def is_table_row(line: str) -> bool:
    return line.count("|") >= 2 or (
        line.count("|") == 1 and not line.strip().startswith("|") and len(line) < 200
    )


def is_record_line(line: str) -> bool:
    """A line that stands on its own: a list item, a table row, an agenda entry or a ``Label: value`` line.

    These are never merged into a paragraph nor split into sentences: "09:00-09:45 | Opening keynote |
    Auditorium A" is one fact, and so is "Room: Auditorium A".
    """
    if is_list_item(line) or is_table_row(line) or _TIME.match(line):
        return True
    return is_label_line(line)


def is_label_line(line: str) -> bool:
    """``Room: Auditorium A``; a long line that merely starts with ``Note:`` is prose, not a record."""
    return bool(_LABEL.match(line)) and word_count(line) <= _LABEL_MAX_WORDS
