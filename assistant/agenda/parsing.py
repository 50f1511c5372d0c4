"""Agenda files to a ``Schedule``: one parser per format (Markdown, JSON, CSV, iCalendar) and a dispatcher.

Every parser takes the file's text, the event's time zone (times written without an offset are in it) and the
file's name (``source``), which each session keeps and every ``AgendaError`` names with the line or entry.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from os import PathLike
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from assistant.agenda.model import AgendaError, Schedule, Session, zone

DEFAULT_DURATION = timedelta(minutes=30)
"""A JSON or CSV session without an end lasts this long; an iCalendar event without DTEND or DURATION too."""

AGENDA_SUFFIXES = frozenset({".md", ".markdown", ".json", ".csv", ".ics"})
"""The file name endings ``load_agenda`` reads."""

# An end that reads as earlier than the start is taken to be on the next day (a party until 01:00) only when
# the session then lasts less than this; otherwise it is a typo and an error.
_LONGEST_OVERNIGHT = timedelta(hours=12)

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})\b")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")

_CLOCK = r"\d{1,2}[:.h]\d{2}"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SESSION_HEADING = re.compile(
    rf"^(?P<start>{_CLOCK})\s*(?:-|\u2013|\u2014|to)\s*(?P<end>{_CLOCK})\b\s*(?:[·•|:\-\u2013\u2014]\s*)?(?P<title>.*)$",
    re.IGNORECASE,
)
_STARTS_WITH_CLOCK = re.compile(rf"^{_CLOCK}\b")
_CLOCK_ONLY = re.compile(rf"^\s*({_CLOCK})\s*$")
_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_LABELLED_ITEM = re.compile(
    r"^\s*[-*+]\s+(?:\*\*|__)?(?P<label>[A-Za-z][A-Za-z ]{0,30}?)\s*"
    r"(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:|:)\s*(?P<value>.*?)\s*$"
)
_BULLET = re.compile(r"^[-*+]\s+")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*\*|__")

_ROOM_LABELS = frozenset({"room", "rooms", "location", "venue", "where", "stage"})
_TRACK_LABELS = frozenset({"track", "tracks", "category", "theme"})
_SPEAKER_LABELS = frozenset(
    {
        "speaker",
        "speakers",
        "host",
        "hosts",
        "hosted by",
        "presenter",
        "presenters",
        "presented by",
        "moderator",
        "moderators",
        "moderated by",
        "panelist",
        "panelists",
        "panellist",
        "panellists",
        "facilitator",
        "facilitators",
        "instructor",
        "instructors",
        "with",
    }
)
_COMPANY = re.compile(r"\s*\([^()]*\)")
_NAME_SEPARATORS = re.compile(r"\s*(?:[;,&]|\band\b)\s*", re.IGNORECASE)
_NAME_PREFIX = re.compile(r"^(?:moderated|hosted|presented|led)\s+by\s+|^with\s+", re.IGNORECASE)
_SPEAKER_LINE = re.compile(
    r"^\s*(?:speakers?|presenters?|hosts?|moderators?|panell?ists?)\s*:\s*(?P<names>.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def speaker_names(text: str) -> tuple[str, ...]:
    """The people in ``A (X), B (Y) and C (Z); moderated by D (W)``: names without companies, in order."""
    names: dict[str, str] = {}
    for part in _NAME_SEPARATORS.split(_COMPANY.sub("", text)):
        name = _NAME_PREFIX.sub("", part.strip()).strip(" .")
        if name and name.casefold() not in names:
            names[name.casefold()] = name
    return tuple(names.values())


def _where(source: str, where: str) -> str:
    return f"{source or 'agenda'}: {where}"


def _clock(text: str) -> timedelta:
    """``9:00``, ``09.00`` or ``9h00`` as the time since midnight; ``24:00`` is allowed."""
    hours, minutes = (int(part) for part in re.split(r"[:.h]", text.lower()))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{text!r} is not a time of day")
    return timedelta(hours=hours, minutes=minutes)


def _at(day: date, since_midnight: timedelta, timezone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), timezone) + since_midnight


def _end_after(start: datetime, end: datetime, where: str) -> datetime:
    if end > start:
        return end
    overnight = end + timedelta(days=1)
    if end < start and overnight - start < _LONGEST_OVERNIGHT:
        return overnight
    raise AgendaError(f"{where}: the session ends ({end:%H:%M}) before or when it starts ({start:%H:%M})")


def _session(where: str, **fields: Any) -> Session:
    try:
        return Session(**fields)
    except AgendaError as error:
        raise AgendaError(f"{where}: {error}") from None


# --- Markdown -------------------------------------------------------------------------------------------


def _heading_date(text: str) -> date | None:
    """The date a heading names (``Day 1 — Wednesday 11 March 2026``, ``2026-03-11``), if any."""
    if match := _ISO_DATE.search(text):
        year, month, day = (int(group) for group in match.groups())
        return date(year, month, day)
    if (match := _DAY_MONTH_YEAR.search(text)) and match[2].lower() in _MONTHS:
        return date(int(match[3]), _MONTHS[match[2].lower()], int(match[1]))
    if (match := _MONTH_DAY_YEAR.search(text)) and match[1].lower() in _MONTHS:
        return date(int(match[3]), _MONTHS[match[1].lower()], int(match[2]))
    return None


def _plain(line: str) -> str:
    return _EMPHASIS.sub("", _LINK.sub(r"\1", line)).strip()


def _joined(lines: list[str]) -> str:
    """A paragraph's lines as one line, but each list item on a line of its own."""
    text = ""
    for line in lines:
        separator = "\n" if line.startswith("- ") else " "
        text = f"{text}{separator}{line}" if text else line
    return text


class _Draft:
    """A session being read: its heading is parsed, its list items and abstract lines are collected."""

    def __init__(self, line: int, title: str, start: datetime, end: datetime) -> None:
        self.line, self.title, self.start, self.end = line, title, start, end
        self.room = self.track = ""
        self.speakers: list[str] = []
        self.paragraphs: list[list[str]] = [[]]

    def add(self, line: str) -> None:
        if not line.strip():
            if self.paragraphs[-1]:
                self.paragraphs.append([])
            return
        if (match := _LABELLED_ITEM.match(line)) and self._metadata(match["label"], _plain(match["value"])):
            return
        text = _plain(_BULLET.sub("- ", line.lstrip("> ").strip()))
        if text:
            self.paragraphs[-1].append(text)

    def _metadata(self, label: str, value: str) -> bool:
        label = label.strip().lower()
        if label in _ROOM_LABELS:
            self.room = value
        elif label in _TRACK_LABELS:
            self.track = value
        elif label in _SPEAKER_LABELS:
            self.speakers.extend(speaker_names(value))
        else:
            return False
        return True

    def session(self, source: str) -> Session:
        abstract = "\n\n".join(_joined(lines) for lines in self.paragraphs if lines)
        speakers = tuple(dict.fromkeys(self.speakers))
        return _session(
            _where(source, f"line {self.line}"),
            title=self.title,
            start=self.start,
            end=self.end,
            room=self.room,
            speakers=speakers,
            track=self.track,
            abstract=abstract,
            source=source,
        )


def parse_markdown(text: str, timezone: ZoneInfo | str, source: str = "") -> Schedule:
    """An agenda written as ``## <a date>`` day headings and ``### 09:00-09:45 · Title`` session headings,
    each followed by ``- **Room:** …``, ``- **Track:** …``, ``- **Speaker(s):** …`` items and the abstract.

    Headings without a date end the day they follow (a "Sessions by track" summary is not read); a document
    without session headings gives an empty schedule. A session heading outside a dated day section, or
    without an end time, is an ``AgendaError``.
    """
    tz = zone(timezone)
    sessions: list[Session] = []
    day: date | None = None
    day_level = 0
    draft: _Draft | None = None
    for number, line in enumerate(text.splitlines(), 1):
        heading = _HEADING.match(line)
        if heading is None:
            if draft is not None and not _RULE.match(line):
                draft.add(line)
            continue
        if draft is not None:
            sessions.append(draft.session(source))
            draft = None
        level, title = len(heading[1]), _plain(heading[2])
        where = _where(source, f"line {number}")
        if _STARTS_WITH_CLOCK.match(title):
            draft = _session_heading(title, day, tz, where, number)
            continue
        try:
            named = _heading_date(title)
        except ValueError as error:
            raise AgendaError(f"{where}: {title!r} names no real date ({error})") from None
        if named is not None:
            day, day_level = named, level
        elif day is not None and level <= day_level:
            day = None
    if draft is not None:
        sessions.append(draft.session(source))
    return Schedule(tuple(sessions), tz)


def _session_heading(title: str, day: date | None, tz: ZoneInfo, where: str, number: int) -> _Draft:
    match = _SESSION_HEADING.match(title)
    if match is None or not match["title"].strip():
        raise AgendaError(f"{where}: a session heading reads like '### 09:00-09:45 · Title', not {title!r}")
    if day is None:
        raise AgendaError(
            f"{where}: session {match['title']!r} is not under a day heading with a date "
            "(such as '## Wednesday 11 March 2026' or '## 2026-03-11')"
        )
    try:
        start = _at(day, _clock(match["start"]), tz)
        end = _at(day, _clock(match["end"]), tz)
    except ValueError as error:
        raise AgendaError(f"{where}: {error}") from None
    return _Draft(number, match["title"].strip(), start, _end_after(start, end, where))


# --- JSON and CSV ---------------------------------------------------------------------------------------

_ALIASES = {
    "title": ("title", "name"),
    "start": ("start", "start_time", "starts", "begin"),
    "end": ("end", "end_time", "ends"),
    "date": ("date", "day"),
    "room": ("room", "location", "venue"),
    "speakers": ("speakers", "speaker", "presenters", "presenter"),
    "track": ("track", "category"),
    "abstract": ("abstract", "description"),
}


def _field(record: Mapping[str, Any], name: str) -> Any:
    for key in _ALIASES[name]:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


def _text(record: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(record, name)
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    raise AgendaError(f"{where}: {name!r} must be text")


def _speakers(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return speaker_names(value)
    if isinstance(value, list):
        names: list[str] = []
        for item in value:
            if isinstance(item, Mapping):
                item = item.get("name")
            if not isinstance(item, str):
                raise AgendaError(f"{where}: 'speakers' must be names or objects with a 'name'")
            names.extend(speaker_names(item))
        return tuple(dict.fromkeys(names))
    raise AgendaError(f"{where}: 'speakers' must be a list of names or a text")


def _moment(value: str, day: date | None, tz: ZoneInfo, name: str, where: str) -> datetime:
    if clock := _CLOCK_ONLY.match(value):
        if day is None:
            raise AgendaError(f"{where}: {name!r} is a time of day ({value!r}) and there is no 'date'")
        try:
            return _at(day, _clock(clock[1]), tz)
        except ValueError as error:
            raise AgendaError(f"{where}: {error}") from None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise AgendaError(f"{where}: {name!r} is not an ISO 8601 time: {value!r}") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _record_session(record: Mapping[str, Any], tz: ZoneInfo, source: str, where: str) -> Session:
    record = {str(key).strip().lower(): value for key, value in record.items()}
    title = _text(record, "title", where)
    if not title:
        raise AgendaError(f"{where}: the session has no 'title'")
    start_text = _text(record, "start", where)
    if not start_text:
        raise AgendaError(f"{where}: session {title!r} has no 'start'")
    day_text = _text(record, "date", where)
    try:
        day = date.fromisoformat(day_text) if day_text else None
    except ValueError:
        raise AgendaError(f"{where}: 'date' is not a date like 2026-03-11: {day_text!r}") from None
    start = _moment(start_text, day, tz, "start", where)
    end_text = _text(record, "end", where)
    if end_text:
        # An end given as a time of day belongs to the start's day (in the event's time zone).
        end_day = day or start.astimezone(tz).date()
        end = _end_after(start, _moment(end_text, end_day, tz, "end", where), where)
    else:
        end = start + DEFAULT_DURATION
    return _session(
        where,
        title=title,
        start=start,
        end=end,
        room=_text(record, "room", where),
        speakers=_speakers(_field(record, "speakers"), where),
        track=_text(record, "track", where),
        abstract=_text(record, "abstract", where),
        source=source,
    )


def parse_json(text: str, timezone: ZoneInfo | str, source: str = "") -> Schedule:
    """A list of session objects, or ``{"sessions": [...]}`` (which ``Schedule.to_json`` writes too).

    Keys: ``title``, ``start``, ``end`` (ISO 8601; without an offset they are in ``timezone``; a time of day
    with a ``date`` key), optional ``room``, ``speakers`` (a list or a comma-separated text), ``track``,
    ``abstract`` or ``description``. Without an end a session lasts 30 minutes.
    """
    tz = zone(timezone)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise AgendaError(_where(source, f"line {error.lineno}: not valid JSON ({error.msg})")) from None
    entries = data.get("sessions") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise AgendaError(_where(source, 'expected a list of sessions or an object with "sessions": [...]'))
    sessions = []
    for index, entry in enumerate(entries, 1):
        where = _where(source, f"entry {index}")
        if not isinstance(entry, dict):
            raise AgendaError(f"{where}: expected an object with 'title' and 'start'")
        sessions.append(_record_session(entry, tz, source, where))
    return Schedule(tuple(sessions), tz)


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    lines = text.lstrip("\ufeff")
    first = next((line for line in lines.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(lines, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as error:
        raise AgendaError(_where(source, f"line {reader.line_num}: {error}")) from None


def parse_csv(text: str, timezone: ZoneInfo | str, source: str = "") -> Schedule:
    """A header row (``title,start,end,room,speakers,track,abstract``, any case; ``date`` with times of day
    in ``start``/``end``; ``location`` for the room, ``description`` for the abstract), one session a row.
    Speakers are separated by ``;`` or ``,``; the delimiter is ``,``, ``;`` or a tab (read from the header).
    """
    tz = zone(timezone)
    rows = _rows(text, source)
    header_row = next(rows, None)
    if header_row is None:
        return Schedule((), tz)
    header = [cell.strip().lower() for cell in header_row[1]]
    for name in ("title", "start"):
        if not any(alias in header for alias in _ALIASES[name]):
            raise AgendaError(_where(source, f"line {header_row[0]}: the header has no {name!r} column"))
    sessions = []
    for line, row in rows:
        where = _where(source, f"line {line}")
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            raise AgendaError(f"{where}: {len(row)} cells, and the header names {len(header)}")
        sessions.append(_record_session(dict(zip(header, row, strict=False)), tz, source, where))
    return Schedule(tuple(sessions), tz)


# --- iCalendar ------------------------------------------------------------------------------------------


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _ics_moment(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value
    if isinstance(value, date):  # an all-day event
        return datetime.combine(value, time(), tz)
    raise TypeError(f"not a date or a time: {value!r}")


def _common_names(addresses: Any) -> list[str]:
    names: list[str] = []
    for address in _listed(addresses):
        common_name = getattr(address, "params", {}).get("CN")
        if common_name:
            names.extend(speaker_names(str(common_name)))
    return names


def _ics_speakers(event: Any, description: str) -> tuple[tuple[str, ...], str]:
    """The speakers, from a ``Speakers:`` line of the description (which is then left out of it), else the
    ATTENDEEs' common names, else the ORGANIZER's (often the organising team rather than a speaker, so only
    when no attendee is named)."""
    if match := _SPEAKER_LINE.search(description):
        rest = (description[: match.start()] + description[match.end() :]).strip()
        return speaker_names(match["names"]), re.sub(r"\n{3,}", "\n\n", rest)
    names = _common_names(event.get("ATTENDEE")) or _common_names(event.get("ORGANIZER"))
    return tuple(dict.fromkeys(names)), description


def _ics_session(event: Any, tz: ZoneInfo, source: str, where: str) -> Session:
    title = str(event.get("SUMMARY", "")).strip()
    if not title:
        raise AgendaError(f"{where}: the event has no SUMMARY")
    where = f"{where} ({title!r})"
    if event.get("DTSTART") is None:
        raise AgendaError(f"{where}: the event has no DTSTART")
    try:
        start = _ics_moment(event["DTSTART"].dt, tz)
        if event.get("DTEND") is not None:
            end = _ics_moment(event["DTEND"].dt, tz)
        elif event.get("DURATION") is not None:
            end = start + event["DURATION"].dt
        elif isinstance(event["DTSTART"].dt, datetime):
            end = start + DEFAULT_DURATION
        else:
            end = start + timedelta(days=1)
    except (TypeError, ValueError) as error:
        raise AgendaError(f"{where}: unreadable DTSTART, DTEND or DURATION ({error})") from None
    categories = [str(c) for item in _listed(event.get("CATEGORIES")) for c in getattr(item, "cats", [item])]
    speakers, abstract = _ics_speakers(event, str(event.get("DESCRIPTION", "")).strip())
    return _session(
        where,
        title=title,
        start=start,
        end=end,
        room=str(event.get("LOCATION", "")).strip(),
        speakers=speakers,
        track=categories[0].strip() if categories else "",
        abstract=abstract,
        source=source,
    )


def parse_ics(text: str, timezone: ZoneInfo | str, source: str = "") -> Schedule:
    """The VEVENTs of an iCalendar file: SUMMARY, DTSTART, DTEND (or DURATION), LOCATION, DESCRIPTION, the
    first of CATEGORIES as the track; speakers from a ``Speaker(s):`` line of the description, else from the
    ATTENDEE (else ORGANIZER) common names. Floating times are in ``timezone``; an all-day event runs from
    midnight to midnight; cancelled events are skipped; a recurring event counts once, at its DTSTART.
    """
    from icalendar import Calendar  # lazily: only iCalendar agendas pay for the import

    tz = zone(timezone)
    try:
        calendar = Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as error:
        raise AgendaError(_where(source, f"not a valid iCalendar file ({error})")) from None
    sessions = []
    for index, event in enumerate(calendar.walk("VEVENT"), 1):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        sessions.append(_ics_session(event, tz, source, _where(source, f"event {index}")))
    return Schedule(tuple(sessions), tz)


# --- Dispatch -------------------------------------------------------------------------------------------


def load_agenda(path_or_name: str | PathLike[str], text: str, timezone: ZoneInfo | str) -> Schedule:
    """The schedule in ``text``, read by the parser its file name's ending chooses (``AGENDA_SUFFIXES``).

    A Markdown document without session headings (a venue guide, an FAQ) gives an empty schedule; any
    other ending is an ``AgendaError``.
    """
    name = PurePath(path_or_name).name
    suffix = PurePath(name).suffix.lower()
    if suffix in (".md", ".markdown"):
        return parse_markdown(text, timezone, name)
    if suffix == ".json":
        return parse_json(text, timezone, name)
    if suffix == ".csv":
        return parse_csv(text, timezone, name)
    if suffix == ".ics":
        return parse_ics(text, timezone, name)
    raise AgendaError(f"{name}: not an agenda format (expected one of {', '.join(sorted(AGENDA_SUFFIXES))})")


def merged(schedules: Iterable[Schedule], timezone: ZoneInfo | str) -> Schedule:
    """All the schedules as one, in ``timezone`` (duplicates across files dropped, see ``Schedule.merge``)."""
    result = Schedule.empty(timezone)
    for schedule in schedules:
        result = result.merge(schedule)
    return result
