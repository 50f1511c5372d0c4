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
    for starts_paragraph, piece in _pieces(text, limit):
        sep = "\n\n" if starts_paragraph else " "
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


def _pieces(text: str, limit: int) -> list[tuple[bool, str]]:
    """Units no longer than ``limit``, each with whether it starts a paragraph.

    A flag, not an in-band marker: any character, NUL included, may be in the text itself.
    """
    out: list[tuple[bool, str]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        units = [paragraph] if len(paragraph) <= limit else _SENTENCE_END.split(paragraph)
        first = True
        for unit in units:
            for small in _by_words(unit, limit) if len(unit) > limit else [unit]:
                out.append((first, small))
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


_CODE_SPAN = re.compile(r"`[^`\n]+`")
_KEPT = re.compile(rf"{_CODE_SPAN.pattern}|\0")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
# [ \t], not \s: \s matches newlines, and a heading would swallow the blank line after it.
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[*+]\s+", re.MULTILINE)
_HRULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$", re.MULTILINE)


def to_whatsapp(markdown: str) -> str:
    """Markdown (as models write it) to WhatsApp's formatting: *bold*, _italic_, ~strike~, `code`.

    Headings become bold lines, ``* item`` bullets become ``- item`` (a leading ``*`` would read as bold),
    links become ``text (url)``. Code spans are left untouched.
    """
    spans: list[str] = []

    def keep(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\0{len(spans) - 1}\0"

    # Code spans, and every NUL of the input, are set aside as NUL-index-NUL placeholders: after this pass
    # the only NULs left delimit placeholders, so none can be forged by the text ("\x007\x00").
    text = _KEPT.sub(keep, markdown.replace("\r\n", "\n"))
    text = _HRULE.sub("", text)
    text = _LINK.sub(
        lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text
    )
    text = _BULLET.sub(r"\1- ", text)
    # Italic first (single *), then bold (** or __) into a placeholder-free *...*.
    text = _ITALIC_STAR.sub(r"_\1_", text)
    text = _BOLD.sub(r"*\2*", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = _HEADING.sub(r"*\1*", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return re.sub(r"\0(\d+)\0", lambda m: spans[int(m.group(1))], text).strip()


_ANY_LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>()\[\]{}\"'`]+"  # a web address, with its scheme or www.
    r"|(?<![\w.+-])[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}(?![\w-])"  # an e-mail address
    r"|(?<![\w.@/-])(?:[a-z0-9-]+\.)+[a-z]{2,}(?![\w-])(?:/[^\s<>()\[\]{}\"'`]*)?",  # a bare domain
    re.IGNORECASE,
)
"""Any link in a reply, as a model may write it (``_LINK`` above is a Markdown link only)."""
_PHONE = re.compile(r"(?<![\w+.])\+?\d(?:[ -]?\d){8,}(?![\w:])")
"""A phone number: 9 digits or more, spaces or dashes between them, a leading + (a date with its hour,
"2026-03-11 09:00", is not one)."""
_CONTACT = re.compile(
    rf"(?<![ \t])[ \t]*(?:(?P<link>{_ANY_LINK.pattern})|(?P<phone>{_PHONE.pattern}))", re.IGNORECASE
)
"""A link or a phone number, with the blanks before it (a dropped one takes them along)."""
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_DIGIT_RUN = re.compile(r"\d[\d ()+./-]*\d")
_TRAILING = ".,;:!?'\"*_~"
"""What may follow an address in a sentence (its full stop, a closing bold) and is not part of it."""


def keep_published(text: str, published: str) -> tuple[str, int]:
    """``text`` without the links (web and e-mail addresses) and phone numbers that ``published`` (what an
    answer rests on: its documents, its tool results) does not contain, and how many were dropped.

    A model that obeys an instruction planted in a question, or invents a contact, would otherwise send it
    to the attendee; the event's own hotline and pages pass. A link is published when ``published`` holds
    it, with or without its scheme or "www." ("site.example" is published by "https://site.example/a"); a
    phone number when ``published`` holds its digits, however they are spaced. A Markdown link to an
    unpublished address keeps its text."""
    lowered = published.lower()
    runs = [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(published)]
    dropped = 0

    def link_published(link: str) -> bool:
        address = re.sub(r"(?i)^(?:https?://)?(?:www\.)?", "", link.rstrip(_TRAILING)).rstrip("/").lower()
        boundaries = rf"(?:(?<=www\.)|(?<![\w.-])){re.escape(address)}(?![\w-]|\.[\w-])"
        return bool(address) and re.search(boundaries, lowered) is not None

    def number_published(number: str) -> bool:
        digits = re.sub(r"\D", "", number)
        return any(digits in run for run in runs)

    def kept(match: re.Match[str]) -> bool:
        link = match.group("link")
        return link_published(link) if link is not None else number_published(match.group("phone"))

    def markdown(match: re.Match[str]) -> str:
        nonlocal dropped
        label, address = match.group(1), match.group(2)
        if all(kept(found) for found in _CONTACT.finditer(address)):
            return match.group(0)  # published, or no address at all ("#top")
        dropped += 1
        # "[https://x.example](https://x.example)" is one link, not two.
        return "" if _CONTACT.fullmatch(label.strip().rstrip(_TRAILING)) else label

    def contact(match: re.Match[str]) -> str:
        nonlocal dropped
        if kept(match):
            return match.group(0)
        dropped += 1
        link = match.group("link") or ""
        return link[len(link.rstrip(_TRAILING)) :]  # the sentence's full stop stays

    text = _MARKDOWN_LINK.sub(markdown, text)
    return _CONTACT.sub(contact, text), dropped


def with_sources(
    text: str, sources: list[tuple[str, str]], limit: int = 3, *, label: str = "Sources:"
) -> str:
    """Append a short "Sources" list (under ``label``, in the user's language): titles, and the link when
    it is a web address."""
    if not sources:
        return text
    lines = []
    for title, uri in sources[:limit]:
        lines.append(f"- {title} ({uri})" if uri.startswith(("http://", "https://")) else f"- {title}")
    return text + f"\n\n_{label}_\n" + "\n".join(lines)
