"""Chunking: documents cut into passages of roughly 60-180 words that a search can return and cite.

Every section of some size opens a passage of its own and keeps its heading path as context
(``"Day 1 > Opening keynote"``), so that a search for one session finds that session rather than a blend
of two. A small section ("Coffee break / Room: Expo Hall") rides along with the passage before it when
that one is a sibling or a parent, never across two top-level parts of a document (two days of an
agenda); its heading stays in the text as a ``#`` line, which the answerer reads to know what a line such
as "Room: Auditorium A" is about. A long section is cut into several passages, each carrying the last
short line of the one before. Records (list items, table rows, agenda lines, ``Label: value`` lines) stay
whole; long paragraphs are cut between sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.local.engine.documents import Document
from assistant.local.engine.text import (
    LIST_MARKER,
    is_list_item,
    is_record_line,
    sentences,
    strip_list_marker,
    word_count,
)

SECTION_SEPARATOR = " > "
MIN_WORDS = 40
MAX_WORDS = 180

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


@dataclass(frozen=True, slots=True)
class Passage:
    passage_id: str
    """``"<doc_id>#<n>"``: stable while the document does not change."""
    doc_id: str
    title: str
    uri: str
    section: str
    """Heading path of the passage's first section, e.g. ``"Day 1 > Opening keynote"``; empty before any."""
    text: str
    """One unit a line (paragraph, sentence group or record); merged sections' headings as ``#`` lines."""

    @property
    def heading(self) -> str:
        """The innermost heading of :attr:`section`, or the document title when there is none."""
        return self.section.rsplit(SECTION_SEPARATOR, 1)[-1] if self.section else self.title

    def indexed_text(self) -> str:
        """What the indexes see: the title and heading path give a bare line its subject."""
        context = f"{self.title}. {self.section}." if self.section else f"{self.title}."
        return f"{context}\n{self.text}"


@dataclass(frozen=True, slots=True)
class _Unit:
    path: tuple[str, ...]
    text: str
    heading_level: int = 0
    """Non-zero for a heading line (its ``#`` count); such a unit opens a section."""


def chunk_document(
    document: Document, *, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[Passage]:
    """Cut ``document`` into passages; see the module docstring for the rules."""
    passages: list[Passage] = []
    lines: list[str] = []
    path: tuple[str, ...] = ()
    words = 0

    def flush() -> None:
        nonlocal lines, words
        if lines:
            passages.append(
                Passage(
                    passage_id=f"{document.doc_id}#{len(passages)}",
                    doc_id=document.doc_id,
                    title=document.title,
                    uri=document.uri,
                    section=SECTION_SEPARATOR.join(path),
                    text="\n".join(lines),
                )
            )
        lines, words = [], 0

    for section in _sections(document):
        heading = section.path[-1] if section.path else ""
        size = word_count(heading) + sum(word_count(text) for text in section.texts)  # a title says a lot
        if lines and size < min_words and words + size <= max_words and _related(path, section.path):
            # A small section rides along with the passage before it, under its own heading line; the
            # section that opened the passage keeps the passage's embedding and its ``section`` field.
            lines.append("#" * section.level + " " + heading)
            lines.extend(section.texts)
            words += size
            continue
        flush()
        path = section.path
        for text in section.texts:
            size = word_count(text)
            if lines and words + size > max_words:
                carried = lines[-1] if word_count(lines[-1]) < _OVERLAP_MAX_WORDS else None
                flush()
                if carried is not None:  # a short line of context carried over into the next passage
                    lines, words = [carried], word_count(carried)
            lines.append(text)
            words += size
    flush()
    return passages


_OVERLAP_MAX_WORDS = 25


@dataclass(frozen=True, slots=True)
class _Section:
    path: tuple[str, ...]
    level: int
    texts: list[str]


def _sections(document: Document) -> list[_Section]:
    """The document's sections in order, each with its units of text; sections without text are dropped."""
    sections = [_Section((), 0, [])]
    for unit in _units(document):
        if unit.heading_level:
            sections.append(_Section(unit.path, unit.heading_level, []))
        else:
            sections[-1].texts.append(unit.text)
    return [section for section in sections if section.texts]


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether sections at paths ``a`` and ``b`` may share a passage: same parent, or one inside the other."""
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= min(len(a), len(b)) - 1 and (common > 0 or max(len(a), len(b)) <= 1)


def _units(document: Document) -> Iterator[_Unit]:
    """Headings (which set the path) and content units, in order.

    A level-1 heading equal to the document's title is the title, not a section: it is left out of paths.
    """
    stack: list[tuple[int, str]] = []
    paragraph: list[str] = []

    def path() -> tuple[str, ...]:
        return tuple(name for _, name in stack)

    def end_paragraph() -> Iterator[_Unit]:
        if paragraph:
            yield from _split_long(path(), " ".join(paragraph))
            paragraph.clear()

    for raw in document.text.split("\n"):
        line = raw.strip()
        heading = _HEADING.match(line)
        if heading:
            yield from end_paragraph()
            level, name = len(heading.group(1)), heading.group(2).strip()
            if level == 1 and name == document.title and not stack:
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, name))
            yield _Unit(path(), name, heading_level=level)
        elif not line or _TABLE_RULE.match(line):
            yield from end_paragraph()
        elif is_record_line(line):
            yield from end_paragraph()
            record = " ".join(strip_list_marker(line).strip("|").split())
            record = re.sub(r"\s*\|\s*", " | ", record)
            if record and is_list_item(line):
                record = LIST_MARKER + record  # kept, so the answerer can tell a list from lines of prose
            if record:
                yield from _split_long(path(), record)
        else:
            paragraph.append(line)
    yield from end_paragraph()


_SPLIT_WORDS = 80


def _split_long(path: tuple[str, ...], text: str) -> Iterator[_Unit]:
    """A paragraph longer than a comfortable unit becomes groups of whole sentences of up to ~80 words.

    Units of that size leave room for the chunker to pack and cut passages between them, and the answerer
    splits them into single sentences again anyway.
    """
    if word_count(text) <= _SPLIT_WORDS:
        yield _Unit(path, text)
        return
    group: list[str] = []
    size = 0
    for sentence in sentences(text):
        n = word_count(sentence)
        if group and size + n > _SPLIT_WORDS:
            yield _Unit(path, " ".join(group))
            group, size = [], 0
        group.append(sentence)
        size += n
    if group:
        yield _Unit(path, " ".join(group))
