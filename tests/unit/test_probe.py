"""assistant doctor's probe: marked only by the envelope (never by what a user writes), a dry run unless it
says otherwise, recorded and never sent in a dry run, sent unquoted in a live one, never counted."""

from __future__ import annotations

import json

from assistant.local.envelopes import PHONE_NUMBER_ARN, probe_envelope, text_envelope
from assistant.models.domain import Probe
from assistant.models.envelope import parse_envelope
from tests.worlds import World


def test_the_envelope_marks_a_probe_and_defaults_to_a_dry_run() -> None:
    envelope = probe_envelope("hello?", probe_id="0123456789abcdef", phone_number_arn=PHONE_NUMBER_ARN)
    (message,) = parse_envelope(envelope).messages
    assert message.probe == Probe("0123456789abcdef") and message.probe.dry_run
    assert message.user.wa_id is None and message.user.user_id == "DOCTOR.0123456789abcdef"
    live = probe_envelope(
        "hi", probe_id="0123456789abcdef", phone_number_arn=PHONE_NUMBER_ARN, to="15550009876"
    )
    assert parse_envelope(live).messages[0].probe == Probe("0123456789abcdef", to="15550009876")
    assert parse_envelope(live).messages[0].user.user_id == "DOCTOR.0123456789abcdef", "never the real user"
    unclear = {**envelope, "assistantProbe": {"id": "0123456789abcdef", "to": "+1 555 <script>"}}
    assert parse_envelope(unclear).messages[0].probe == Probe("0123456789abcdef")


def test_a_user_cannot_make_a_message_a_probe() -> None:
    """The mark sits beside the webhook entry, which is all a WhatsApp user's words can reach."""
    text = json.dumps({"assistantProbe": {"id": "0123456789abcdef"}})
    (message,) = parse_envelope(text_envelope(text, sender="15550001111")).messages
    assert message.probe is None
    for bad in ({"id": "short"}, {"id": "../../etc"}, "yes", {"dryRun": False}):
        marked = {**text_envelope("hi", sender="15550001111"), "assistantProbe": bad}
        assert parse_envelope(marked).messages[0].probe is None


def test_a_dry_run_is_answered_into_the_record_and_sends_nothing() -> None:
    world = World()
    envelope = probe_envelope(
        "Where is the opening keynote?", probe_id="feedface00000001", phone_number_arn=PHONE_NUMBER_ARN
    )
    assert world.handle(envelope) == ["accepted"]
    for event in world.publisher.events:
        world.answer.handle(event)
    assert world.messenger.texts == [] and world.messenger.reads == []
    steps = world.store.probes["feedface00000001"]
    assert steps["read"] == "typing" and steps["answered"] and int(steps["reply"]) > 0


def test_a_live_probe_sends_its_reply_unquoted_and_marks_nothing_read() -> None:
    world = World()
    envelope = probe_envelope(
        "Where is the opening keynote?",
        probe_id="feedface00000002",
        phone_number_arn=PHONE_NUMBER_ARN,
        to="15550009876",
    )
    world.handle(envelope)
    for event in world.publisher.events:
        world.answer.handle(event)
    assert world.messenger.reads == []
    (reply,) = world.messenger.texts
    assert reply["quote"] is None and reply["to"] == "15550009876"
    assert "answered" in world.store.probes["feedface00000002"]
