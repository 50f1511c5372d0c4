"""The agenda as two tools for the answer engine: ``find_sessions`` and ``recommend_sessions``.

``TOOL_SPECS`` describes them to a model (Bedrock Converse ``toolSpec``s); ``AgendaTools.run`` executes a call
and returns a JSON-serialisable result, or ``{"error": ...}`` for the model to read. ``find`` and
``recommend`` are the same queries with typed arguments, for the local rule-based engine.

All times are the event's local time (the schedule's time zone); "now" comes from an injected function.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final, Literal, Protocol, get_args

from assistant.agenda.model import AgendaError, Schedule, Session

When = Literal[
    "now",
    "next",
    "later_today",
    "today",
    "this_morning",
    "this_afternoon",
    "this_evening",
    "tomorrow",
    "tomorrow_morning",
    "tomorrow_afternoon",
    "upcoming",
    "any",
]
WHENS: Final[tuple[When, ...]] = get_args(When)

FIND_LIMIT, FIND_MAX = 6, 20
RECOMMEND_LIMIT, RECOMMEND_MAX = 3, 10
LATE_ARRIVAL = timedelta(minutes=10)
"""How long after its start a session can still be recommended."""
RELEVANT_SHARE = 0.3
"""A recommendation is one of the soonest sessions whose relevance is at least this share of the best's."""
ABSTRACT_CHARS = 200

_NOON, _EVENING = time(12), time(18)
# Which day a window is on (days after today), and the start times it takes (from, until).
_DAY_OFFSET: dict[str, int] = {
    "later_today": 0,
    "today": 0,
    "this_morning": 0,
    "this_afternoon": 0,
    "this_evening": 0,
    "tomorrow": 1,
    "tomorrow_morning": 1,
    "tomorrow_afternoon": 1,
}
_HOURS: dict[str, tuple[time | None, time | None]] = {
    "this_morning": (None, _NOON),
    "tomorrow_morning": (None, _NOON),
    "this_afternoon": (_NOON, _EVENING),
    "tomorrow_afternoon": (_NOON, _EVENING),
    "this_evening": (_EVENING, None),
}
_NOT_ENDED = frozenset({"this_morning", "this_afternoon", "this_evening", "upcoming"})


# --- Matching -------------------------------------------------------------------------------------------


class Matcher(Protocol):
    """How relevant a session is to a topic or an interest: 0 for not at all, higher for more."""

    def score(self, query: str, session: Session) -> float: ...


def fold(text: str) -> str:
    """Lower case without accents: ``Tomás`` -> ``tomas``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = (
    "a an the and or of to in on at for with about from by into as is are was be it its this that these "
    "those i me my we our you your what which who whom when where how why any some all there here do does "
    "can could would should will like love want interested interest see show find tell more talk talks "
    "session sessions presentation presentations lecture lectures topic topics something anything thing "
    "things stuff"
)
STOP_WORDS: Final = frozenset(_STOP_WORDS.split())


def stem(word: str) -> str:
    """A light English stemmer: plural ``-s``/``-es``/``-ies`` and ``-ing`` go (``streaming`` -> ``stream``,
    ``indexes`` -> ``index``, ``databases`` -> ``database``)."""
    if len(word) >= 7 and word.endswith("ing"):
        return word[:-3]
    if len(word) >= 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) >= 5 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) >= 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The searchable words of ``text``: folded, stemmed, without stop words, in order."""
    return [stem(word) for word in _WORD.findall(fold(text)) if word not in STOP_WORDS]


def _same(term: str, word: str) -> bool:
    # A stem that is a long prefix of a word, a few letters short of it, is the same word: "secur(ing)" and
    # "security", "model" and "modell(ing)"; but not "event" and "eventbridge".
    if term == word:
        return True
    short, long_ = sorted((term, word), key=len)
    return len(short) >= 5 and len(long_) - len(short) <= 3 and long_.startswith(short)


@lru_cache(maxsize=4096)
def _fields(session: Session) -> tuple[tuple[float, frozenset[str]], ...]:
    return (
        (LexicalMatcher.TITLE, frozenset(terms(session.title))),
        (LexicalMatcher.TRACK, frozenset(terms(session.track))),
        (LexicalMatcher.ABSTRACT, frozenset(terms(session.abstract))),
        (LexicalMatcher.SPEAKERS, frozenset(terms(" ".join(session.speakers)))),
    )


class LexicalMatcher:
    """Each query word found in the title counts 3, in the track 2, in the abstract 1, in the speakers 1."""

    TITLE: Final = 3.0
    TRACK: Final = 2.0
    ABSTRACT: Final = 1.0
    SPEAKERS: Final = 1.0

    def score(self, query: str, session: Session) -> float:
        total = 0.0
        for term in dict.fromkeys(terms(query)):
            for weight, words in _fields(session):
                if term in words or any(_same(term, word) for word in words):
                    total += weight
        return total


_PARENTHESES = re.compile(r"\([^()]*\)")
_ROOM_WORD = re.compile(r"\w+(?:\.\w+)*")
_ROOM_FILLERS = frozenset({"room", "the", "sala", "salle", "raum"})


def _room_words(text: str) -> list[str]:
    return _ROOM_WORD.findall(fold(_PARENTHESES.sub(" ", text)))


def room_matches(query: str, room: str) -> bool:
    """Every word of ``query`` (but "room") is a word of the room's name, a ``(Level 0)`` aside ignored:
    "2.1" and "room 2.1" match "Room 2.1", "expo" matches "Expo Stage"; "hall b" does not match
    "Auditorium B"."""
    if not room:
        return False
    asked = _room_words(query)
    wanted = [word for word in asked if word not in _ROOM_FILLERS] or asked
    words = set(_room_words(room))
    return bool(wanted) and all(word in words for word in wanted)


_TITLES = frozenset({"dr", "prof", "mr", "mrs", "ms", "mx", "sir", "dame"})
_PEOPLE = re.compile(r"\s*(?:[;,&/+]|\band\b)\s*", re.IGNORECASE)


def _name_words(text: str) -> list[str]:
    folded = re.sub(r"['\u2019]s\b", "", fold(text))
    return [word for word in _WORD.findall(folded) if word not in _TITLES]


def speaker_matches(query: str, speakers: Sequence[str]) -> bool:
    """A speaker's full name, first name or surname, any case, accents optional ("Tomas Silveira" matches
    "Tomás Silveira"); several names separated by "and" or commas match any of them."""
    for person in _PEOPLE.split(query):
        wanted = _name_words(person)
        if wanted and any(all(word in _name_words(name) for word in wanted) for name in speakers):
            return True
    return False


# --- The tools ------------------------------------------------------------------------------------------

_WHEN_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(WHENS),
    "description": (
        "The time window, in the event's local time: now (under way at this moment), next (the sessions "
        "starting at the next start time, after the other filters, e.g. next in a room), later_today, "
        "today, this_morning (before 12:00, not yet over), this_afternoon (12:00-18:00), this_evening "
        "(from 18:00), tomorrow, tomorrow_morning, tomorrow_afternoon, upcoming (not over yet), "
        "any (the whole agenda)."
    ),
}

TOOL_SPECS: Final[list[dict[str, Any]]] = [
    {
        "toolSpec": {
            "name": "find_sessions",
            "description": (
                "Look up sessions in the event's agenda (talks, keynotes, workshops, breaks, lunch, parties) "
                "by time window, day, room, speaker and topic; the filters combine. Use it for questions "
                "such as what is on now, what is next (in a room), what is on tomorrow morning, when the "
                "talk about a subject is, or what a person presents. All times are the event's local time; "
                "the result gives the current local time as `now`, the time zone and the event's days "
                "(`event_days`), so you can tell when the event has not started yet or is over. The result "
                "lists the matching sessions by start time, each with title, start and end (ISO 8601 with "
                "the UTC offset), room, speakers, track and the beginning of its abstract, and `total`, "
                "the number of matches before the limit."
            ),
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {
                        "when": {**_WHEN_SCHEMA, "default": "any"},
                        "day": {
                            "type": "string",
                            "pattern": r"^\d{4}-\d{2}-\d{2}$",
                            "description": (
                                "A date of the event, YYYY-MM-DD: only sessions starting that day. Combine "
                                "it with when=any for the whole day or this_morning, this_afternoon or "
                                "this_evening for part of it."
                            ),
                        },
                        "room": {
                            "type": "string",
                            "description": (
                                "A room as the agenda names it, e.g. 'Room 2.1', 'Auditorium A', "
                                "'Expo Stage'; part of the name is enough ('2.1', 'expo')."
                            ),
                        },
                        "speaker": {
                            "type": "string",
                            "description": "A speaker's full name, first name or surname.",
                        },
                        "topic": {
                            "type": "string",
                            "description": (
                                "Words naming the subject, in English (the agenda's language) even when "
                                "the user writes in another language, e.g. 'Kafka', 'vector search', "
                                "'security'. Sessions mentioning any of the words match."
                            ),
                        },
                        "limit": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": FIND_MAX,
                            "default": FIND_LIMIT,
                            "description": "How many sessions to return at most.",
                        },
                    },
                    "additionalProperties": False,
                }
            },
        }
    },
    {
        "toolSpec": {
            "name": "recommend_sessions",
            "description": (
                "Suggest sessions of the event's agenda for an attendee's interests: talks, keynotes and "
                "workshops (never breaks), the most relevant first, preferring sessions that do not overlap "
                "in time. All times are the event's local time; the result gives the current local time "
                "as `now` and the event's days. It lists the sessions, each with title, start and end "
                "(ISO 8601 with the UTC offset), room, speakers, track and the beginning of its abstract, "
                "and `total`, the number of relevant sessions before the limit."
            ),
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {
                        "interests": {
                            "type": "array",
                            "items": {"type": "string"},
                            "minItems": 1,
                            "description": (
                                "The attendee's interests, one subject an item, in English (the agenda's "
                                "language) even when the user writes in another language, e.g. "
                                "['security', 'data']."
                            ),
                        },
                        "when": {**_WHEN_SCHEMA, "default": "upcoming"},
                        "limit": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": RECOMMEND_MAX,
                            "default": RECOMMEND_LIMIT,
                            "description": "How many sessions to suggest at most.",
                        },
                    },
                    "required": ["interests"],
                    "additionalProperties": False,
                }
            },
        }
    },
]


def _abridged(text: str, limit: int = ABSTRACT_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def session_result(session: Session) -> dict[str, Any]:
    """A session as a tool result shows it (the abstract cut to about 200 characters)."""
    return {
        "title": session.title,
        "start": session.start.isoformat(timespec="minutes"),
        "end": session.end.isoformat(timespec="minutes"),
        "room": session.room,
        "speakers": list(session.speakers),
        "track": session.track,
        "abstract": _abridged(session.abstract),
    }


class AgendaTools:
    """Finds and recommends sessions of ``schedule``; ``now`` gives the current time (a naive time is taken
    to be the event's local time)."""

    def __init__(
        self, schedule: Schedule, now: Callable[[], datetime], matcher: Matcher | None = None
    ) -> None:
        self.schedule = schedule
        self._now = now
        self.matcher: Matcher = matcher or LexicalMatcher()

    def now(self) -> datetime:
        """The current time in the event's time zone."""
        moment = self._now()
        zone = self.schedule.timezone
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

    def find(
        self,
        when: When = "any",
        *,
        day: date | None = None,
        room: str | None = None,
        speaker: str | None = None,
        topic: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        """The sessions in the window ``when`` (on ``day``, if given: it replaces the window's own day)
        that match every filter given, by start time; ``limit=None`` for all of them."""
        return self._find(self.now(), when, day, room, speaker, topic)[: _checked(limit)]

    def recommend(
        self, interests: Sequence[str], when: When = "upcoming", *, limit: int | None = RECOMMEND_LIMIT
    ) -> list[Session]:
        """Talks and workshops relevant to any of ``interests`` in the window ``when``: the most relevant
        first, skipping sessions that overlap one already chosen while others are left."""
        return self._recommend(self.now(), interests, when)[: _checked(limit)]

    def run(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Execute a tool call; invalid calls give ``{"error": ...}`` rather than an exception."""
        try:
            if name == "find_sessions":
                return self._run_find(_Arguments(arguments, name, _FIND_KEYS))
            if name == "recommend_sessions":
                return self._run_recommend(_Arguments(arguments, name, _RECOMMEND_KEYS))
        except AgendaError as error:
            return {"error": str(error)}
        return {"error": f"unknown tool {name!r}: the tools are find_sessions and recommend_sessions"}

    def _run_find(self, arguments: _Arguments) -> dict[str, Any]:
        now, when = self.now(), arguments.when("any")
        found = self._find(
            now,
            when,
            arguments.day(),
            arguments.text("room"),
            arguments.text("speaker"),
            arguments.text("topic"),
        )
        return self._result(now, when, found, arguments.limit(FIND_LIMIT, FIND_MAX))

    def _run_recommend(self, arguments: _Arguments) -> dict[str, Any]:
        now, when = self.now(), arguments.when("upcoming")
        interests = arguments.interests()
        ranked = self._recommend(now, interests, when)
        result = self._result(now, when, ranked, arguments.limit(RECOMMEND_LIMIT, RECOMMEND_MAX))
        return {**result, "interests": interests}

    def _result(self, now: datetime, when: When, sessions: list[Session], limit: int) -> dict[str, Any]:
        return {
            "now": now.isoformat(timespec="minutes"),
            "timezone": self.schedule.timezone.key,
            "event_days": [day.isoformat() for day in self.schedule.days()],
            "when": when,
            "sessions": [session_result(session) for session in sessions[:limit]],
            "total": len(sessions),
        }

    def _find(
        self,
        now: datetime,
        when: When,
        day: date | None,
        room: str | None,
        speaker: str | None,
        topic: str | None,
    ) -> list[Session]:
        if when not in WHENS:
            raise AgendaError(f"'when' must be one of {', '.join(WHENS)}, not {when!r}")
        found = [
            session
            for session in self.schedule.sessions
            if _in_window(session, when, now, day)
            and (not room or room_matches(room, session.room))
            and (not speaker or speaker_matches(speaker, session.speakers))
            and (not topic or self.matcher.score(topic, session) > 0)
        ]
        if when == "next" and found:
            found = [session for session in found if session.start == found[0].start]
        return found

    def _recommend(self, now: datetime, interests: Sequence[str], when: When) -> list[Session]:
        if isinstance(interests, str):
            interests = [interests]
        # Asked what to see from now on, a session well under way is no recommendation (one can still walk in
        # during its first minutes); asked about now, or any time, every session counts.
        late = now - LATE_ARRIVAL if when not in ("now", "any") else None
        candidates = [
            s
            for s in self._find(now, when, None, None, None, None)
            if not s.is_break and (late is None or s.start >= late)
        ]
        relevance = [0.0] * len(candidates)
        for interest in interests:
            scores = [self.matcher.score(interest, session) for session in candidates]
            best = max(scores, default=0.0)
            # Each interest weighs the same: a word that fills titles ("data") does not drown another
            # that mostly names a track ("security").
            for index, score in enumerate(scores):
                if best > 0:
                    relevance[index] += score / best
        scored = [pair for pair in zip(relevance, candidates, strict=True) if pair[0] > 0]
        top = max((score for score, _ in scored), default=0.0)
        good = [pair for pair in scored if pair[0] >= RELEVANT_SHARE * top]
        # An itinerary: the soonest of the clearly relevant sessions first, one per time slot (the most
        # relevant of each), then the ones they overlap, then the barely relevant.
        chosen: list[Session] = []
        overlapping: list[Session] = []
        for _, session in sorted(good, key=lambda p: (p[1].start, -p[0])):
            (overlapping if any(session.overlaps(c) for c in chosen) else chosen).append(session)
        rest = [s for _, s in sorted((p for p in scored if p not in good), key=lambda p: -p[0])]
        return chosen + overlapping + rest


def _checked(limit: int | None) -> int | None:
    if limit is not None and limit < 0:
        raise AgendaError(f"a limit cannot be negative: {limit}")
    return limit


def _in_window(session: Session, when: When, now: datetime, day: date | None) -> bool:
    start = session.start
    if day is None and when in _DAY_OFFSET:
        day = now.date() + timedelta(days=_DAY_OFFSET[when])
    if day is not None and start.date() != day:
        return False
    earliest, until = _HOURS.get(when, (None, None))
    if (earliest is not None and start.time() < earliest) or (until is not None and start.time() >= until):
        return False
    if when == "now":
        return session.start <= now < session.end
    if when in ("next", "later_today"):
        return session.start > now
    if when in _NOT_ENDED:
        return session.end > now
    return True


_FIND_KEYS = frozenset({"when", "day", "room", "speaker", "topic", "limit"})
_RECOMMEND_KEYS = frozenset({"interests", "when", "limit"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Arguments:
    """A tool call's arguments, checked one by one: every problem is an ``AgendaError`` the model can read."""

    def __init__(self, arguments: object, tool: str, allowed: frozenset[str]) -> None:
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, Mapping):
            raise AgendaError(f"{tool}: the arguments must be an object")
        unknown = sorted(set(map(str, arguments)) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise AgendaError(f"{tool}: unknown argument(s) {', '.join(unknown)}; the arguments are {known}")
        # A null or an empty text means "not given", as models sometimes send them for optional arguments.
        self._values = {key: value for key, value in arguments.items() if value not in (None, "")}

    def text(self, key: str) -> str | None:
        value = self._values.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise AgendaError(f"'{key}' must be a text")
        return value.strip() or None

    def when(self, default: When) -> When:
        value = self.text("when")
        if value is None:
            return default
        normalised = value.lower().replace(" ", "_").replace("-", "_")
        for when in WHENS:
            if when == normalised:
                return when
        raise AgendaError(f"'when' must be one of {', '.join(WHENS)}, not {value!r}")

    def day(self) -> date | None:
        value = self.text("day")
        if value is None:
            return None
        try:
            if not _DAY.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise AgendaError(f"'day' must be a date written YYYY-MM-DD, not {value!r}") from None

    def limit(self, default: int, maximum: int) -> int:
        value = self._values.get("limit", default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise AgendaError(f"'limit' must be a whole number from 1 to {maximum}")
        return min(value, maximum)

    def interests(self) -> list[str]:
        value = self._values.get("interests")
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise AgendaError("'interests' must be a list of subjects, e.g. ['security', 'data']")
        return [item.strip() for item in value]
