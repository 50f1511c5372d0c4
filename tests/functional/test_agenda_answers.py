"""Questions about the schedule: the engine's Converse tool use against a scripted bedrock-runtime, the
agenda file adapter, and the local twin answering at a chosen time in the attendee's language."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from assistant.adapters.agenda import AgendaFile
from assistant.adapters.aws import client
from assistant.adapters.bedrock import BedrockKnowledgeBaseEngine
from assistant.agenda import Schedule
from assistant.fakes import FixedClock
from assistant.local.engine import KnowledgeBase
from assistant.local.runtime import LocalCloud
from assistant.ports import AdmissionRequest, Source, Verdict
from assistant.services import replies
from assistant.services.agenda import AgendaDesk
from assistant.services.language import detect
from tests.functional.test_bedrock_engine import CONFIG, World, cited, question
from tests.functional.test_bedrock_engine import world as world
from tests.functional.test_knowledge_answers import run

LISBON = ZoneInfo("Europe/Lisbon")
AGENDA = """\
# Agenda

## Day 1 — Wednesday 11 March 2026

### 11:00-11:45 · Zero Trust in Practice
- **Room:** Room 2.2
- **Speaker:** Ingrid Solberg (Fjordline Bank)

### 12:00-12:45 · Observability Without the Noise
- **Room:** Room 2.1
- **Speaker:** Kwame Asante (Stackwise)
"""


def desk(tmp_path: Path, now: str = "2026-03-11T11:20:00+00:00") -> AgendaDesk:
    path = tmp_path / "agenda.md"
    path.write_text(AGENDA, encoding="utf-8")
    schedule = AgendaFile(str(path), "Europe/Lisbon", clock=FixedClock(), s3=lambda: None)
    moment = datetime.fromisoformat(now).astimezone(LISBON)
    return AgendaDesk(schedule, lambda: moment, source=Source("Agenda", "s3://bucket/agenda.md"))


def engine_with(world: World, agenda: AgendaDesk) -> BedrockKnowledgeBaseEngine:
    return BedrockKnowledgeBaseEngine(
        client("bedrock-agent-runtime", attempts=1, endpoint_url=world.agent.server.endpoint),
        client("bedrock-runtime", attempts=1, endpoint_url=world.runtime.server.endpoint),
        world.store,
        CONFIG,
        world.metrics,
        clock=world.clock,
        sleep=world.clock.advance,
        agenda=agenda,
    )


def tool_use(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": name, "input": arguments}}],
            }
        },
        "stopReason": "tool_use",
    }


def said(text: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
    }


def test_a_schedule_question_is_answered_with_the_agenda_tools_at_the_events_time(
    world: World, tmp_path: Path
) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].extend(
        [tool_use("find_sessions", {"when": "next", "room": "Room 2.1"}), said("At 12:00, Observability.")]
    )
    answer = engine.answer(question("What's next in Room 2.1?"))
    assert answer.verdict is Verdict.SCHEDULED
    assert answer.text == "At 12:00, Observability."
    assert [s.title for s in answer.sources] == ["Agenda"]
    (_, first), (_, second) = world.runtime.requests
    assert "Wednesday 11 March 2026, 11:20" in first["system"][0]["text"]
    assert {t["toolSpec"]["name"] for t in first["toolConfig"]["tools"]} == {
        "find_sessions",
        "recommend_sessions",
    }
    assert first["guardrailConfig"]["guardrailIdentifier"] == "gr-1"
    result = second["messages"][-1]["content"][0]["toolResult"]
    assert result["toolUseId"] == "t1"
    sessions = result["content"][0]["json"]["sessions"]
    assert [s["title"] for s in sessions] == ["Observability Without the Noise"]
    assert world.agent.requests == []  # the knowledge base was not asked


def test_when_the_model_finds_nothing_in_the_agenda_the_knowledge_base_answers(
    world: World, tmp_path: Path
) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].append(said("NO_ANSWER"))
    world.agent.script["RetrieveAndGenerate"].append(cited("It is in Room 2.1."))
    answer = engine.answer(question("What's next in Room 2.1?"))
    assert answer.verdict is Verdict.ANSWERED
    assert [op for op, _ in world.agent.requests] == ["RetrieveAndGenerate"]


def test_a_question_not_about_the_schedule_never_calls_the_tools(world: World, tmp_path: Path) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.agent.script["RetrieveAndGenerate"].append(cited("ForgeAhead2026."))
    engine.answer(question("What is the Wi-Fi password?"))
    assert world.runtime.requests == []


def test_the_guardrail_stops_a_schedule_question_too(world: World, tmp_path: Path) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].append(
        {"output": {"message": {"role": "assistant", "content": [{"text": "blocked"}]}},
         "stopReason": "guardrail_intervened"}
    )  # fmt: skip
    assert engine.answer(question("What's on now?")).verdict is Verdict.INTERVENED


def test_an_unreadable_agenda_keeps_the_last_good_schedule(tmp_path: Path) -> None:
    path = tmp_path / "agenda.json"
    path.write_text(json.dumps([{"title": "Keynote", "start": "2026-03-11T09:00"}]), encoding="utf-8")
    clock = FixedClock()
    agenda = AgendaFile(str(path), "Europe/Lisbon", clock=clock, s3=lambda: None, refresh_seconds=60)
    assert [s.title for s in agenda().sessions] == ["Keynote"]
    path.write_text("{not json", encoding="utf-8")
    clock.advance(61)
    assert [s.title for s in agenda().sessions] == ["Keynote"]
    missing = AgendaFile(str(tmp_path / "none.csv"), "UTC", clock=clock, s3=lambda: None)
    assert len(missing()) == 0


def test_the_agenda_is_read_from_s3_in_the_cloud(tmp_path: Path) -> None:
    class Body:
        def read(self) -> bytes:
            return AGENDA.encode()

    class S3:
        def __init__(self) -> None:
            self.asked: list[tuple[str, str]] = []

        def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            self.asked.append((Bucket, Key))
            return {"Body": Body()}

    s3 = S3()
    agenda = AgendaFile("s3://kb-bucket/agenda.md", "Europe/Lisbon", clock=FixedClock(), s3=lambda: s3)
    assert len(agenda()) == 2 and isinstance(agenda(), Schedule)
    assert s3.asked == [("kb-bucket", "agenda.md")]  # read once, then kept


# -- the local twin: the same engine, the local "model" calling the same tools -------------------------


@pytest.fixture
def at_eleven_twenty(tmp_path: Path, sample_kb: KnowledgeBase) -> Any:
    with LocalCloud(
        tmp_path / "home", log_stream=io.StringIO(), knowledge_base=sample_kb, now="2026-03-11T11:20:00+00:00"
    ) as cloud:
        yield cloud


def test_whats_on_now_is_answered_from_the_schedule_at_the_chosen_time(at_eleven_twenty: LocalCloud) -> None:
    source, reply = at_eleven_twenty.ask("What's on now?")
    assert source == "agenda"
    assert reply.startswith(replies.say("agenda_now", "en", time="11:20"))
    for title in ("Zero Trust in Practice", "RAG in the Real World", "Serverless at Scale"):
        assert title in reply


def test_a_spanish_schedule_question_gets_a_spanish_reply(at_eleven_twenty: LocalCloud) -> None:
    source, reply = at_eleven_twenty.ask("¿Qué hay después en la sala 2.1?")
    assert source == "agenda"
    assert "Observability Without the Noise" in reply
    assert "12:00" in reply
    assert detect(reply.splitlines()[0]) == "es" or reply.splitlines()[0].startswith(("En", "A continuación"))


def test_a_follow_up_is_read_with_the_previous_question(at_eleven_twenty: LocalCloud) -> None:
    at_eleven_twenty.ask("Who gives the opening keynote?", conversation="c1")
    source, reply = at_eleven_twenty.ask("and where is that?", conversation="c1")
    assert source == "knowledge_base"
    assert "Auditorium A" in reply


def next_question(world: World, answered: str, key: str) -> None:
    """The answer to ``answered`` is done; ``key`` is the user's next question, admitted."""
    world.store.release("u1", owner=answered)
    world.store.admit(AdmissionRequest(key, "u1", 10, take_lease=True, attempt=key))


def test_a_follow_up_to_a_schedule_answer_is_answered_from_its_tool_calls_run_again(
    world: World, tmp_path: Path
) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].extend(
        [tool_use("find_sessions", {"topic": "zero trust"}), said("At 11:00, Zero Trust in Practice.")]
    )
    assert engine.answer(question("When is the zero trust talk?")).verdict is Verdict.SCHEDULED
    next_question(world, "m1", "m2")
    world.runtime.script["Converse"].append(said("Ingrid Solberg gives it."))
    answer = engine.answer(replace(question("who's giving it?"), message_key="m2"))
    assert answer.verdict is Verdict.SCHEDULED and answer.text == "Ingrid Solberg gives it."
    messages = world.runtime.requests[-1][1]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    (use,) = messages[1]["content"]
    assert use["toolUse"]["name"] == "find_sessions" and use["toolUse"]["input"] == {"topic": "zero trust"}
    result, asked = messages[2]["content"]
    assert result["toolResult"]["toolUseId"] == use["toolUse"]["toolUseId"]
    assert [s["title"] for s in result["toolResult"]["content"][0]["json"]["sessions"]] == [
        "Zero Trust in Practice"
    ]
    assert asked["guardContent"]["text"]["text"] == "who's giving it?"  # only the question is guarded
    assert world.agent.requests == []


def test_a_follow_up_after_an_answer_from_the_documents_does_not_reach_back_to_the_schedule(
    world: World, tmp_path: Path
) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].extend(
        [tool_use("find_sessions", {"topic": "zero trust"}), said("At 11.")]
    )
    engine.answer(question("When is the zero trust talk?"))
    next_question(world, "m1", "m2")
    world.agent.script["RetrieveAndGenerate"].append(cited("ForgeAhead2026."))
    engine.answer(replace(question("What is the Wi-Fi password?"), message_key="m2"))
    next_question(world, "m2", "m3")
    world.agent.script["RetrieveAndGenerate"].append(cited("The Wi-Fi desk."))
    engine.answer(replace(question("who runs it?"), message_key="m3"))
    assert [op for op, _ in world.agent.requests] == ["RetrieveAndGenerate", "RetrieveAndGenerate"]
    assert len(world.runtime.requests) == 2  # only the first question's two Converse rounds


def test_a_follow_up_to_a_schedule_answer_through_the_local_pipeline(at_eleven_twenty: LocalCloud) -> None:
    at_eleven_twenty.ask("When is the Kafka and Flink talk?", conversation="c2")
    source, reply = at_eleven_twenty.ask("who's giving it?", conversation="c2")
    assert source == "agenda"
    assert "Daniel Kowalski" in reply


def test_kb_ask_takes_the_time_to_answer_at(seeded_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "kb",
        "ask",
        "--now",
        "2026-03-12T13:30:00+00:00",
        "what's on now?",
        "--home",
        str(seeded_home),
    )
    assert code == 0, err
    assert "FinOps for Engineers" in out
    assert "[answer source: agenda]" in err


def test_kb_add_reads_an_icalendar_agenda_into_the_schedule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agenda = tmp_path / "agenda.ics"
    agenda.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:1\r\n"
        "DTSTAMP:20270101T000000Z\r\nDTSTART;TZID=Europe/Dublin:20270504T093000\r\n"
        "DTEND;TZID=Europe/Dublin:20270504T101500\r\nSUMMARY:Streams at Scale\r\nLOCATION:Hall B\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    code, out, err = run(capsys, "kb", "add", str(agenda), "--home", str(home), "--timezone", "Europe/Dublin")
    assert code == 0, err
    assert "1 sessions added (Europe/Dublin)" in out
    stored = json.loads((home / "kb" / "agenda.json").read_text(encoding="utf-8"))
    assert stored["sessions"][0]["title"] == "Streams at Scale"
    assert stored["sessions"][0]["start"].startswith("2027-05-04T09:30")
    # ...and its sessions are searchable as a Markdown agenda ("who gives the closing keynote?")
    passages = json.loads((home / "kb" / "passages.json").read_text(encoding="utf-8"))["passages"]
    (passage,) = [p for p in passages if p["doc_id"] == "agenda.ics"]
    assert "09:30-10:15 · Streams at Scale" in passage["section"] and "Hall B" in passage["text"]


def test_a_tool_call_the_agenda_cannot_run_is_an_error_for_the_model_not_a_crash(
    world: World, tmp_path: Path
) -> None:
    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].extend(
        [
            {
                "output": {
                    "message": {
                        "role": "assistant",
                        "content": [
                            {"text": " "},
                            {"toolUse": {"toolUseId": "t1", "name": "find_sessions", "input": "now please"}},
                        ],
                    }
                },
                "stopReason": "tool_use",
            },
            said("Nothing found."),
        ]
    )
    answer = engine.answer(question("What's on now?"))
    assert answer.verdict is Verdict.SCHEDULED
    (_, _), (_, second) = world.runtime.requests
    sent_back = second["messages"][1]["content"]
    assert all(part.get("text", "x").strip() for part in sent_back)  # the blank text block is dropped
    result = second["messages"][2]["content"][0]["toolResult"]["content"][0]["json"]
    assert "error" in result


def test_a_model_that_refuses_tool_use_leaves_the_question_to_the_knowledge_base(
    world: World, tmp_path: Path
) -> None:
    from assistant.local.wire import ServiceError

    engine = engine_with(world, desk(tmp_path))
    world.runtime.script["Converse"].append(ServiceError("ValidationException", 400, "tool use unsupported"))
    world.agent.script["RetrieveAndGenerate"].append(cited("At 12:00 in Room 2.1."))
    answer = engine.answer(question("What's next in Room 2.1?"))
    assert answer.verdict is Verdict.ANSWERED
    assert world.metrics.counts["AgendaFailed ValidationException"] == 1


def test_an_agenda_file_that_breaks_its_parser_keeps_the_last_schedule(tmp_path: Path) -> None:
    path = tmp_path / "agenda.ics"
    clock = FixedClock()
    agenda = AgendaFile(str(path), "Europe/Lisbon", clock=clock, s3=lambda: None, refresh_seconds=1)
    path.write_text(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Twice\r\nDTSTART:20260311T090000Z\r\n"
        "DTSTART:20260311T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    assert len(agenda()) == 0  # logged and kept (empty), never raised


def test_kb_add_takes_a_markdown_faq_with_timed_headings_as_a_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faq = tmp_path / "faq.md"
    faq.write_text("# FAQ\n\n### 18:00-20:00 Reception\n\nDrinks on the terrace.\n", encoding="utf-8")
    code, out, err = run(capsys, "kb", "add", str(faq), "--home", str(tmp_path / "home"))
    assert code == 0, err
    assert "added faq.md" in out
    assert "faq.md: added as a document" in err
