"""What attendees ask, for the organizers: categories over time, volumes, answer sources, latency, feedback
and the questions the documents could not answer, without anyone's messages.

Every figure is an atomic counter in one time bucket (``BUCKET_SECONDS``), counted exactly once per message:
the store writes each message's marker in the same transaction as its counters, so a redelivery finds the
marker and counts nothing. A question's category (the categorizer's consumer) and its answer's source (the
answer stage) arrive in either order; whichever comes second joins them (``join``), once, under a condition.
No question text is kept, except the questions answered "I don't know", redacted and with a TTL: the list a
content team needs to fill the gaps in its documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from assistant.errors import Misconfigured
from assistant.ports import (
    OTHER_CATEGORY,
    AnalyticsStore,
    Categorizer,
    Clock,
    MetricsSink,
    ProcessedMessage,
    QuestionRecord,
)

logger = Logger(child=True)

BUCKET_SECONDS = 900
"""Counters are kept per quarter of an hour."""
GAP_TTL_SECONDS = 14 * 24 * 3600
"""How long a redacted unanswered question is kept."""
PENDING_TTL_SECONDS = 2 * 24 * 3600
"""How long a question's redacted text waits for its answer's source (then it is gone either way)."""
LATENCY_BOUNDS = (1, 2, 3, 5, 8, 13, 20, 30, 60, 120)
"""Upper bounds (seconds) of the latency histogram's bins; a last bin holds the rest."""
SOURCES = (
    "knowledge_base",
    "agenda",
    "no_answer",
    "guardrail",
    "error",
    "smalltalk",
    "voice_refused",
    "unsupported",
    "rejected",
    "budget",
)
DONT_KNOW = "no_answer"
MAX_GAP_CHARS = 300
MAX_GAP_BYTES = 600

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"\b(https?://|www\.)\S+", re.IGNORECASE)
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
_NUMBER = re.compile(r"\b\d{5,}\b")
_HANDLE = re.compile(r"(?<!\w)@\w{2,}")
_POSITIVE = frozenset("👍 👌 🙏 ❤️ ❤ 😀 😃 😄 😁 😊 🙂 😍 🥰 👏 🎉 ✅ 💯 🔥 ⭐ 🌟".split())
_NEGATIVE = frozenset("👎 😞 😠 😡 😕 🙁 ☹️ ☹ 😢 😭 ❌ 🤔 😒 💩".split())


def bucket_of(moment: float) -> int:
    """The start (epoch seconds) of the time bucket ``moment`` falls in."""
    return int(moment) // BUCKET_SECONDS * BUCKET_SECONDS


def day_of(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")


def redact(text: str) -> str:
    """A question with what could identify someone taken out: e-mail addresses, links, phone numbers,
    long numbers (booking or badge numbers) and @handles. Names cannot be found by rules; the texts kept are
    the unanswered questions, shown only to organizers and content teams, and expire."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[link]", text)
    text = _PHONE.sub("[phone]", text)
    text = _NUMBER.sub("[number]", text)
    text = _HANDLE.sub("[handle]", text)
    text = " ".join(text.split())[:MAX_GAP_CHARS]
    while len(text.encode("utf-8")) > MAX_GAP_BYTES:  # a day's list must fit one DynamoDB item
        text = text[:-1]
    return text


def feedback_kind(emoji: str | None) -> str:
    """A reaction as feedback: positive, negative, or other (any other emoji)."""
    if not emoji:
        return "other"
    return "positive" if emoji in _POSITIVE else "negative" if emoji in _NEGATIVE else "other"


def latency_bin(seconds: float) -> str:
    for bound in LATENCY_BOUNDS:
        if seconds <= bound:
            return f"le{bound}"
    return "inf"


def source_of(source: str) -> str:
    return source if source in SOURCES else "other"


class CategorizeService:
    """The categorizer's consumer of the processed-messages topic: one category per question, counted once."""

    def __init__(
        self,
        *,
        categorizer: Categorizer,
        store: AnalyticsStore,
        metrics: MetricsSink,
        clock: Clock,
        predefined: tuple[str, ...] = (),
        cap: int = 12,
    ) -> None:
        self._categorizer = categorizer
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._predefined = predefined
        self._cap = cap

    def handle(self, question: ProcessedMessage) -> str:
        log = {"message_key": question.message_key[:12]}
        if question.probe is not None:
            return "probe"  # assistant doctor's round trip: not an attendee's question
        if self._store.question_recorded(question.message_key):
            self._store.join(question.message_key)  # an earlier attempt may have died before joining
            self._metrics.count("DuplicateCategorizeSkipped")
            return "duplicate"
        text = question.text.strip()
        if not text:
            # A voice note: its words are heard in the answer stage; counted here by kind only.
            category = "Voice Notes"
        else:
            from assistant.services.categories import settle

            known = list(dict.fromkeys([*self._predefined, *self._store.categories()]))
            # A retryable failure: SQS redelivers; a rejected one: the record ends in the DLQ, not lost.
            try:
                proposed = self._categorizer.categorize(text, known)
            except Misconfigured as exc:
                self._metrics.count("BedrockMisconfigured", 1, Code=exc.code)
                raise
            category = settle(proposed, known, cap=self._cap)
            if redact(category) != category or any(ch.isdigit() for ch in category):
                # A name a model was talked into ("Call 555 1234"): categories are kept for good.
                category = OTHER_CATEGORY
        moment = question.received_at or self._clock.now()
        record = QuestionRecord(
            message_key=question.message_key,
            user_key=question.user_key,
            category=category or OTHER_CATEGORY,
            kind=question.kind,
            bucket=bucket_of(moment),
            day=day_of(moment),
            redacted=redact(text) if text else "",
        )
        counted = self._store.record_question(record)
        self._store.join(question.message_key)
        self._metrics.count("QuestionCategorized" if counted else "DuplicateCategorizeSkipped")
        logger.info("categorized", extra={**log, "counted": counted})
        return "categorized" if counted else "duplicate"


# -- the report --------------------------------------------------------------------------------------------


def percentile(histogram: Mapping[str, int], share: float) -> float | None:
    """The upper bound of the latency bin that holds the ``share`` quantile (None without answers)."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for bound in (*LATENCY_BOUNDS, None):
        key = "inf" if bound is None else f"le{bound}"
        seen += histogram.get(key, 0)
        if seen >= share * total:
            return float(bound) if bound is not None else float(LATENCY_BOUNDS[-1]) * 2
    return None


def build_report(
    buckets: Iterable[tuple[int, Mapping[str, int]]],
    *,
    unique_users: int,
    gaps: Iterable[tuple[str, str]],
    now: float,
) -> dict[str, Any]:
    """The dashboard's figures, from each time bucket's counters (``cat:<name>``, ``kind:<kind>``,
    ``src:<source>``, ``lat:<bin>``, ``fb:<kind>``, ``questions``) and the redacted gaps (category, text)."""
    categories: dict[str, int] = {}
    volumes: dict[str, int] = {}
    sources: dict[str, int] = {}
    latency: dict[str, int] = {}
    feedback = {"positive": 0, "negative": 0, "other": 0}
    by_category: dict[str, dict[str, dict[str, int]]] = {}
    timeline = []
    questions = 0
    for start, counters in sorted(buckets):
        row: dict[str, int] = {}
        for name, value in counters.items():
            kind, _, label = name.partition(":")
            if kind == "cat":
                categories[label] = categories.get(label, 0) + value
                row[label] = row.get(label, 0) + value
            elif kind == "kind":
                volumes[label] = volumes.get(label, 0) + value
            elif kind == "src":
                sources[label] = sources.get(label, 0) + value
            elif kind == "lat":
                latency[label] = latency.get(label, 0) + value
            elif kind == "fb":
                feedback[label] = feedback.get(label, 0) + value
            elif kind in ("cs", "cf"):
                category, _, what = label.rpartition("|")
                group = by_category.setdefault(category, {"sources": {}, "feedback": {}})
                slot = group["sources" if kind == "cs" else "feedback"]
                slot[what] = slot.get(what, 0) + value
            elif name == "questions":
                questions += value
        if row:
            iso = datetime.fromtimestamp(start, UTC).isoformat().replace("+00:00", "Z")
            timeline.append({"start": iso, "categories": row})
    unanswered: dict[str, list[str]] = {}
    for category, text in gaps:
        unanswered.setdefault(category, []).append(text)
    return {
        "questions": questions,
        "categories": [
            {"name": name, "count": count}
            for name, count in sorted(categories.items(), key=lambda item: (-item[1], item[0]))
        ],
        "timeline": {"bucket_seconds": BUCKET_SECONDS, "buckets": timeline},
        "volumes": volumes,
        "unique_users": unique_users,
        "latency": {"p50": percentile(latency, 0.5), "p95": percentile(latency, 0.95)},
        "sources": sources,
        "guardrail_interventions": sources.get("guardrail", 0),
        "feedback": feedback,
        "by_category": by_category,
        "unanswered": [
            {"category": category, "questions": texts[:50]}
            for category, texts in sorted(unanswered.items(), key=lambda item: -len(item[1]))
        ],
        "generated_at": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
    }
