"""The extractive answerer: answers with the documents' own sentences, or says it does not know.

It reads the best few passages a search returned and cuts them into units: sentences of prose, whole
records ("09:00-09:45 | Opening keynote | Auditorium A", "Room: Auditorium A"), and lists together with
the line that introduces them ("Sessions:" and its items). Each unit is scored by a blend of its
meaning's closeness to the question (MiniLM cosine), the share of the question's words it contains, and
small bonuses for the rank of its passage and for leading its section. The best one to three units are
the answer, quoted as written. Below a calibrated score it answers nothing: a wrong room or time costs an
attendee more than "I don't know".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from assistant.local.engine.chunking import SECTION_SEPARATOR, Passage
from assistant.local.engine.embedding import Embedder
from assistant.local.engine.index import Hit
from assistant.local.engine.needs import everyday, named
from assistant.local.engine.text import (
    LIST_MARKER,
    STOPWORDS,
    is_label_line,
    is_record_line,
    sentences,
    terms,
    word_count,
)
from assistant.services.language import detect

DEFAULT_THRESHOLD = 0.62
"""Best unit score below which the answer is "I don't know"; calibrated on ``knowledge/eval``."""
UNKNOWN_SHARE = 1 / 3
"""At or above this share of words the documents never use, a question is not theirs to answer."""
FOREIGN_FLOOR = 0.78
FOREIGN_SPAN = 0.1
TOP_PASSAGES = 4
DENSE_WEIGHT = 0.6
OVERLAP_WEIGHT = 0.3
RANK_WEIGHT = 0.06
"""Bonus of the first passage, falling linearly to nothing for the last one read."""
LEAD_BONUS = 0.03
"""The first unit under a heading usually carries the point (an FAQ's answer starts with it)."""
MARGIN = 0.15
"""Units of the best unit's passage are kept with it when they score within this of the best."""
CROSS_MARGIN = 0.04
"""A unit of another passage only when it scores almost as well: nothing unrelated is glued on."""
_SHORT_UNIT_WORDS = 6
_LIST_UNIT_MAX_WORDS = 120
_BLOCK_MAX_ITEMS = 5
_BLOCK_MAX_WORDS = 50
_BLOCK_ITEM_MAX_WORDS = 20

_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*$")

# Answer types: a question asking "when" is answered by a unit that holds a time, "where" by a place...
# (question pattern, pattern of a unit that can answer it). A unit matching earns ANSWER_TYPE_BONUS each.
_DAYS_MONTHS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|may|june|july"
    "|august|september|october|november|december"
)
_ANSWER_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(r"\b(when|what time|how late|how early|hours|until when|what day)\b", re.IGNORECASE),
        re.compile(rf"\b\d{{1,2}}[:.]\d{{2}}\b|\b({_DAYS_MONTHS})\b|\bday \d\b", re.IGNORECASE),
    ),
    (
        re.compile(r"\b(where|which room|what room|which floor|what floor)\b", re.IGNORECASE),
        re.compile(
            r"\b(room|level|hall|auditorium|foyer|lab|stage|terrace|desk|entrance|floor|station|bay|lounge"
            r"|corridor|wing|building|street|rua|avenida)\b",
            re.IGNORECASE,
        ),
    ),
    (
        re.compile(r"\b(how much|cost|costs|price|prices|fee|fees|cheaper|expensive)\b", re.IGNORECASE),
        re.compile(r"€|\$|\b(eur|usd|free)\b|\d\s?%", re.IGNORECASE),
    ),
    (
        re.compile(r"\b(job|role|title|position)\b", re.IGNORECASE),
        re.compile(
            r"\b(head|chief|vp|director|engineer|manager|officer|founder|ceo|cto|ciso|lead|architect|principal"
            r"|researcher|scientist|consultant|developer|advocate|president)\b",
            re.IGNORECASE,
        ),
    ),
    (
        re.compile(r"\b(who|whose)\b", re.IGNORECASE),
        re.compile(r"\b(speakers?|hosts?|moderated by|panellist|moderator)\b", re.IGNORECASE),
    ),
)
ANSWER_TYPE_BONUS = 0.05

# Questions whose answer is a kind of fact that no quote without it can give: a price, a clock time, a
# count. The answer must hold one, or it is "I don't know" ("how much is a taxi?" answered with where the
# taxi rank is would be a non-answer dressed as one).
_REQUIRED_TYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(
            r"\b(how much|what does it cost|price of|cost of|fee for|cu[aá]nto cuesta|quanto custa|combien"
            r" co[uû]te|wie viel kostet|was kostet|ne kadar)\b",
            re.IGNORECASE,
        ),
        re.compile(r"€|\$|£|\b(eur|usd|gbp|euros?|pounds?|free|included)\b", re.IGNORECASE),
    ),
    (
        re.compile(
            r"\b(what time|until what time|how late|until when|a qu[eé] hora|hasta qu[eé] hora"
            r"|a que horas|at[eé] que horas|à quelle heure|jusqu'à quelle heure|um wie viel uhr|bis wann"
            r"|saat ka[cç]ta)\b",
            re.IGNORECASE,
        ),
        re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2} ?(am|pm)\b|\bmidnight\b|\bnoon\b", re.IGNORECASE),
    ),
    (
        re.compile(
            r"\b(how many|cu[aá]nt[oa]s|quant[oa]s|combien de|wie viele|ka[cç] ki[sş]i)\b", re.IGNORECASE
        ),
        re.compile(r"\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b"),  # a number, not a year
    ),
)
# Someone's personal contact details are never the documents' to give, whatever passage comes close.
_PERSONAL_CONTACT = re.compile(
    r"(\w's|\b(his|her|their))\s+(personal|private|home)\b.{0,20}\b(phone|number|e-?mail|address|contact)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Citation:
    passage: Passage
    sentences: tuple[str, ...]
    """The units of the passage that the answer quotes, as they stand in it (list items one a line)."""


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    text: str | None
    """The answer, or ``None`` for "I don't know"."""
    citations: tuple[Citation, ...]
    """The passages quoted, best first; empty when ``text`` is ``None``."""
    confidence: float
    """The best unit's score (roughly 0-1): compare it with the threshold, or log it."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One quotable piece of a passage."""

    rank: int
    """Rank of its passage among the hits (0 = best)."""
    passage: Passage
    order: int
    """Position among all units read, i.e. document order within a passage."""
    text: str
    heading: str
    """The innermost heading above the unit (the passage's, or one inside it)."""
    parents: str
    """The heading path above ``heading``: context for scoring, too long to repeat in answers."""
    lead: bool
    """First unit under its heading."""
    is_record: bool
    """A record, a list or list item: said on a line of its own, never run on with prose."""

    @property
    def needs_heading(self) -> bool:
        """Whether the unit means little without its heading ("Room: Auditorium A" under a session)."""
        if not self.heading or self.heading.lower() in self.text.lower():
            return False
        return self.is_record or word_count(self.text) <= _SHORT_UNIT_WORDS

    @property
    def display(self) -> str:
        return _with_heading(self.heading, self.text) if self.needs_heading else self.text

    @property
    def context(self) -> str:
        """What is scored: the unit under its headings, which often name the subject the question names."""
        return self._under_headings(self.text)

    @property
    def introduction(self) -> str | None:
        """For a list, its introduction alone ("Mei Lin Zhou: Sessions:"), which a long list would drown."""
        first, _, rest = self.text.partition("\n")
        return self._under_headings(first) if rest and first.endswith(":") else None

    def _under_headings(self, text: str) -> str:
        path = SECTION_SEPARATOR.join(p for p in (self.parents, self.heading) if p)
        if not path or self.heading.lower() in self.text.lower():
            return text
        return f"{path}: {text}"


def _with_heading(heading: str, text: str) -> str:
    return f"{heading} {text}" if heading.endswith(("?", "!", ".")) else f"{heading}: {text}"


def passage_units(passage: Passage, rank: int = 0, start: int = 0) -> list[Unit]:
    """Cut a passage into units (see the module docstring); ``start`` numbers them on from other passages."""
    section = passage.section.split(SECTION_SEPARATOR) if passage.section else []
    parents = SECTION_SEPARATOR.join(section[:-1])
    heading = section[-1] if section else passage.title
    units: list[Unit] = []
    lead = True

    def emit(text: str, record: bool) -> None:
        nonlocal lead
        units.append(Unit(rank, passage, start + len(units), text, heading, parents, lead, record))
        lead = False

    lines = [line.strip() for line in passage.text.split("\n") if line.strip()]
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _HEADING_LINE.match(line)
        if match:
            heading, lead = match.group(1), True
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith(LIST_MARKER):
            j += 1
        items = lines[i + 1 : j]
        listed = line.startswith(LIST_MARKER)
        record = listed or is_record_line(line)
        pieces = [line] if record else sentences(line)
        introduces = not listed and bool(items) and line.endswith(":")
        if introduces and word_count(" ".join([pieces[-1], *items])) <= _LIST_UNIT_MAX_WORDS:
            # "Sessions:" and its items, or "You can:" and the ways: one unit, meaningless apart.
            for piece in pieces[:-1]:
                emit(piece, record)
            emit("\n".join([pieces[-1], *items]), True)
            i = j
            continue
        if listed:
            size = _fact_block(lines, i)
            emit("\n".join(_unlisted(item) for item in lines[i : i + size]), True)
            i += size
            continue
        for piece in pieces:
            emit(piece, record)
        i += 1
    return units


def _fact_block(lines: list[str], start: int) -> int:
    """How many list items from ``start`` on form one block of short ``Label: value`` facts (at least 1).

    A session's "Room / Track / Speaker" items answer "where", "who" and "which track" together, and say
    little apart; a long or unlabelled item stands alone.
    """

    def fact(line: str) -> bool:
        return (
            line.startswith(LIST_MARKER)
            and is_label_line(_unlisted(line))
            and word_count(line) <= _BLOCK_ITEM_MAX_WORDS
        )

    if not fact(lines[start]):
        return 1
    size = 1
    while (
        start + size < len(lines)
        and size < _BLOCK_MAX_ITEMS
        and fact(lines[start + size])
        and word_count(" ".join(lines[start : start + size + 1])) <= _BLOCK_MAX_WORDS
    ):
        size += 1
    return size


def _unlisted(line: str) -> str:
    return line.removeprefix(LIST_MARKER).strip()


def _units(hits: list[Hit]) -> list[Unit]:
    units: list[Unit] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits[:TOP_PASSAGES]):
        for unit in passage_units(hit.passage, rank, len(units)):
            key = " ".join(unit.text.lower().split())
            if key not in seen:  # passages overlap a little: quote a line once
                seen.add(key)
                units.append(unit)
    return units


def unit_texts(passages: list[Passage]) -> list[str]:
    """Every text :func:`score_units` embeds for these passages (to embed them once, at ingestion)."""
    texts: list[str] = []
    for passage in passages:
        for unit in passage_units(passage):
            texts.append(unit.context)
            if unit.introduction:
                texts.append(unit.introduction)
    return list(dict.fromkeys(texts))


def _overlap(question_terms: set[str], text: str) -> float:
    """The share of the question's words the text has, a word also matching a longer one it begins
    ("pray" and "prayer", "charge" and "charging"; four letters at least)."""
    if not question_terms:
        return 0.0
    words = set(terms(text))
    found = sum(
        1
        for term in question_terms
        if term in words or (len(term) >= 4 and any(w.startswith(term) for w in words))
    )
    return found / len(question_terms)


def score_units(question: str, hits: list[Hit], embedder: Embedder) -> list[tuple[float, Unit]]:
    """Every unit of the top passages with its score, best first (public for calibration and debugging)."""
    units = _units(hits)
    if not units:
        return []
    introductions = [(i, u.introduction) for i, u in enumerate(units) if u.introduction]
    asked = embedder.embed_queries([question])[0]
    vectors = embedder.embed([u.context for u in units] + [text for _, text in introductions if text])
    cosines = vectors[: len(units)] @ asked
    for (i, _), cosine in zip(introductions, vectors[len(units) :] @ asked, strict=True):
        cosines[i] = max(cosines[i], cosine)  # a list matches by its introduction or by its items
    need_terms = set(terms(named(question)))  # the documents' words for an everyday need
    question_terms = set(terms(question)) - (set(terms(everyday(question))) - need_terms)
    # A question in another language than the documents shares no words with them: its closeness in
    # meaning stands in for the word overlap it cannot have (scaled over the range e5's cosines span).
    foreign = detect(question) not in (None, "en")
    wanted = [answers for asks, answers in _ANSWER_TYPES if asks.search(question)]
    read = min(len(hits), TOP_PASSAGES)
    scored = []
    for unit, cosine in zip(units, cosines, strict=True):
        overlap = (
            max(
                min(1.0, max(0.0, (float(cosine) - FOREIGN_FLOOR) / FOREIGN_SPAN)),
                _overlap(need_terms, unit.context),
            )
            if foreign
            else max(_overlap(question_terms, unit.context), _overlap(need_terms, unit.context))
        )
        score = DENSE_WEIGHT * float(cosine) + OVERLAP_WEIGHT * overlap
        score += RANK_WEIGHT * (1.0 - unit.rank / read) + (LEAD_BONUS if unit.lead else 0.0)
        score += ANSWER_TYPE_BONUS * sum(1 for pattern in wanted if pattern.search(unit.display))
        scored.append((score, unit))
    scored.sort(key=lambda item: -item[0])
    return scored


def unknown_share(question: str, vocabulary: Collection[str]) -> float:
    """The share of an English question's words that the documents never use (nor a longer word they
    begin), unless an everyday need explains them ("my phone is dying"): 0.0 for other languages, whose
    words the documents' English would not hold anyway."""
    if not vocabulary or named(question) or detect(question) not in (None, "en"):
        return 0.0
    asked = set(terms(question)) - _ASKING_WORDS
    if not asked:
        return 0.0
    unknown = [
        t
        for t in asked
        if t not in vocabulary
        and not _begins_any(t, vocabulary)
        and not _typo_of(t, vocabulary)
        and not _slip_of_a_common_word(t)
    ]
    return len(unknown) / len(asked)


def _typo_of(term: str, vocabulary: Collection[str]) -> bool:
    """Whether ``term`` is one slip (a letter left out, added or changed) from a known word of five letters
    or more: "registraton" is "registration"."""
    if len(term) < 5:
        return False
    return any(
        abs(len(word) - len(term)) <= 1 and len(word) >= 5 and _one_edit(term, word) for word in vocabulary
    )


def _slip_of_a_common_word(term: str) -> bool:
    """ "wher" for "where": a slip of a word that asks or joins, which no document needs to hold."""
    return len(term) >= 3 and any(
        len(word) >= 4 and abs(len(word) - len(term)) <= 1 and _one_edit(term, word)
        for word in (*STOPWORDS, *_ASKING_WORDS)
    )


def _one_edit(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


# Words that ask rather than name what is asked about: a document need not use them.
_ASKING_WORDS = frozenset(
    "much many long far often cost costs price get go going find need want know tell please thank thanks "
    "anything something somewhere someone anyone anywhere ok okay hi hello also still really actually "
    "possible able way ways idea ideas help".split()
)


def _begins_any(term: str, vocabulary: Collection[str]) -> bool:
    """Whether a known word begins with ``term`` ("pray", "prayer"), or ``term`` with a known word a few
    letters shorter ("talking", "talk"; not "football", "foot")."""
    if len(term) < 4:
        return False
    return any(
        word.startswith(term) or (len(word) >= 4 and term.startswith(word) and len(term) - len(word) <= 3)
        for word in vocabulary
    )


def answer(
    question: str,
    hits: list[Hit],
    embedder: Embedder,
    *,
    max_sentences: int = 3,
    threshold: float = DEFAULT_THRESHOLD,
    vocabulary: Collection[str] = (),
) -> ExtractiveAnswer:
    """Answer ``question`` from the passages of ``hits`` (best first, as :meth:`KnowledgeBase.search` gives).

    ``text`` is ``None`` ("I don't know") when no unit scores ``threshold`` or more, when there are no
    hits, or when a third or more of the question's words are ones the documents (``vocabulary``) never
    use: a question about a football match, the weather or a gym is about something they do not cover,
    however close its meaning comes to some passage.
    """
    if unknown_share(question, vocabulary) >= UNKNOWN_SHARE or _PERSONAL_CONTACT.search(question):
        return ExtractiveAnswer(None, (), 0.0)
    scored = score_units(question, hits, embedder)
    if not scored:
        return ExtractiveAnswer(None, (), 0.0)
    best_score, best = scored[0]
    if best_score < threshold:
        return ExtractiveAnswer(None, (), best_score)
    chosen = [best]
    for score, unit in scored[1 : max(1, max_sentences)]:
        margin = MARGIN if unit.passage.passage_id == best.passage.passage_id else CROSS_MARGIN
        if score >= max(threshold, best_score - margin):
            chosen.append(unit)
    required = [answers for asks, answers in _REQUIRED_TYPES if asks.search(question)]
    if any(not any(pattern.search(u.display) for u in chosen) for pattern in required):
        return ExtractiveAnswer(None, (), best_score)
    if not _about_what_was_asked(question, chosen):
        return ExtractiveAnswer(None, (), best_score)
    groups: dict[str, list[Unit]] = {}  # best passage first
    for unit in chosen:
        groups.setdefault(unit.passage.passage_id, []).append(unit)
    parts: list[str] = []
    citations: list[Citation] = []
    for group in groups.values():
        # The best unit first (the answer's first line answers the question), then in document order.
        group.sort(key=lambda u: (u is not best, u.order))
        parts.append(_render(group))
        citations.append(Citation(group[0].passage, tuple(u.text for u in group)))
    return ExtractiveAnswer("\n".join(parts), tuple(citations), best_score)


# English questions for a price or a count name what is priced or counted: "how much does a taxi cost?",
# "how many people are attending?". The figure must be about that thing: the free shuttle is no answer to
# the taxi's price, nor a postcode to the number of attendees.
_PRICED = re.compile(
    r"\b(?:how much (?:does|do|is|are|will|would)|(?:price|cost|fee) (?:of|for))"
    r"\s+(?:(?:a|an|the|my|one)\s+)?([a-z][a-z-]+)",
    re.IGNORECASE,
)
_COUNTED = re.compile(r"\bhow many\s+([a-z][a-z-]+)", re.IGNORECASE)
_SPELLED_NUMBER = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty"
    r"|hundred|hundreds|thousand|thousands|dozen|dozens|million"
)


def _about_what_was_asked(question: str, chosen: list[Unit]) -> bool:
    """Whether the quoted units speak of the thing whose price or count an English question asks for."""
    if detect(question) not in (None, "en"):
        return True
    text = " ".join(u.context for u in chosen).lower()
    priced = _PRICED.search(question)
    thing = priced.group(1).lower() if priced else ""
    if thing and thing not in STOPWORDS and not _mentions(text, thing):
        return False
    counted = _COUNTED.search(question)
    if counted:
        stem = re.escape(_stem(counted.group(1).lower()))
        number = rf"(?:\d[\d,.]*|{_SPELLED_NUMBER})"
        if not re.search(rf"\b{number}\+?\s+(?:[\w-]+\s+){{0,2}}{stem}", text):
            return False
    return True


def _stem(word: str) -> str:
    """Enough of a word to find its forms: "people", "attendees" -> "attendee", "sessions" -> "session"."""
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(_stem(word))}", text) is not None


def _render(group: list[Unit]) -> str:
    """Prose sentences run on; records go on their own lines; a heading is said once for its units."""
    out: list[str] = []
    said: str | None = None
    previous_prose = False
    for unit in group:
        text = unit.text
        if unit.needs_heading and unit.heading != said:
            text = unit.display
            said = unit.heading
        prose = not unit.is_record
        if out and prose and previous_prose and out[-1].endswith((".", "!", "?", ";")):
            out[-1] = f"{out[-1]} {text}"
        else:
            out.append(text)
        previous_prose = prose
    return "\n".join(out)
