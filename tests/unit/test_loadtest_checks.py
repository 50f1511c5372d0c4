"""The load test's traffic and its checks, on made-up calls: they can fail, and say why."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from assistant.local import loadtest, traffic
from assistant.local.traffic import Arrival, Attendee
from assistant.services.replies import say


def test_the_traffic_is_the_mix_the_issue_asks_for_and_repeatable() -> None:
    arrivals = traffic.event_traffic(users=200, messages=1000, window=60.0, seed=3)
    again = traffic.event_traffic(users=200, messages=1000, window=60.0, seed=3)

    kinds = Counter(a.kind for a in arrivals)
    assert len(arrivals) == 1000
    assert kinds["duplicate"] == 100 and kinds["malformed"] == 50
    assert kinds["status"] == 50 and kinds["reaction"] == 40 and kinds["unsupported"] == 30
    assert kinds["voice"] == 10 and kinds["text"] == 720
    assert [(a.kind, a.wamid, a.text, a.at) for a in arrivals] == [
        (a.kind, a.wamid, a.text, a.at) for a in again
    ]
    assert [a.at for a in arrivals] == sorted(a.at for a in arrivals)
    # A duplicate is the same payload as a message published before it.
    first = {a.wamid: a for a in arrivals if a.kind != "duplicate" and a.wamid}
    for duplicate in (a for a in arrivals if a.kind == "duplicate"):
        assert duplicate.envelope == first[duplicate.wamid].envelope
        assert duplicate.at >= first[duplicate.wamid].at
    # Questions come in several languages, and some attendees write again within a second.
    assert len({a.text for a in arrivals if a.kind == "text"}) > 50
    assert any("¿" in a.text for a in arrivals)
    texts = sorted((a.attendee.number, a.at) for a in arrivals if a.kind == "text")
    quick = sum(1 for x, y in itertools.pairwise(texts) if x[0] == y[0] and y[1] - x[1] < 1.0)
    assert quick > 20


def test_without_voice_there_are_no_voice_notes() -> None:
    arrivals = traffic.event_traffic(users=50, messages=300, window=10.0, voice=False)
    assert not [a for a in arrivals if a.kind == "voice"]


def _arrival(kind: str, wamid: str) -> Arrival:
    return Arrival(at=0.0, kind=kind, attendee=Attendee("447000000001", "Ana Silva-0001"), wamid=wamid)


def _reply(wamid: str, part: int, at: float, key: str = "a" * 32, body: str = "...") -> dict[str, object]:
    message = {
        "type": "text",
        "context": {"message_id": wamid},
        "biz_opaque_callback_data": f"{key}.{part}",
        "text": {"body": body},
    }
    return {"message": message, "at": at, "messageId": f"out-{wamid}-{part}-{at}"}


def _typing(wamid: str, at: float) -> dict[str, object]:
    return {
        "message": {"status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}},
        "at": at,
    }


def test_replies_are_joined_to_their_messages_and_each_breach_is_counted() -> None:
    arrivals = [
        _arrival("text", "w1"),
        _arrival("text", "w2"),
        _arrival("unsupported", "w3"),
        _arrival("reaction", "w4"),
        _arrival("duplicate", "w1"),
        _arrival("text", "w5"),
    ]
    calls = [
        _typing("w1", 1.0),
        _reply("w1", 0, 2.0),
        _reply("w1", 1, 2.1),
        _reply("w1", 1, 9.0),  # part 1 sent twice
        _reply("w3", 0, 1.5, key="b" * 32),
        _reply("w4", 0, 3.0, key="c" * 32),  # a reply to a reaction
        _reply("w5", 0, 4.0, key="d" * 32, body="> ¿dónde?\n\n" + say("budget", "es")),
    ]
    senders = {f"{'b' * 32}.0": "InboundFunction", f"{'a' * 32}.0": "AnswerFunction"}

    found = loadtest.replies(arrivals, calls, senders)

    assert found.valid == 4
    assert found.lost == ["w2"]
    assert found.duplicates == 1
    assert found.unexpected == 1
    assert found.static == 2  # the unsupported type's, and the one over the budget
    assert found.budget == 1
    assert found.reply_at == {"w1": 2.0, "w3": 1.5, "w5": 4.0}
    assert found.typing_at == {"w1": 1.0}


def test_personal_data_in_the_logs_is_found() -> None:
    attendee = Attendee("447012345678", "Hana Costa-0042")
    arrivals = [
        Arrival(
            0.0,
            "text",
            attendee,
            "wamid.HBgLNDQ3MDEyMzQ1Njc4FQIAEhgUQUJDREVGMDEyMzQ1Njc4OUFCAA==",
            "where is the quiet room?",
        )
    ]
    clean = '{"level":"INFO","message":"answered","user":"5f0e..."}\n'

    assert loadtest._personal_data_in(clean, arrivals) == 0
    assert loadtest._personal_data_in(clean + "sent to 447012345678\n", arrivals) == 1
    assert loadtest._personal_data_in(clean + "from Hana Costa-0042\n", arrivals) == 1
    assert loadtest._personal_data_in(clean + "id " + arrivals[0].wamid + "\n", arrivals) == 1
    assert loadtest._personal_data_in(clean + '"text": "where is the quiet room?"', arrivals) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"engine": "gpu"},
        {"faults": {"lightning": 0.1}},
        {"faults": {"crash": 1.5}},
        {"users": 10, "messages": 100},
        {"concurrency": 0},
    ],
)
def test_bad_options_are_refused_with_a_reason(changes: dict[str, object]) -> None:
    options = loadtest.Options(**changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\w"):
        options.check()
