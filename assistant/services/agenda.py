"""The event's schedule as an answer engine's tools: ``AgendaDesk`` implements the ``Agenda`` port.

It decides which questions are about the schedule (``schedule_questions.interpret``, which reads time words,
rooms, speakers and "recommend" in the supported languages) and runs the tools on the schedule of the
moment, at the event's time (``ASSISTANT_NOW`` when set, else the clock).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from assistant.agenda import TOOL_SPECS, AgendaTools, Schedule
from assistant.ports import Source
from assistant.services.language import points_back
from assistant.services.schedule_questions import Catalog, interpret


def catalog_of(schedule: Schedule) -> Catalog:
    """What a question about this schedule may name: its rooms, speakers, days and tracks."""
    return Catalog(
        rooms=schedule.rooms(), speakers=schedule.speakers(), days=schedule.days(), topics=schedule.tracks()
    )


class AgendaDesk:
    def __init__(
        self, schedule: Callable[[], Schedule], now: Callable[[], datetime], *, source: Source
    ) -> None:
        self._schedule = schedule
        self._now = now
        self._source = source

    @property
    def source(self) -> Source:
        return self._source

    def now(self) -> datetime:
        return self._now()

    def about_schedule(self, text: str) -> bool:
        schedule = self._schedule()
        return len(schedule) > 0 and interpret(text, catalog_of(schedule)) is not None

    def follows_up(self, text: str) -> bool:
        return points_back(text)

    def tool_specs(self) -> list[dict[str, Any]]:
        return [dict(spec) for spec in TOOL_SPECS]

    def run_tool(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        # As the model sent them: the tools answer arguments that are not an object with an error to read.
        return AgendaTools(self._schedule(), self._now).run(name, arguments)
