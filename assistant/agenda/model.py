"""The agenda's domain types: a session and the schedule of an event, with a JSON form to store them in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FORMAT_VERSION = 1
"""The version of ``Schedule.to_json``'s format; ``from_json`` refuses any other."""


class AgendaError(ValueError):
    """An agenda that cannot be read: the message names the file and the line or entry, and says why."""


def zone(timezone: ZoneInfo | str) -> ZoneInfo:
    """``timezone`` as a ``ZoneInfo``; an IANA name (``Europe/Lisbon``) is looked up."""
    if isinstance(timezone, ZoneInfo):
        return timezone
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise AgendaError(f"unknown time zone {timezone!r}") from error


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


@dataclass(frozen=True, slots=True)
class Session:
    """One item of the agenda: a talk, a workshop, a break. ``start`` and ``end`` are timezone-aware."""

    title: str
    start: datetime
    end: datetime
    room: str = ""
    speakers: tuple[str, ...] = ()
    """The speakers' names, without their companies; a panel's moderator and a session's host included."""
    track: str = ""
    abstract: str = ""
    source: str = ""
    """The name of the file the session was read from."""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise AgendaError("a session needs a title")
        if not (_aware(self.start) and _aware(self.end)):
            raise AgendaError(f"session {self.title!r}: start and end need a time zone")
        if self.end < self.start:
            raise AgendaError(f"session {self.title!r} ends before it starts")

    @property
    def is_break(self) -> bool:
        """Registration, coffee, lunch, a party: an item with neither speakers nor a track."""
        return not self.speakers and not self.track

    def overlaps(self, other: Session) -> bool:
        return self.start < other.end and other.start < self.end

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "room": self.room,
            "speakers": list(self.speakers),
            "track": self.track,
            "abstract": self.abstract,
            "source": self.source,
        }

    def _in(self, timezone: ZoneInfo) -> Session:
        start, end = self.start.astimezone(timezone), self.end.astimezone(timezone)
        if start.tzinfo is self.start.tzinfo and end.tzinfo is self.end.tzinfo:
            return self
        return Session(
            self.title, start, end, self.room, self.speakers, self.track, self.abstract, self.source
        )


def _sort_key(session: Session) -> tuple[datetime, str, str]:
    return (session.start, session.title.casefold(), session.room.casefold())


def _distinct(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    return tuple(seen[key] for key in sorted(seen))


@dataclass(frozen=True, slots=True)
class Schedule:
    """An event's sessions, sorted by start then title, with their times in the event's time zone."""

    sessions: tuple[Session, ...]
    timezone: ZoneInfo

    def __post_init__(self) -> None:
        local = sorted((s._in(self.timezone) for s in self.sessions), key=_sort_key)
        object.__setattr__(self, "sessions", tuple(local))

    @classmethod
    def empty(cls, timezone: ZoneInfo | str) -> Schedule:
        return cls((), zone(timezone))

    def __len__(self) -> int:
        return len(self.sessions)

    def rooms(self) -> tuple[str, ...]:
        """The distinct room names as written (the first spelling of each), in alphabetical order."""
        return _distinct(s.room for s in self.sessions)

    def speakers(self) -> tuple[str, ...]:
        return _distinct(name for s in self.sessions for name in s.speakers)

    def tracks(self) -> tuple[str, ...]:
        return _distinct(s.track for s in self.sessions)

    def days(self) -> tuple[date, ...]:
        """The dates on which sessions start, in the event's time zone."""
        return tuple(sorted({s.start.date() for s in self.sessions}))

    def merge(self, other: Schedule) -> Schedule:
        """Both schedules' sessions in this one's time zone. A session of ``other`` with the same title,
        start, end and room as one of this schedule (the same agenda in two formats) is dropped."""
        seen = {_identity(s) for s in self.sessions}
        extra = tuple(s for s in other.sessions if _identity(s) not in seen)
        return Schedule(self.sessions + extra, self.timezone)

    def to_markdown(self, title: str = "Agenda") -> str:
        """The schedule as a Markdown agenda (the form ``parse_markdown`` reads), for a knowledge base to
        search and quote: an agenda published as iCalendar, CSV or JSON answers "who gives the closing
        keynote?" as a Markdown agenda does."""
        lines = [f"# {title}", ""]
        day: date | None = None
        for session in self.sessions:
            if session.start.date() != day:
                day = session.start.date()
                lines += [f"## {session.start:%A} {day.day} {session.start:%B %Y}", ""]
            lines.append(f"### {session.start:%H:%M}-{session.end:%H:%M} · {session.title}")
            if session.room:
                lines.append(f"- **Room:** {session.room}")
            if session.track:
                lines.append(f"- **Track:** {session.track}")
            if session.speakers:
                label = "Speakers" if len(session.speakers) > 1 else "Speaker"
                lines.append(f"- **{label}:** {', '.join(session.speakers)}")
            lines.append("")
            if session.abstract:
                lines += [session.abstract, ""]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Plain dicts and lists: times in ISO 8601 with their UTC offsets, and a format version."""
        return {
            "version": FORMAT_VERSION,
            "timezone": self.timezone.key,
            "sessions": [s.to_json() for s in self.sessions],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Schedule:
        """The inverse of ``to_json``."""
        if not isinstance(data, Mapping) or data.get("version") != FORMAT_VERSION:
            raise AgendaError(f"stored schedule: expected an object with version {FORMAT_VERSION}")
        timezone = data.get("timezone")
        sessions = data.get("sessions")
        if not isinstance(timezone, str) or not isinstance(sessions, list):
            raise AgendaError("stored schedule: 'timezone' (text) and 'sessions' (a list) are required")
        return cls(tuple(_stored_session(i, item) for i, item in enumerate(sessions, 1)), zone(timezone))


def _identity(session: Session) -> tuple[str, datetime, datetime, str]:
    return (session.title.casefold(), session.start, session.end, session.room.casefold())


def _stored_session(index: int, item: Any) -> Session:
    where = f"stored schedule: session {index}"
    if not isinstance(item, Mapping):
        raise AgendaError(f"{where}: expected an object")
    texts = {
        key: item.get(key, "") for key in ("title", "start", "end", "room", "track", "abstract", "source")
    }
    if not all(isinstance(value, str) for value in texts.values()):
        raise AgendaError(f"{where}: {', '.join(texts)} must be text")
    speakers = item.get("speakers", [])
    if not isinstance(speakers, list) or not all(isinstance(name, str) for name in speakers):
        raise AgendaError(f"{where}: 'speakers' must be a list of names")
    try:
        start, end = datetime.fromisoformat(texts["start"]), datetime.fromisoformat(texts["end"])
    except ValueError:
        raise AgendaError(f"{where}: 'start' and 'end' must be ISO 8601 times") from None
    if not (_aware(start) and _aware(end)):
        raise AgendaError(f"{where}: 'start' and 'end' need a UTC offset")
    try:
        return Session(
            texts["title"],
            start,
            end,
            texts["room"],
            tuple(speakers),
            texts["track"],
            texts["abstract"],
            texts["source"],
        )
    except AgendaError as error:
        raise AgendaError(f"{where}: {error}") from None
