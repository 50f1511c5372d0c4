"""Properties of the envelope parser (and of the reply formatting), checked on generated payloads.

The parser's contract: ``parse_sqs_body`` and ``parse_envelope`` raise ``MalformedPayload`` and nothing else,
whatever they are given; every message and status of a readable change gets exactly one outcome (parsed, or
counted in ``skipped``: see ``tests/strategies.expected_outcomes``); valid messages come out with their kind
and ids; every string that comes out encodes as UTF-8 and every number is finite, so the parsed envelope can
always be published as JSON.

The strategies live in ``tests/strategies.py``, which also loads the Hypothesis profile: ``quick`` by default
(100 examples a test; fewer for the costlier ones), a few seconds in all. A soak run, 5,000 examples a test:

    HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/unit/test_properties.py --hypothesis-show-statistics
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from assistant.adapters.system import HmacHasher
from assistant.errors import MalformedPayload
from assistant.local.envelopes import text_envelope
from assistant.models.domain import Envelope
from assistant.models.envelope import parse_envelope, parse_sqs_body
from assistant.services.formatting import split_message, to_whatsapp
from tests.strategies import (
    BEYOND_STR,
    DANGEROUS,
    Generated,
    Wire,
    as_objects,
    dumps,
    envelopes,
    expected_for_body,
    expected_for_envelope,
    has_surrogate,
    json_slots,
    junk,
    keep_lone,
    lone_surrogate_texts,
    mutate,
    payload_tree,
    plain_texts,
    sns_wrap,
    surrogates_replaced,
    to_body,
    wire_forms,
)

MALFORMED = "malformed"
DROPPED = object()
DANGEROUS_OBJECTS = [as_objects(value) for value in (*DANGEROUS, BEYOND_STR)]
"""As Python values (built once: the deep ones are slow to build); the parser never changes its input."""
FEWER = settings(max_examples=max(20, settings().max_examples // 4))
"""For the properties that do much work per example (each one parses a payload hundreds of times)."""


def outcome(parse: Callable[[], Envelope], *, tally: bool = True) -> Envelope | str:
    """The parsed envelope, or ``MALFORMED``; any other exception fails the test.

    ``tally``: count the outcome in the statistics (``--hypothesis-show-statistics``).
    """
    try:
        parsed = parse()
    except MalformedPayload:
        if tally:
            event("malformed")
        return MALFORMED
    if tally:
        event("parsed")
    assert isinstance(parsed, Envelope)
    assert_publishable(parsed)
    return parsed


def assert_publishable(parsed: Envelope) -> None:
    """Every string encodes as UTF-8 and every number is finite: the envelope goes to SNS as strict JSON."""
    json.dumps(parsed, default=_fields, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _fields(value: Any) -> list[Any]:
    return [getattr(value, f.name) for f in dataclasses.fields(value)]


def owed(parsed: Envelope) -> int:
    return len(parsed.messages) + len(parsed.statuses) + parsed.skipped


def sendable_wire(wire: Wire, tree: Any) -> bool:
    """Bytes of a body with raw lone surrogates are not UTF-8: the only form that must be malformed."""
    return not (wire.as_bytes and not wire.ensure_ascii and has_surrogate(tree))


# ------------------------------------------------------------------------------------------ valid payloads


@given(generated=envelopes(), wire=wire_forms())
def test_every_message_and_status_of_a_valid_envelope_is_parsed_with_its_kind_ids_and_question(
    generated: Generated, wire: Wire
) -> None:
    parsed = outcome(lambda: parse_sqs_body(to_body(payload_tree(generated.envelope, wire), wire)))

    assert isinstance(parsed, Envelope)
    assert parsed.skipped == 0
    assert [(m.message_id, m.kind, m.user.identity, m.question_text) for m in parsed.messages] == [
        (e.message_id, e.kind, e.identity, e.question) for e in generated.messages
    ]
    assert [(s.message_id, s.status) for s in parsed.statuses] == [
        (e.message_id, e.status) for e in generated.statuses
    ]


@given(generated=envelopes(), wires=st.lists(wire_forms(), min_size=2, max_size=3), data=st.data())
def test_every_wire_form_of_an_envelope_parses_to_the_same_result(
    generated: Generated, wires: list[Wire], data: st.DataObject
) -> None:
    """Raw or SNS delivery, Message and entry as strings or objects, str or bytes, escaped or not."""
    envelope = generated.envelope
    if data.draw(st.booleans(), label="edited"):
        data.draw(mutate(envelope), label="edits")
    results = []
    for wire in wires:
        result = outcome(lambda wire=wire: parse_sqs_body(to_body(payload_tree(envelope, wire), wire)))
        if sendable_wire(wire, envelope):
            results.append(result)
        else:
            assert result == MALFORMED
    assert all(result == results[0] for result in results)


# ---------------------------------------------------------------------------------------- edited payloads


@given(generated=envelopes(), wire=wire_forms(), data=st.data())
def test_an_edited_body_parses_or_is_malformed_and_every_item_gets_exactly_one_outcome(
    generated: Generated, wire: Wire, data: st.DataObject
) -> None:
    """Fields dropped or added, junk of any type at any level (SNS wrapper included), huge values."""
    tree = payload_tree(generated.envelope, wire)
    data.draw(mutate(tree), label="edits")

    parsed = outcome(lambda: parse_sqs_body(to_body(tree, wire)))

    if parsed != MALFORMED:
        assert isinstance(parsed, Envelope)
        assert owed(parsed) == expected_for_body(tree)


@given(generated=envelopes(), data=st.data())
def test_parse_envelope_given_edited_objects_never_raises_and_every_item_gets_exactly_one_outcome(
    generated: Generated, data: st.DataObject
) -> None:
    """Python objects, as a caller that decoded the JSON itself would pass: deep nesting of real lists
    (no JSON decoder to stop it), integers too long for ``str()``."""
    tree = generated.envelope
    data.draw(mutate(tree, objects=True), label="edits")

    parsed = outcome(lambda: parse_envelope(as_objects(tree)))

    if parsed != MALFORMED:
        assert isinstance(parsed, Envelope)
        assert owed(parsed) == expected_for_envelope(tree)


@FEWER
@given(generated=envelopes(max_changes=1, max_items=3))
def test_any_field_of_a_message_or_status_dropped_or_replaced_by_any_dangerous_value_touches_only_that_item(
    generated: Generated,
) -> None:
    """Every field of every message and status, at every level (its type's body, a reply in it, a contact
    card), dropped and replaced by each of ``DANGEROUS`` in turn: that item is parsed or skipped, nothing
    raises, and every other item parses exactly as before."""
    value = generated.envelope["whatsAppWebhookEntry"]["changes"][0]["value"]
    before = parse_envelope(generated.envelope)
    for key in ("messages", "statuses"):
        baseline = getattr(before, key)
        for position, item in enumerate(value.get(key, [])):
            without = baseline[:position] + baseline[position + 1 :]
            for container, field in list(json_slots(item)):
                original = container[field]
                for replacement in (*DANGEROUS_OBJECTS, DROPPED):
                    if replacement is DROPPED:
                        del container[field]
                    else:
                        container[field] = replacement
                    parsed = outcome(lambda: parse_envelope(generated.envelope), tally=False)
                    if isinstance(container, list) and replacement is DROPPED:
                        container.insert(field, original)
                    else:
                        container[field] = original

                    assert isinstance(parsed, Envelope)
                    assert owed(parsed) == len(generated.messages) + len(generated.statuses)
                    others = getattr(parsed, key)
                    if len(others) == len(baseline):  # the item was parsed: it is at its place
                        others = others[:position] + others[position + 1 :]
                    assert others == without


@given(value=junk(objects=True))
def test_parse_envelope_given_anything_but_an_object_is_malformed(value: Any) -> None:
    assume(not isinstance(value, dict))

    with pytest.raises(MalformedPayload):
        parse_envelope(as_objects(value))


@given(generated=envelopes(), data=st.data())
def test_an_entry_of_junk_parses_or_is_malformed(generated: Generated, data: st.DataObject) -> None:
    """Junk in place of the entry, its changes, a change, its value, or the whole items lists."""
    entry = generated.envelope["whatsAppWebhookEntry"]
    change = entry["changes"][0]
    where = data.draw(st.sampled_from(["entry", "changes", "change", "value", "messages", "statuses"]))
    value = data.draw(junk())
    if where == "entry":
        generated.envelope["whatsAppWebhookEntry"] = value
    elif where == "changes":
        entry["changes"] = value
    elif where == "change":
        entry["changes"][0] = value
    else:
        target = change if where == "value" else change["value"]
        target[where] = value
    wire = data.draw(wire_forms())
    tree = payload_tree(generated.envelope, wire)

    parsed = outcome(lambda: parse_sqs_body(to_body(tree, wire)))

    if parsed != MALFORMED:
        assert isinstance(parsed, Envelope)
        assert owed(parsed) == expected_for_body(tree)


# ------------------------------------------------------------------------------------ text that is broken


JSON_ALPHABET = '{}[]":,0123456789.eE+-tfnulNaIiy \\/abcxyz\x00\x7f\u00e9\u20ac\U0001f600'


@given(
    body=st.one_of(
        st.text(),
        st.text(JSON_ALPHABET),
        lone_surrogate_texts(),
        st.binary(),
        st.text(JSON_ALPHABET).map(lambda t: t.encode("utf-8")),
    )
)
def test_any_sqs_body_parses_or_is_malformed(body: str | bytes) -> None:
    outcome(lambda: parse_sqs_body(body))


@FEWER
@given(generated=envelopes(max_changes=1), wire=wire_forms(), data=st.data())
def test_a_truncated_body_is_malformed(generated: Generated, wire: Wire, data: st.DataObject) -> None:
    body = to_body(payload_tree(generated.envelope, wire), wire)
    cut = data.draw(st.integers(0, len(body) - 1), label="cut")

    assert outcome(lambda: parse_sqs_body(body[:cut])) == MALFORMED


@FEWER
@given(generated=envelopes(max_changes=1), wire=wire_forms(), data=st.data())
def test_a_truncated_entry_or_sns_message_is_malformed(
    generated: Generated, wire: Wire, data: st.DataObject
) -> None:
    entry_text = dumps(generated.envelope["whatsAppWebhookEntry"])
    envelope = {
        **generated.envelope,
        "whatsAppWebhookEntry": entry_text[: data.draw(st.integers(0, len(entry_text) - 1))],
    }
    bodies = [to_body(payload_tree(envelope, wire), wire)]
    message_text = dumps(generated.envelope)
    bodies.append(json.dumps(sns_wrap(message_text[: data.draw(st.integers(0, len(message_text) - 1))])))

    for body in bodies:
        assert outcome(lambda body=body: parse_sqs_body(body)) == MALFORMED


NOT_UTF8 = [
    b"\xff",
    b"\xfe",
    b"\x80",
    b"\xc0\xaf",
    b"\xe2\x82",
    b"\xed\xa0\xbd",
    b"\xf4\x90\x80\x80",
    b"\xc3",
]


@FEWER
@given(generated=envelopes(max_changes=1), wire=wire_forms(), data=st.data())
def test_a_body_that_is_not_utf8_is_malformed(generated: Generated, wire: Wire, data: st.DataObject) -> None:
    body = to_body(payload_tree(generated.envelope, wire), dataclasses.replace(wire, as_bytes=True))
    assert isinstance(body, bytes)
    at = data.draw(st.integers(0, len(body)), label="at")
    bad = data.draw(st.sampled_from(NOT_UTF8), label="bytes")

    assert outcome(lambda: parse_sqs_body(body[:at] + bad + body[at:])) == MALFORMED


# ------------------------------------------------------------------------------------------ lone surrogates


@given(generated=envelopes(), wire=wire_forms(), data=st.data())
def test_a_lone_surrogate_in_any_string_reads_as_a_replacement_character(
    generated: Generated, wire: Wire, data: st.DataObject
) -> None:
    """Parsing a payload whose strings hold lone surrogates gives what parsing it with U+FFFD in their place
    gives: texts, titles, names, ids, types, everything."""
    poisoned, cleaned = generated.envelope, copy.deepcopy(generated.envelope)
    strings = [(c, k) for c, k in json_slots(poisoned) if isinstance(c[k], str)]
    twins = [(c, k) for c, k in json_slots(cleaned) if isinstance(c[k], str)]
    chosen = data.draw(st.sets(st.integers(0, len(strings) - 1), min_size=1, max_size=6), label="strings")
    for index in chosen:
        (container, key), (twin, twin_key) = strings[index], twins[index]
        text = container[key]
        at = data.draw(st.integers(0, len(text)), label="at")
        surrogate = chr(data.draw(st.integers(0xD800, 0xDFFF), label="surrogate"))
        container[key] = keep_lone(text[:at] + surrogate + text[at:])
        twin[twin_key] = surrogates_replaced(container[key])
    if wire.as_bytes:
        wire = dataclasses.replace(wire, ensure_ascii=True)

    from_poisoned = outcome(lambda: parse_sqs_body(to_body(payload_tree(poisoned, wire), wire)))
    from_cleaned = outcome(lambda: parse_sqs_body(to_body(payload_tree(cleaned, wire), wire)))

    assert from_poisoned == from_cleaned
    assert outcome(lambda: parse_envelope(poisoned)) == outcome(lambda: parse_envelope(cleaned))


@given(parts=st.lists(st.one_of(plain_texts(), lone_surrogate_texts()), min_size=1, max_size=4))
def test_an_hmac_key_never_raises_and_two_different_inputs_get_different_keys(parts: list[str]) -> None:
    hasher = HmacHasher(b"k" * 32)

    key = hasher.key(*parts)

    assert len(key) == 32
    cleaned = [surrogates_replaced(p) for p in parts]
    if cleaned != parts:
        assert hasher.key(*cleaned) != key


# ------------------------------------------------------------------------------------------------ senders


def first_contact_naming(wa_id: str | None, user_id: str | None, contacts: list[Any]) -> tuple[Any, Any]:
    """The rule, as a plain loop: the first contact that names the sender (or the only one, when the message
    names nobody) and contradicts neither of its ids completes it."""
    cards = [c for c in contacts if isinstance(c, dict)]
    for card in cards:
        c_wa, c_user = card.get("wa_id"), card.get("user_id")
        named = (wa_id is not None and c_wa == wa_id) or (user_id is not None and c_user == user_id)
        anonymous = wa_id is None and user_id is None and len(cards) == 1
        if (
            (named or anonymous)
            and (wa_id is None or c_wa in (None, wa_id))
            and (user_id is None or c_user in (None, user_id))
        ):
            return wa_id or c_wa, user_id or c_user
    return wa_id, user_id


_FEW_WA = st.sampled_from([None, "15550001111", "15550002222"])
_FEW_USERS = st.sampled_from([None, "US.1", "US.2"])
_CARDS = st.one_of(
    st.builds(
        lambda wa, user: {k: v for k, v in (("wa_id", wa), ("user_id", user)) if v}, _FEW_WA, _FEW_USERS
    ),
    st.none(),
)


@given(
    contacts=st.lists(_CARDS, max_size=12),
    senders=st.lists(st.tuples(_FEW_WA, _FEW_USERS), min_size=1, max_size=6),
)
def test_each_sender_is_completed_by_the_first_contact_that_names_them_and_contradicts_neither_id(
    contacts: list[Any], senders: list[tuple[str | None, str | None]]
) -> None:
    envelope = text_envelope("hi", sender="15550009999", wamid="wamid.A", timestamp=1762827867)
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    value["contacts"] = contacts
    message = value["messages"][0]
    value["messages"] = [
        {
            k: v
            for k, v in {**message, "id": f"wamid.{i}", "from": wa, "from_user_id": user}.items()
            if v is not None
        }
        for i, (wa, user) in enumerate(senders)
    ]
    expected = [first_contact_naming(wa, user, contacts) for wa, user in senders]

    parsed = parse_envelope({**envelope, "whatsAppWebhookEntry": entry})

    assert [(m.user.wa_id, m.user.user_id) for m in parsed.messages] == [
        e for e in expected if e != (None, None)
    ]
    assert parsed.skipped == expected.count((None, None))


# -------------------------------------------------------------------------------------------- formatting


# Markdown's syntax, and the NULs and digits the formatter's own placeholders are made of.
MARKDOWN_TOKENS = st.sampled_from(
    [*"*_~`[]()#+-!.?:/ \t\r\n", "\n\n", "**", "~~", "http://", "```", "\x00", "\x000\x00", "\x007\x00"]
)
markdown_texts = st.lists(
    MARKDOWN_TOKENS | st.sampled_from("0123456789abc\x00") | st.characters(), max_size=80
).map("".join)


@given(markdown=markdown_texts)
def test_to_whatsapp_accepts_any_text_and_keeps_every_nul_and_code_span(markdown: str) -> None:
    text = to_whatsapp(markdown)

    assert text.count("\x00") == markdown.count("\x00")
    for span in set(re.findall(r"`[^`\n]+`", markdown.replace("\r\n", "\n"))):
        assert span in text


@given(text=st.text(st.characters(exclude_characters="*_~`[]#+-\r\n")))
def test_to_whatsapp_leaves_text_without_markdown_as_it_is(text: str) -> None:
    assert to_whatsapp(text) == text.strip()


@given(text=markdown_texts | st.text(), limit=st.integers(1, 10) | st.integers(1, 4096))
def test_split_message_keeps_every_character_in_parts_within_the_limit(text: str, limit: int) -> None:
    parts = split_message(text, limit)

    assert all(0 < len(part) <= limit for part in parts)
    assert "".join("".join(parts).split()) == "".join(text.split())
