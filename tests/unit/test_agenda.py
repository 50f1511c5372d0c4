"""assistant.agenda: the agenda read from Markdown, JSON, CSV and iCalendar, and the two tools that query it.

The real knowledge/agenda.md is the main fixture: its facts are asserted as written. "Now" is a fixed time
injected into the tools, so every time window is tested against a known moment of the event.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant.agenda import (
    TOOL_SPECS,
    WHENS,
    AgendaError,
    AgendaTools,
    LexicalMatcher,
    Schedule,
    Session,
    When,
    load_agenda,
    merged,
    parse_csv,
    parse_ics,
    parse_json,
    parse_markdown,
)
from assistant.agenda.tools import room_matches, speaker_matches

KNOWLEDGE = Path(__file__).parents[2] / "knowledge"
LISBON = ZoneInfo("Europe/Lisbon")
DAY_1, DAY_2 = date(2026, 3, 11), date(2026, 3, 12)


def at(day: date, clock: str, zone: ZoneInfo = LISBON) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=zone)


@pytest.fixture(scope="module")
def agenda() -> Schedule:
    return load_agenda(KNOWLEDGE / "agenda.md", (KNOWLEDGE / "agenda.md").read_text(), "Europe/Lisbon")


def tools_at(schedule: Schedule, moment: datetime) -> AgendaTools:
    return AgendaTools(schedule, lambda: moment)


def titles(sessions: list[Session]) -> list[str]:
    return [s.title for s in sessions]


def one(schedule: Schedule, title_start: str) -> Session:
    [session] = [s for s in schedule.sessions if s.title.startswith(title_start)]
    return session


# --- The real agenda ------------------------------------------------------------------------------------


def test_the_opening_keynote_is_at_nine_in_auditorium_a_by_helena_marques(agenda: Schedule) -> None:
    keynote = one(agenda, "Opening Keynote")
    assert keynote.title == "Opening Keynote: Forging the Next Decade of Cloud"
    assert (keynote.start, keynote.end) == (at(DAY_1, "09:00"), at(DAY_1, "09:45"))
    assert keynote.room == "Auditorium A"
    assert keynote.track == "Keynotes"
    assert keynote.speakers == ("Dr. Helena Marques",)
    assert keynote.source == "agenda.md"
    assert keynote.abstract.startswith("Helena opens CloudForge Summit 2026")


def test_the_panel_lists_its_three_panellists_and_its_moderator_without_companies(agenda: Schedule) -> None:
    panel = one(agenda, "Keynote Panel")
    assert panel.speakers == ("Priya Raghunathan", "Marco Bellini", "Claire Dubois", "Sofia Castelo")


def test_a_joint_session_names_both_speakers_and_a_host_counts_as_a_speaker(agenda: Schedule) -> None:
    assert one(agenda, "Incident Response").speakers == ("Jonas Weber", "Lucas Fernandes")
    assert one(agenda, "Lightning Talks").speakers == ("Kwame Asante",)


def test_both_days_have_a_plausible_number_of_sessions_and_nothing_else(agenda: Schedule) -> None:
    assert agenda.days() == (DAY_1, DAY_2)
    per_day = {day: sum(s.start.date() == day for s in agenda.sessions) for day in agenda.days()}
    assert all(15 <= count <= 30 for count in per_day.values()), per_day
    assert len(agenda) == sum(per_day.values())
    # The "Sessions by track (quick reference)" section is not read as sessions.
    assert not [s for s in agenda.sessions if s.title in ("Keynotes", "Serverless", "Sessions by track")]


def test_breaks_keep_their_room_as_written_and_have_no_speakers_or_track(agenda: Schedule) -> None:
    registration = one(agenda, "Registration")
    assert registration.room == "Main Foyer (Level 0)"
    assert registration.is_break
    assert registration.abstract.startswith("Pick up your badge")
    assert one(agenda, "CloudForge Networking Party").end == at(DAY_1, "22:30")


def test_an_abstract_runs_until_the_next_heading_without_markdown_emphasis(agenda: Schedule) -> None:
    workshop = one(agenda, "Workshop: Build")
    assert "Bring your own laptop with a modern browser" in workshop.abstract
    assert "**" not in workshop.abstract
    assert workshop.abstract.endswith("reserve a place in the conference app.")
    assert (workshop.start, workshop.end) == (at(DAY_1, "11:00"), at(DAY_1, "13:00"))


def test_rooms_speakers_and_tracks_are_distinct_names(agenda: Schedule) -> None:
    assert agenda.tracks() == ("AI/ML", "Data", "Developer Experience", "Keynotes", "Security", "Serverless")
    assert {"Auditorium A", "Room 2.1", "Expo Stage", "Expo Hall (Level 0)", "Workshop Lab"} <= set(
        agenda.rooms()
    )
    assert len(agenda.rooms()) == len(set(agenda.rooms()))
    assert "Tomás Silveira" in agenda.speakers()
    assert "Ingrid Solberg" in agenda.speakers()


def test_the_sample_agenda_is_parsed_in_milliseconds() -> None:
    text = (KNOWLEDGE / "agenda.md").read_text()
    started = time.perf_counter()
    for _ in range(10):
        parse_markdown(text, LISBON, "agenda.md")
    assert (time.perf_counter() - started) / 10 < 0.05


# --- Markdown variants and errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_heading", "session_heading"),
    [
        ("## Day 1 — Wednesday 11 March 2026", "### 09:00-09:45 · Opening"),
        ("## Wednesday 11 March 2026", "### 09:00\u201309:45 \u2013 Opening"),  # en dashes
        ("## 2026-03-11", "### 9:00-9:45 - Opening"),
        ("## March 11, 2026", "### 09:00 — 09:45 | Opening"),
        ("# 11 Mar 2026", "### 09:00-09:45: Opening"),
        ("## Day 1 (2026-03-11)", "#### 09:00 - 09:45 — Opening"),
    ],
)
def test_day_and_session_headings_may_be_written_in_several_ways(
    day_heading: str, session_heading: str
) -> None:
    text = f"{day_heading}\n\n{session_heading}\n- **Room:** Room 2.1\n\nAbstract.\n"
    [session] = parse_markdown(text, LISBON, "variant.md").sessions
    assert (session.title, session.room, session.abstract) == ("Opening", "Room 2.1", "Abstract.")
    assert (session.start, session.end) == (at(DAY_1, "09:00"), at(DAY_1, "09:45"))


def test_plain_labels_and_several_speaker_lines_are_read() -> None:
    text = (
        "## 2026-03-11\n### 10:00-11:00 · Panel\n- Room: Auditorium B\n- Track: Data\n"
        "- Speakers: Ana Lima (X) & Bo Chen\n- Moderator: Dr. Eva Holm (Y)\n- Note: bring questions\n"
    )
    [session] = parse_markdown(text, LISBON, "panel.md").sessions
    assert session.speakers == ("Ana Lima", "Bo Chen", "Dr. Eva Holm")
    assert (session.room, session.track) == ("Auditorium B", "Data")
    assert session.abstract == "- Note: bring questions"


def test_a_session_that_ends_after_midnight_ends_on_the_next_day() -> None:
    [party] = parse_markdown("## 2026-03-11\n### 22:00-01:30 · Party\n", LISBON, "p.md").sessions
    assert party.end == at(DAY_2, "01:30")


def test_a_document_without_session_headings_gives_an_empty_schedule() -> None:
    guide = KNOWLEDGE / "venue-guide.md"
    assert len(load_agenda(guide, guide.read_text(), LISBON)) == 0
    assert len(parse_markdown("# Notes\n\nNothing at 09:00 here.\n", LISBON, "notes.md")) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## 2026-03-11\n\n### 09:00 · No end\n", "bad.md: line 3: a session heading reads like"),
        ("## Day 1\n### 09:00-09:45 · Dateless\n", "bad.md: line 2: session 'Dateless' is not under a day"),
        ("## 2026-03-11\n### 09:00-09:45 ·\n", "bad.md: line 2"),
        ("## 2026-03-11\n### 25:00-26:00 · Late\n", "bad.md: line 2: '25:00' is not a time of day"),
        ("## 2026-03-11\n### 14:00-13:45 · Typo\n", "bad.md: line 2: the session ends (13:45) before"),
        ("## 30 February 2026\n", "bad.md: line 1: '30 February 2026' names no real date"),
    ],
)
def test_a_malformed_markdown_agenda_raises_an_error_naming_the_file_and_line(
    text: str, message: str
) -> None:
    with pytest.raises(AgendaError) as raised:
        parse_markdown(text, LISBON, "bad.md")
    assert str(raised.value).startswith(message)


# --- JSON and CSV -----------------------------------------------------------------------------------------

JSON_AGENDA = {
    "sessions": [
        {
            "title": "Kafka in Practice",
            "start": "2026-03-11T10:00",
            "end": "2026-03-11T10:45",
            "room": "Room 2.1",
            "speakers": "Daniel Kowalski (Vistula Data), Aisha Rahman",
            "track": "Data",
            "description": "Streams.",
        },
        {"title": "Opening", "start": "2026-03-11T08:00:00Z", "speaker": "Helena Marques"},
        {"Title": "Lunch", "date": "2026-03-11", "start": "12:30", "end": "13:30", "location": "Dining Hall"},
        {
            "title": "Panel",
            "start": "2026-03-11T14:00+01:00",
            "end": "15:00",
            "speakers": [{"name": "A"}, "B"],
        },
    ]
}


def test_json_sessions_are_read_with_naive_times_in_the_event_time_zone() -> None:
    schedule = parse_json(json.dumps(JSON_AGENDA), "Europe/Berlin", "agenda.json")
    opening, kafka, lunch, panel = schedule.sessions
    berlin = ZoneInfo("Europe/Berlin")
    assert (kafka.start, kafka.end) == (at(DAY_1, "10:00", berlin), at(DAY_1, "10:45", berlin))
    assert kafka.speakers == ("Daniel Kowalski", "Aisha Rahman")
    assert (kafka.room, kafka.track, kafka.abstract, kafka.source) == (
        "Room 2.1",
        "Data",
        "Streams.",
        "agenda.json",
    )
    assert opening.start == at(DAY_1, "09:00", berlin)  # 08:00 UTC
    assert opening.speakers == ("Helena Marques",)
    assert (lunch.room, lunch.end - lunch.start) == ("Dining Hall", timedelta(hours=1))
    assert panel.speakers == ("A", "B")
    assert panel.end - panel.start == timedelta(hours=1)


def test_a_json_session_without_an_end_lasts_thirty_minutes_and_a_bare_list_is_accepted() -> None:
    [session] = parse_json('[{"title": "Quick", "start": "2026-03-11T09:00"}]', LISBON, "a.json").sessions
    assert session.end - session.start == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "bad.json: line 1: not valid JSON"),
        ('{"sessions": 3}', "bad.json: expected a list of sessions"),
        ("[1]", "bad.json: entry 1: expected an object"),
        (
            '[{"title": "x", "start": "2026-03-11T09:00"}, {"title": "y"}]',
            "bad.json: entry 2: session 'y' has no",
        ),
        ('[{"start": "2026-03-11T09:00"}]', "bad.json: entry 1: the session has no 'title'"),
        ('[{"title": "x", "start": "tomorrow"}]', "bad.json: entry 1: 'start' is not an ISO 8601 time"),
        ('[{"title": "x", "start": "09:00"}]', "bad.json: entry 1: 'start' is a time of day"),
        ('[{"title": "x", "start": "2026-03-11T09:00", "speakers": 7}]', "bad.json: entry 1: 'speakers'"),
        ('[{"title": ["x"], "start": "2026-03-11T09:00"}]', "bad.json: entry 1: 'title' must be text"),
        (
            '[{"title": "x", "start": "2026-03-11T09:00", "end": "2026-03-11T08:00"}]',
            "bad.json: entry 1: the",
        ),
    ],
)
def test_bad_json_raises_an_error_naming_the_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(AgendaError) as raised:
        parse_json(text, LISBON, "bad.json")
    assert str(raised.value).startswith(message)


def test_csv_with_a_date_column_times_of_day_location_and_description_is_read() -> None:
    text = (
        "Title;Date;Start;End;Location;Speakers;Description\n"
        "Zero Trust;2026-03-11;11:00;11:45;Room 2.2;Ingrid Solberg (Fjordline), Jonas Weber;Walls.\n"
        "\n"
        "Coffee;2026-03-11;10:30;;Expo Hall;;\n"
    )
    coffee, talk = parse_csv(text, LISBON, "agenda.csv").sessions
    assert (talk.start, talk.end, talk.room) == (at(DAY_1, "11:00"), at(DAY_1, "11:45"), "Room 2.2")
    assert (talk.speakers, talk.abstract) == (("Ingrid Solberg", "Jonas Weber"), "Walls.")
    assert coffee.end == at(DAY_1, "11:00")
    assert coffee.is_break


def test_csv_with_iso_times_reads_speakers_separated_by_semicolons_and_quoted_commas() -> None:
    text = (
        "title,start,end,room,speakers,track\n"
        '"Data, Lakes",2026-03-11T12:00,2026-03-11T12:45,Auditorium B,Tomás Silveira; Daniel Kowalski,Data\n'
    )
    [session] = parse_csv(text, LISBON, "a.csv").sessions
    assert (session.title, session.speakers) == ("Data, Lakes", ("Tomás Silveira", "Daniel Kowalski"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,when\nx,y\n", "bad.csv: line 1: the header has no 'start' column"),
        ("title,start\nx,2026-03-11T09:00,surplus\n", "bad.csv: line 2: 3 cells"),
        ("title,start\nx,2026-03-11T09:00\ny,\n", "bad.csv: line 3: session 'y' has no 'start'"),
        ("title,date,start\nx,11/03/2026,09:00\n", "bad.csv: line 2: 'date' is not a date"),
    ],
)
def test_bad_csv_raises_an_error_naming_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(AgendaError) as raised:
        parse_csv(text, LISBON, "bad.csv")
    assert str(raised.value).startswith(message)


# --- iCalendar --------------------------------------------------------------------------------------------


def calendar(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//agenda//EN\r\n{body}END:VCALENDAR\r\n"


def test_ics_events_with_a_tzid_are_read_with_their_speaker_line_and_first_category() -> None:
    text = calendar(
        "UID:1\r\nDTSTART;TZID=Europe/Lisbon:20260311T090000\r\nDTEND;TZID=Europe/Lisbon:20260311T094500\r\n"
        "SUMMARY:Opening Keynote\r\nLOCATION:Auditorium A\r\nCATEGORIES:Keynotes,Main stage\r\n"
        "DESCRIPTION:Speaker: Dr. Helena Marques (Nimbusfold)\\nHelena opens the summit."
    )
    [session] = parse_ics(text, LISBON, "agenda.ics").sessions
    assert (session.start, session.end) == (at(DAY_1, "09:00"), at(DAY_1, "09:45"))
    assert (session.title, session.room, session.track) == ("Opening Keynote", "Auditorium A", "Keynotes")
    assert session.speakers == ("Dr. Helena Marques",)
    assert session.abstract == "Helena opens the summit."


def test_ics_utc_times_are_shown_in_the_event_time_zone_with_duration_and_attendee_names() -> None:
    text = calendar(
        "UID:2\r\nDTSTART:20260311T100000Z\r\nDURATION:PT45M\r\nSUMMARY:Zero Trust\r\nLOCATION:Room 2.2\r\n"
        'ATTENDEE;CN="Ingrid Solberg";ROLE=CHAIR:mailto:ingrid@example.com\r\n'
        "ORGANIZER;CN=Programme Team:mailto:team@example.com"
    )
    berlin = ZoneInfo("Europe/Berlin")
    [session] = parse_ics(text, berlin, "agenda.ics").sessions
    assert session.start == at(DAY_1, "11:00", berlin)
    assert session.start.tzinfo is berlin
    assert session.end - session.start == timedelta(minutes=45)
    assert session.speakers == ("Ingrid Solberg",)


def test_ics_floating_times_are_local_and_cancelled_events_are_skipped() -> None:
    text = calendar(
        "UID:3\r\nDTSTART:20260311T120000\r\nSUMMARY:Floating\r\n"
        "ORGANIZER;CN=Kwame Asante:mailto:k@example.com",
        "UID:4\r\nDTSTART:20260311T130000\r\nSUMMARY:Gone\r\nSTATUS:CANCELLED",
    )
    [session] = parse_ics(text, LISBON, "agenda.ics").sessions
    assert (session.title, session.start, session.end) == ("Floating", at(DAY_1, "12:00"), at(DAY_1, "12:30"))
    assert session.speakers == ("Kwame Asante",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a calendar", "bad.ics: not a valid iCalendar file"),
        (calendar("UID:1\r\nDTSTART:20260311T090000"), "bad.ics: event 1: the event has no SUMMARY"),
        (calendar("UID:1\r\nSUMMARY:Talk"), "bad.ics: event 1 ('Talk'): the event has no DTSTART"),
        (calendar("UID:1\r\nSUMMARY:Talk\r\nDTSTART:2026031"), "bad.ics: event 1 ('Talk'): unreadable"),
        (
            calendar("UID:1\r\nSUMMARY:Talk\r\nDTSTART:20260311T090000\r\nDTEND:20260311T080000"),
            "bad.ics: event 1 ('Talk'): session 'Talk' ends before it starts",
        ),
    ],
)
def test_bad_ics_raises_an_error_naming_the_file_and_event(text: str, message: str) -> None:
    with pytest.raises(AgendaError) as raised:
        parse_ics(text, LISBON, "bad.ics")
    assert str(raised.value).startswith(message)


# --- Dispatch, model, JSON round trip ---------------------------------------------------------------------


def test_load_agenda_chooses_the_parser_by_the_file_name_and_refuses_other_formats() -> None:
    one_session = '[{"title": "T", "start": "2026-03-11T09:00"}]'
    assert len(load_agenda("data/Agenda.JSON", one_session, LISBON)) == 1
    assert load_agenda("data/agenda.json", one_session, LISBON).sessions[0].source == "agenda.json"
    assert len(load_agenda("a.csv", "title,start\nT,2026-03-11T09:00\n", LISBON)) == 1
    assert len(load_agenda("a.markdown", "## 2026-03-11\n### 09:00-10:00 · T\n", LISBON)) == 1
    with pytest.raises(AgendaError, match=r"faq\.txt: not an agenda format"):
        load_agenda("knowledge/faq.txt", "Q: ...", LISBON)
    with pytest.raises(AgendaError, match="unknown time zone"):
        load_agenda("a.json", one_session, "Mars/Olympus")


def test_a_schedule_round_trips_through_plain_json(agenda: Schedule) -> None:
    stored = json.loads(json.dumps(agenda.to_json()))
    assert stored["version"] == 1
    assert stored["timezone"] == "Europe/Lisbon"
    assert stored["sessions"][1]["start"] == "2026-03-11T09:00:00+00:00"
    restored = Schedule.from_json(stored)
    assert restored == agenda
    assert [s.speakers for s in restored.sessions] == [s.speakers for s in agenda.sessions]


@pytest.mark.parametrize(
    "data",
    [
        {"version": 2, "timezone": "Europe/Lisbon", "sessions": []},
        {"version": 1, "sessions": []},
        {
            "version": 1,
            "timezone": "Europe/Lisbon",
            "sessions": [{"title": "x", "start": "2026-03-11T09:00"}],
        },
        {"version": 1, "timezone": "Europe/Lisbon", "sessions": [{"title": "x", "start": 9, "end": 10}]},
    ],
)
def test_a_stored_schedule_of_another_version_or_shape_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(AgendaError, match="stored schedule"):
        Schedule.from_json(data)


def test_a_schedule_sorts_by_start_then_title_in_the_event_time_zone() -> None:
    utc = ZoneInfo("UTC")
    late = Session("B talk", at(DAY_1, "10:00", utc), at(DAY_1, "11:00", utc))
    early = Session("Z talk", at(DAY_1, "09:00", utc), at(DAY_1, "10:00", utc))
    same_time = Session("A talk", at(DAY_1, "10:00", utc), at(DAY_1, "10:30", utc))
    schedule = Schedule((late, early, same_time), ZoneInfo("Europe/Berlin"))
    assert titles(list(schedule.sessions)) == ["Z talk", "A talk", "B talk"]
    assert schedule.sessions[0].start.hour == 10
    assert schedule.sessions[0] == early  # the same instant


def test_merging_schedules_drops_the_same_session_read_from_another_file(agenda: Schedule) -> None:
    extra = Session("Late Meetup", at(DAY_2, "18:00"), at(DAY_2, "19:00"), room="Bar", source="extra.json")
    copy = Schedule((agenda.sessions[1], extra), ZoneInfo("UTC"))
    combined = agenda.merge(copy)
    assert len(combined) == len(agenda) + 1
    assert combined.timezone is LISBON
    assert combined.sessions[-1] == extra
    assert len(merged([agenda, copy, agenda], LISBON)) == len(agenda) + 1


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (datetime(2026, 3, 11, 9), at(DAY_1, "10:00"), "need a time zone"),
        (at(DAY_1, "10:00"), at(DAY_1, "09:00"), "ends before it starts"),
    ],
)
def test_a_session_needs_aware_times_in_order(start: datetime, end: datetime, message: str) -> None:
    with pytest.raises(AgendaError, match=message):
        Session("Talk", start, end)


# --- find: time windows at 11:20 on day 1 -----------------------------------------------------------------

MID_MORNING = at(DAY_1, "11:20")


@pytest.fixture(scope="module")
def tools(agenda: Schedule) -> AgendaTools:
    return tools_at(agenda, MID_MORNING)


def test_now_is_the_three_eleven_oclock_talks_and_the_workshop(tools: AgendaTools) -> None:
    now = tools.find("now")
    assert {s.start for s in now} == {at(DAY_1, "11:00")}
    assert sorted(s.room for s in now) == ["Auditorium B", "Room 2.1", "Room 2.2", "Workshop Lab"]


def test_next_is_every_session_of_the_next_time_slot(tools: AgendaTools) -> None:
    upcoming = tools.find("next")
    assert {s.start for s in upcoming} == {at(DAY_1, "12:00")}
    assert len(upcoming) == 3


def test_next_in_a_room_is_the_next_session_there(tools: AgendaTools) -> None:
    assert titles(tools.find("next", room="Room 2.1")) == [
        "Observability Without the Noise: OpenTelemetry in Production"
    ]
    assert titles(tools.find("next", room="expo")) == ["Coffee Break"]
    assert tools.find("next", room="expo")[0].start == at(DAY_1, "15:45")


@pytest.mark.parametrize(
    ("when", "first", "last", "count"),
    [
        ("later_today", ("12:00", DAY_1), ("19:00", DAY_1), 15),
        ("today", ("08:00", DAY_1), ("19:00", DAY_1), 23),
        ("this_morning", ("11:00", DAY_1), ("11:00", DAY_1), 4),
        ("this_afternoon", ("12:00", DAY_1), ("17:00", DAY_1), 14),
        ("this_evening", ("19:00", DAY_1), ("19:00", DAY_1), 1),
        ("tomorrow", ("08:30", DAY_2), ("16:15", DAY_2), 22),
        ("tomorrow_morning", ("08:30", DAY_2), ("11:15", DAY_2), 11),
        ("tomorrow_afternoon", ("12:00", DAY_2), ("16:15", DAY_2), 11),
        ("upcoming", ("11:00", DAY_1), ("16:15", DAY_2), 41),
        ("any", ("08:00", DAY_1), ("16:15", DAY_2), 45),
    ],
)
def test_each_time_window_selects_its_part_of_the_agenda(
    tools: AgendaTools, when: When, first: tuple[str, date], last: tuple[str, date], count: int
) -> None:
    found = tools.find(when)
    assert (found[0].start, found[-1].start) == (at(first[1], first[0]), at(last[1], last[0]))
    assert len(found) == count
    assert found == sorted(found, key=lambda s: s.start)


def test_this_morning_leaves_out_what_is_over_and_later_today_what_has_started(tools: AgendaTools) -> None:
    assert "Opening Keynote: Forging the Next Decade of Cloud" not in titles(tools.find("this_morning"))
    assert all(s.start > MID_MORNING for s in tools.find("later_today"))


def test_a_day_restricts_the_search_and_combines_with_a_part_of_the_day(tools: AgendaTools) -> None:
    assert {s.start.date() for s in tools.find(day=DAY_2)} == {DAY_2}
    afternoon = tools.find("this_afternoon", day=DAY_2)
    assert afternoon and all(s.start.date() == DAY_2 and s.start.hour >= 12 for s in afternoon)
    assert titles(tools.find("next", day=DAY_2, room="Room 2.1")) == [
        "Vector Search Deep Dive: Choosing an Index That Scales"
    ]


def test_before_the_event_nothing_is_on_now_and_next_is_the_first_session(agenda: Schedule) -> None:
    early = tools_at(agenda, at(date(2026, 3, 1), "10:00"))
    assert early.find("now") == []
    assert titles(early.find("next")) == ["Registration and Welcome Coffee"]
    assert early.find("upcoming") == list(agenda.sessions)
    result = early.run("find_sessions", {"when": "now"})
    assert (result["now"], result["total"]) == ("2026-03-01T10:00+00:00", 0)
    assert result["event_days"] == ["2026-03-11", "2026-03-12"]


def test_after_the_event_nothing_is_now_next_or_upcoming_but_the_agenda_remains(agenda: Schedule) -> None:
    late = tools_at(agenda, at(date(2026, 3, 13), "09:00"))
    assert late.find("now") == late.find("next") == late.find("upcoming") == late.find("today") == []
    assert len(late.find("any")) == len(agenda)


def test_a_naive_now_is_taken_as_event_time_and_another_zone_is_converted(agenda: Schedule) -> None:
    naive = tools_at(agenda, datetime(2026, 3, 11, 11, 20))
    assert naive.find("now") == tools_at(agenda, MID_MORNING).find("now")
    in_tokyo = MID_MORNING.astimezone(ZoneInfo("Asia/Tokyo"))
    assert tools_at(agenda, in_tokyo).now() == MID_MORNING
    assert tools_at(agenda, in_tokyo).find("today") == tools_at(agenda, MID_MORNING).find("today")


# --- find: rooms, speakers, topics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "room", "matches"),
    [
        ("room 2.1", "Room 2.1", True),
        ("2.1", "Room 2.1", True),
        ("Room 2.1", "Room 2.2", False),
        ("room 2", "Room 2.1", False),
        ("auditorium a", "Auditorium A", True),
        ("Auditorium A (Level 0)", "Auditorium A", True),
        ("auditorium a", "Auditorium B", False),
        ("hall b", "Auditorium B", False),
        ("expo", "Expo Stage", True),
        ("expo", "Expo Hall (Level 0)", True),
        ("EXPO HALL", "Expo Hall (Level 0)", True),
        ("level 0", "Expo Hall (Level 0)", False),
        ("workshop lab", "", False),
    ],
)
def test_a_room_matches_tolerantly_but_not_cleverly(query: str, room: str, matches: bool) -> None:
    assert room_matches(query, room) is matches


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("Solberg", True),
        ("ingrid", True),
        ("Ingrid Solberg", True),
        ("INGRID SOLBERG's", True),
        ("Ingrid Weber", False),
        ("Solb", False),
        ("Jonas Weber and Ingrid Solberg", True),
    ],
)
def test_a_speaker_matches_by_full_name_first_name_or_surname(query: str, matches: bool) -> None:
    assert speaker_matches(query, ("Ingrid Solberg",)) is matches


def test_speaker_search_ignores_accents_and_titles(tools: AgendaTools) -> None:
    assert len(tools.find(speaker="Tomas Silveira")) == 3
    assert titles(tools.find(speaker="Helena Marques"))[0].startswith("Opening Keynote")
    assert [s.start.date() for s in tools.find(speaker="Ingrid Solberg")] == [DAY_1, DAY_2, DAY_2]
    assert titles(tools.find("upcoming", speaker="solberg", day=DAY_2, limit=1)) == [
        "Workshop: Threat Modelling for Cloud Architectures"
    ]


def test_the_talk_about_kafka_is_found_by_topic(tools: AgendaTools) -> None:
    assert titles(tools.find(topic="Kafka")) == ["Streaming Pipelines with Kafka and Flink"]
    assert titles(tools.find(topic="the talk about kafka streams")) == [
        "Streaming Pipelines with Kafka and Flink"
    ]


def test_topic_results_are_in_time_order_and_combine_with_other_filters(tools: AgendaTools) -> None:
    security = tools.find(topic="security")
    assert len(security) >= 5
    assert security == sorted(security, key=lambda s: s.start)
    assert all(s.track == "Security" or "secur" in s.title.lower() for s in security)
    assert titles(tools.find("tomorrow", topic="vector search", room="2.1")) == [
        "Vector Search Deep Dive: Choosing an Index That Scales"
    ]
    assert titles(tools.find(topic="quantum knitting")) == [
        "Post-Quantum Cryptography: What Cloud Teams Need to Know Now"
    ]
    assert tools.find(topic="knitting crochet") == []


def test_the_lexical_matcher_weighs_title_over_track_over_abstract(agenda: Schedule) -> None:
    matcher = LexicalMatcher()
    data_lake = one(agenda, "From Data Swamp")
    assert matcher.score("data", data_lake) == 3 + 2 + 1
    assert matcher.score("Iceberg", data_lake) == 3 + 1
    assert matcher.score("Lakehouse", data_lake) == 3
    assert matcher.score("tables", data_lake) == 1  # "tables" in the abstract, stemmed
    assert matcher.score("Tomás", data_lake) == 1 + 1  # the abstract and the speakers
    assert matcher.score("the and of", data_lake) == 0


# --- recommend --------------------------------------------------------------------------------------------


def test_recommendations_for_security_and_data_are_talks_that_do_not_overlap(tools: AgendaTools) -> None:
    picks = tools.recommend(["security", "data"], limit=5)
    assert len(picks) == 5
    assert not any(s.is_break for s in picks)
    assert all(s.end > MID_MORNING for s in picks)
    assert not any(a.overlaps(b) for i, a in enumerate(picks) for b in picks[i + 1 :])
    assert {"Security", "Data"} <= {s.track for s in picks}


def test_recommendations_take_overlapping_sessions_only_when_nothing_else_is_left(tools: AgendaTools) -> None:
    picks = tools.recommend(["serverless", "security", "AI"], "now", limit=4)
    assert len(picks) == 4  # all four 11:00 sessions overlap; they are still offered
    assert {s.start for s in picks} == {at(DAY_1, "11:00")}


def test_recommendations_never_offer_a_break(tools: AgendaTools) -> None:
    assert tools.recommend(["coffee", "lunch", "registration", "party"], "any") == []


def test_recommendations_put_the_most_relevant_first(tools: AgendaTools) -> None:
    assert titles(tools.recommend(["kafka"], "any")) == ["Streaming Pipelines with Kafka and Flink"]
    best = titles(tools.recommend(["vector search"], "any", limit=2))
    assert best == [
        "RAG in the Real World: Amazon Bedrock Meets Vector Search",  # as relevant, and earlier
        "Vector Search Deep Dive: Choosing an Index That Scales",
    ]


def test_another_matcher_can_be_plugged_in(agenda: Schedule) -> None:
    class TheLongestTitle:
        def score(self, query: str, session: Session) -> float:
            return 1.0 if query == "long" and session is longest else 0.0

    longest = max((s for s in agenda.sessions if not s.is_break), key=lambda s: len(s.title))
    tools = AgendaTools(agenda, lambda: MID_MORNING, matcher=TheLongestTitle())
    assert tools.recommend(["long"], "any", limit=1) == [longest]
    assert tools.find(topic="short") == []


def test_recommendations_are_the_soonest_relevant_sessions_one_per_slot(agenda: Schedule) -> None:
    tools = AgendaTools(agenda, lambda: datetime(2026, 3, 11, 13, 30, tzinfo=LISBON))
    picks = tools.recommend(["serverless"])
    # Cold Starts (14:00, Serverless track) comes before day 2's talks with "serverless" in the title.
    assert picks[0].title.startswith("Cold Starts Are a Choice")
    assert all(not a.overlaps(b) for i, a in enumerate(picks) for b in picks[i + 1 :])


# --- The tool interface -----------------------------------------------------------------------------------


def test_the_tool_specs_describe_both_tools_for_converse() -> None:
    specs = {spec["toolSpec"]["name"]: spec["toolSpec"] for spec in TOOL_SPECS}
    assert set(specs) == {"find_sessions", "recommend_sessions"}
    json.dumps(TOOL_SPECS)
    find = specs["find_sessions"]["inputSchema"]["json"]
    assert find["properties"]["when"]["enum"] == list(WHENS)
    assert set(find["properties"]) == {"when", "day", "room", "speaker", "topic", "limit"}
    assert (find["properties"]["limit"]["default"], find["properties"]["limit"]["maximum"]) == (6, 20)
    recommend = specs["recommend_sessions"]["inputSchema"]["json"]
    assert recommend["required"] == ["interests"]
    assert recommend["properties"]["when"]["default"] == "upcoming"
    for spec in specs.values():
        assert "local time" in spec["description"]
        assert "start" in spec["description"]


def test_run_returns_a_json_serialisable_result_with_the_current_time(tools: AgendaTools) -> None:
    result = tools.run("find_sessions", {"when": "next", "room": "Room 2.1"})
    assert json.loads(json.dumps(result)) == result
    assert result["now"] == "2026-03-11T11:20+00:00"
    assert (result["timezone"], result["when"], result["total"]) == ("Europe/Lisbon", "next", 1)
    [session] = result["sessions"]
    assert session == {
        "title": "Observability Without the Noise: OpenTelemetry in Production",
        "start": "2026-03-11T12:00+00:00",
        "end": "2026-03-11T12:45+00:00",
        "room": "Room 2.1",
        "speakers": ["Kwame Asante"],
        "track": "Developer Experience",
        "abstract": session["abstract"],
    }
    assert session["abstract"].startswith("More telemetry is not more observability.")


def test_run_cuts_long_abstracts_and_counts_all_matches_before_the_limit(tools: AgendaTools) -> None:
    result = tools.run("find_sessions", {"when": "any", "limit": 2})
    assert (len(result["sessions"]), result["total"]) == (2, 45)
    assert all(len(s["abstract"]) <= 201 for s in tools.run("find_sessions", {"limit": 20})["sessions"])
    assert len(tools.run("find_sessions", {"limit": 500})["sessions"]) == 20
    result = tools.run("find_sessions", {"topic": "EventBridge workshop", "day": "2026-03-11"})
    workshop = result["sessions"][0]
    assert workshop["abstract"].endswith("…")


def test_run_recommends_with_defaults_and_nulls_count_as_absent(tools: AgendaTools) -> None:
    result = tools.run("recommend_sessions", {"interests": ["security", "data"], "when": None})
    assert (result["when"], len(result["sessions"]), result["interests"]) == (
        "upcoming",
        3,
        ["security", "data"],
    )
    assert tools.run("find_sessions", {"when": "Later Today", "room": ""})["when"] == "later_today"
    assert tools.run("find_sessions", None)["total"] == 45


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("get_weather", {}, "unknown tool 'get_weather'"),
        ("find_sessions", {"when": "soon"}, "'when' must be one of now, next"),
        ("find_sessions", {"time": "morning"}, "find_sessions: unknown argument(s) time"),
        ("find_sessions", {"day": "11/03/2026"}, "'day' must be a date written YYYY-MM-DD"),
        ("find_sessions", {"day": "2026-02-30"}, "'day' must be a date written YYYY-MM-DD"),
        ("find_sessions", {"limit": 0}, "'limit' must be a whole number from 1 to 20"),
        ("find_sessions", {"limit": "six"}, "'limit' must be a whole number"),
        ("find_sessions", {"room": 21}, "'room' must be a text"),
        ("find_sessions", ["now"], "find_sessions: the arguments must be an object"),
        ("recommend_sessions", {}, "'interests' must be a list of subjects"),
        ("recommend_sessions", {"interests": []}, "'interests' must be a list of subjects"),
        ("recommend_sessions", {"interests": [3]}, "'interests' must be a list of subjects"),
        (
            "recommend_sessions",
            {"interests": ["ai"], "limit": 2.5},
            "'limit' must be a whole number from 1 to 10",
        ),
    ],
)
def test_run_answers_a_bad_call_with_an_error_the_model_can_read(
    tools: AgendaTools, name: str, arguments: Any, message: str
) -> None:
    result = tools.run(name, arguments)
    assert set(result) == {"error"}
    assert message in result["error"]


def test_the_typed_find_refuses_an_unknown_window(tools: AgendaTools) -> None:
    with pytest.raises(AgendaError, match="'when' must be one of"):
        tools.find("soonish")  # type: ignore[arg-type]
    with pytest.raises(AgendaError, match="negative"):
        tools.recommend(["data"], limit=-1)


def test_a_schedule_written_as_markdown_reads_back_as_the_same_sessions() -> None:
    from assistant.agenda import parse_markdown

    agenda = Path(__file__).parents[2] / "knowledge" / "agenda.md"
    schedule = parse_markdown(agenda.read_text(encoding="utf-8"), "Europe/Lisbon", "agenda.md")
    again = parse_markdown(schedule.to_markdown(), "Europe/Lisbon", "agenda.md")

    def shape(s: Schedule) -> list[tuple[object, ...]]:
        return [(x.title, x.start, x.end, x.room, x.speakers, x.track) for x in s.sessions]

    assert shape(again) == shape(schedule)


def test_a_session_well_under_way_is_not_recommended() -> None:
    text = (Path(__file__).parents[2] / "knowledge" / "agenda.md").read_text(encoding="utf-8")
    from assistant.agenda import parse_markdown

    schedule = parse_markdown(text, "Europe/Lisbon", "agenda.md")
    picks = AgendaTools(schedule, lambda: datetime(2026, 3, 11, 11, 20, tzinfo=LISBON)).recommend(["AI"])
    assert picks and all(p.start >= datetime(2026, 3, 11, 11, 10, tzinfo=LISBON) for p in picks)
    assert "RAG in the Real World" not in {p.title.split(":")[0] for p in picks}
