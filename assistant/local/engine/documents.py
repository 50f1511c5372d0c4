"""Documents: files of the event's knowledge (Markdown, text, HTML, PDF) read into plain text.

Every format is turned into the same light Markdown (``#`` headings, ``-`` list items, ``a | b | c`` table
rows, blank lines between paragraphs) so that one chunker serves them all and keeps their structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

SUPPORTED_SUFFIXES: tuple[str, ...] = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")


@dataclass(frozen=True, slots=True)
class Document:
    doc_id: str
    """The file name: adding a file of the same name again replaces the earlier one."""
    title: str
    uri: str
    """Where a person can read the document; shown with citations."""
    text: str
    """Light Markdown (see the module docstring)."""


def load_document(path: Path, uri: str | None = None) -> Document:
    """Read one file; the format is chosen by its extension.

    Raises ``ValueError`` for an extension outside :data:`SUPPORTED_SUFFIXES` and ``FileNotFoundError`` for a
    missing file.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(
            f"cannot read {path.name!r}: unsupported file type {suffix or '(none)'!r};"
            f" supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if suffix == ".pdf":
        title, text = _read_pdf(path)
    else:
        raw = path.read_text(encoding="utf-8", errors="replace")
        if suffix in (".html", ".htm"):
            title, text = _read_html(raw)
        elif suffix == ".txt":
            text = _structure_plain_text(raw)
            title = _first_heading(text)
        else:
            text = _clean_markdown(raw)
            title = _first_heading(text)
    return Document(
        doc_id=path.name,
        title=title or _readable_stem(path),
        uri=uri if uri is not None else path.resolve().as_uri(),
        text=text,
    )


def _readable_stem(path: Path) -> str:
    words = re.sub(r"[-_.]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name


def _normalise(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1")
_ITALIC = re.compile(r"(?<![*\w])([*_])(?!\s)([^*_\n]+?)(?<!\s)\1(?![*\w])")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _clean_markdown(raw: str) -> str:
    """Drop what only renders (front matter, images, link targets, emphasis marks, rules); keep structure.

    Setext headings (a line underlined with ``===`` or ``---``) become ``#`` headings, so the chunker only
    has one kind to know.
    """
    text = _FRONT_MATTER.sub("", _normalise(raw))
    text = _HTML_COMMENT.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _ITALIC.sub(r"\2", text)
    out: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if not in_fence and out and out[-1].strip() and not _HEADING.match(out[-1]):
            if re.fullmatch(r"=+", stripped):
                out[-1] = "# " + out[-1].strip()
                continue
            if re.fullmatch(r"-{3,}", stripped) and not out[-1].lstrip().startswith(("-", "*", "|")):
                out[-1] = "## " + out[-1].strip()
                continue
        if not in_fence and re.fullmatch(r"(?:[-*_]\s*){3,}", stripped):
            out.append("")  # a horizontal rule separates paragraphs and nothing else
            continue
        out.append(re.sub(r"(?<=\S) {2,}", " ", line))  # where an image or a mark was dropped
    return _normalise("\n".join(out))


_RULE = re.compile(r"^\s*([=\-*_#~])\1{2,}\s*$")
_QUESTION = re.compile(r"^(?:Q(?:uestion)?\s*\d*\s*[.:)]|\d{1,3}[.)]\s*Q[.:])\s*(.+\?)\s*$", re.IGNORECASE)
_ANSWER = re.compile(r"^(?:A(?:nswer)?\s*\d*\s*[.:)])\s*", re.IGNORECASE)
_SMALL_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
)


def _is_shouted(line: str) -> bool:
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters) and len(line.split()) <= 12


def _title_case(line: str) -> str:
    """``"TICKETS AND REGISTRATION"`` -> ``"Tickets and Registration"`` (words with digits are kept)."""
    words = line.split()
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if any(c.isdigit() for c in word):
            out.append(word)
        elif i and lower in _SMALL_WORDS:
            out.append(lower)
        else:
            out.append(lower[:1].upper() + lower[1:])
    return " ".join(out)


def _structure_plain_text(raw: str) -> str:
    """Give a plain-text file the light Markdown structure its layout implies.

    Plain-text event documents mark structure by convention rather than syntax: an upper-case line
    between rules or blank lines is a heading (the first one, at the top, the document's title), a line
    underlined by a rule is a heading, and ``Q1. ...?`` / ``A: ...`` pairs are questions and answers. Each
    question becomes a heading over its answer, so the answer's passage names what it answers.
    """
    lines = _normalise(raw).split("\n")
    out: list[str] = []
    seen_heading = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        before = lines[i - 1].strip() if i else ""
        after = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _RULE.match(stripped):
            out.append("")
            continue
        question = _QUESTION.match(stripped)
        if question:
            out += ["", "### " + question.group(1), ""]
            continue
        isolated = (not before or _RULE.match(before)) and (not after or _RULE.match(after))
        underlined = bool(after) and bool(_RULE.match(after)) and not stripped.endswith((".", ":", ","))
        if stripped and (
            underlined or (isolated and _is_shouted(stripped)) or (not i and _is_shouted(stripped))
        ):
            name = _title_case(stripped) if _is_shouted(stripped) else stripped
            out += ["", ("# " if not seen_heading else "## ") + name, ""]
            seen_heading = True
            continue
        out.append(_ANSWER.sub("", line, count=1) if _ANSWER.match(stripped) else line)
    return _normalise("\n".join(out))


def _first_heading(markdown: str) -> str | None:
    for line in markdown.split("\n"):
        match = _HEADING.match(line)
        if match:
            return match.group(2).strip()
    return None


def _read_pdf(path: Path) -> tuple[str | None, str]:
    from pypdf import PdfReader  # imported here: only PDF files need it

    reader = PdfReader(path)
    pages = [page.extract_text() or "" for page in reader.pages]
    metadata = reader.metadata
    title = metadata.title if metadata is not None else None
    return (title.strip() or None) if isinstance(title, str) else None, _normalise("\n\n".join(pages))


# Whole subtrees that are navigation or code rather than content.
_SKIPPED_TAGS = frozenset(
    {"script", "style", "nav", "footer", "header", "noscript", "template", "svg", "head", "button", "select"}
)
# Page furniture marked by role or by class/id rather than by tag: landmarks that are not content, and the
# cookie banners that every site has and no attendee asks about.
_SKIPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "dialog", "alertdialog"})
_SKIPPED_MARKS = re.compile(r"cookie|consent|gdpr|skip-link|breadcrumb", re.IGNORECASE)


def _is_furniture(attrs: list[tuple[str, str | None]]) -> bool:
    values = dict(attrs)
    if (values.get("role") or "").lower() in _SKIPPED_ROLES or values.get("aria-hidden") == "true":
        return True
    return bool(_SKIPPED_MARKS.search(f"{values.get('class') or ''} {values.get('id') or ''}"))


_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "aside", "blockquote", "ul", "ol", "dl", "table", "thead",
        "tbody", "tfoot", "figure", "figcaption", "address", "pre", "form", "fieldset", "details", "summary",
        "body", "html",
    }
)  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "area", "base", "col", "source"})


class _HtmlText(HTMLParser):
    """Collects the readable text of a page as light Markdown, and its ``<title>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title_parts: list[str] = []
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._prefix = ""

    # Text goes into the current cell when inside a table cell, else into the current line.
    def _sink(self) -> list[str]:
        return self._cell if self._cell is not None else self._current

    def _break(self, blank: bool = False) -> None:
        line = " ".join("".join(self._current).split())
        if line:
            self.lines.append(self._prefix + line)
        self._current = []
        self._prefix = ""
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            return
        if self._skip_depth or tag in _SKIPPED_TAGS or _is_furniture(attrs):
            if tag not in _VOID_TAGS:
                self._skip_depth += 1
            return
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._break(blank=True)
            self._prefix = "#" * int(tag[1]) + " "
        elif tag == "li":
            self._break()
            self._prefix = "- "
        elif tag in ("dt", "dd"):
            self._break()
        elif tag == "tr":
            self._break()
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br":
            if self._cell is not None:
                self._cell.append(" ")
            else:
                self._break()
        elif tag in _BLOCK_TAGS:
            self._break(blank=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if self._skip_depth:
            if tag not in _VOID_TAGS:
                self._skip_depth -= 1
            return
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            cells = [cell for cell in self._row if cell]
            if cells:
                self.lines.append(" | ".join(cells))
            self._row = None
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._break(blank=True)
        elif tag in ("li", "dt", "dd"):
            self._break()
        elif tag in _BLOCK_TAGS:
            self._break(blank=True)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip_depth:
            self._sink().append(data)

    def close(self) -> None:
        super().close()
        self._break()


def _read_html(raw: str) -> tuple[str | None, str]:
    parser = _HtmlText()
    parser.feed(raw)
    parser.close()
    text = _normalise("\n".join(parser.lines))
    title = " ".join("".join(parser.title_parts).split()) or _first_heading(text)
    return title, text
