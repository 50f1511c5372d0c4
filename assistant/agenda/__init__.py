"""The event's agenda as a schedule: parsed from Markdown, JSON, CSV or iCalendar, queried by two tools.

Pure Python (``icalendar`` is imported only to read ``.ics`` files). ``load_agenda`` reads a file into a
``Schedule``; ``AgendaTools`` answers ``find_sessions`` and ``recommend_sessions`` calls (``TOOL_SPECS``
describes them to a model) against it, in the event's local time.
"""

from assistant.agenda.model import FORMAT_VERSION, AgendaError, Schedule, Session
from assistant.agenda.parsing import (
    AGENDA_SUFFIXES,
    DEFAULT_DURATION,
    load_agenda,
    merged,
    parse_csv,
    parse_ics,
    parse_json,
    parse_markdown,
)
from assistant.agenda.tools import (
    TOOL_SPECS,
    WHENS,
    AgendaTools,
    LexicalMatcher,
    Matcher,
    When,
    session_result,
)

__all__ = [
    "AGENDA_SUFFIXES",
    "DEFAULT_DURATION",
    "FORMAT_VERSION",
    "TOOL_SPECS",
    "WHENS",
    "AgendaError",
    "AgendaTools",
    "LexicalMatcher",
    "Matcher",
    "Schedule",
    "Session",
    "When",
    "load_agenda",
    "merged",
    "parse_csv",
    "parse_ics",
    "parse_json",
    "parse_markdown",
    "session_result",
]
