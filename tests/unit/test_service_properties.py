"""Property-based: whatever the payload, the services never raise, and every message gets exactly one
outcome and at most one reply; redelivered, it gets nothing more.

Uses the parser's strategies (tests/strategies.py: valid envelopes of every message type, then edited:
fields dropped, junk of every type at every level, huge values, lone surrogates). The long run:
``HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/unit/test_service_properties.py``.
"""

from __future__ import annotations

import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from assistant.adapters.sns import encode
from assistant.errors import MalformedPayload
from assistant.models.envelope import parse_sqs_body
from tests.strategies import Generated, Wire, envelopes, mutate, payload_tree, to_body, wire_forms
from tests.worlds import World


def _replies_by_message(world: World) -> Counter[str | None]:
    """Reply parts sent, by the message (key) and part they answer: each at most once."""
    return Counter(t["callback"] for t in world.messenger.texts)


def _check(world: World, body: str | bytes) -> None:
    try:
        envelope = parse_sqs_body(body)
    except MalformedPayload:
        return  # dropped and counted by the handler: nothing to answer
    outcomes = world.handle_envelope(envelope)
    assert len(outcomes) == len(envelope.messages)  # one outcome per message, none raised
    for event in world.publisher.events:
        encode(event).encode("utf-8")  # what SNS will be given is valid UTF-8
    for event in list(world.publisher.events):
        world.answer.handle(event)
    sent = _replies_by_message(world)
    assert all(count == 1 for count in sent.values()), sent  # never two replies to one message
    replied = len(world.messenger.texts)
    # A redelivery, once every attempt has lapsed, sends nothing more (and never raises).
    world.clock.advance(3600)
    world.handle_envelope(envelope)
    assert len(world.messenger.texts) == replied
    json.dumps([t["body"] for t in world.messenger.texts], ensure_ascii=False).encode("utf-8")


@given(generated=envelopes(), wire=wire_forms())
def test_valid_envelopes_get_one_outcome_per_message_and_at_most_one_reply_each(
    generated: Generated, wire: Wire
) -> None:
    _check(World(rate_limit_messages=1000), to_body(payload_tree(generated.envelope, wire), wire))


@given(generated=envelopes(), wire=wire_forms(), data=st.data())
def test_edited_envelopes_never_make_the_services_raise(
    generated: Generated, wire: Wire, data: st.DataObject
) -> None:
    tree = payload_tree(generated.envelope, wire)
    data.draw(mutate(tree), label="edits")
    _check(World(rate_limit_messages=1000), to_body(tree, wire))


@given(data=st.data())
def test_a_processed_event_edited_in_any_way_decodes_well_typed_or_is_refused_as_malformed(
    data: st.DataObject,
) -> None:
    """The answer handler drops what ``decode`` refuses (KeyError, TypeError, ValueError) and answers the
    rest: nothing else may come out of it, and what comes out has the types the service relies on."""
    from assistant.adapters.sns import decode
    from assistant.ports import ProcessedMessage, Recipient

    event = ProcessedMessage(
        message_key="k" * 32,
        user_key="u" * 32,
        kind="text",
        text="Where is the keynote?",
        message_id="wamid.X",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-1",
        meta_phone_number_id="1",
        received_at=1,
    )
    tree = json.loads(encode(event))
    data.draw(mutate(tree), label="edits")
    try:
        decoded = decode(tree)
    except (KeyError, TypeError, ValueError):
        return
    assert isinstance(decoded.text, str) and isinstance(decoded.received_at, int)
    assert decoded.recipient.wa_id or decoded.recipient.user_id
