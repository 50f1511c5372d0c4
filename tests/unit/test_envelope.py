"""The End User Messaging Social envelope parser.

SQS body -> SNS notification -> envelope -> webhook entry -> domain objects.

No network, no moto: every input is a fixture file or a dict built here. Fixtures in ``fixtures/eum`` are
sample envelopes; those in ``fixtures/extra`` are synthetic (fictional 1555000xxxx numbers).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from assistant.adapters.system import HmacHasher
from assistant.errors import MalformedPayload
from assistant.models.domain import (
    Choice,
    Envelope,
    InboundMessage,
    Location,
    Media,
    MessageKind,
    Reaction,
    Route,
    SharedContacts,
    StatusEvent,
    Text,
    Unsupported,
    User,
)
from assistant.models.envelope import parse_envelope, parse_sqs_body, unwrap_sqs_body

FIXTURES = Path(__file__).parents[1] / "fixtures"
EUM = FIXTURES / "eum"
EXTRA = FIXTURES / "extra"
NOT_JSON_FIXTURE = "docs_envelope_header.json"

EUM_ROUTE = Route(
    origination_phone_number_id="phone-number-id-11111111111111111111111111111111",
    meta_phone_number_id="1122334455667",
)
EXTRA_ROUTE = Route(
    origination_phone_number_id="phone-number-id-0123456789abcdef0123456789abcdef",
    meta_phone_number_id="100000000000001",
)


# --------------------------------------------------------------------------------------------- helpers


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def eum(name: str) -> dict[str, Any]:
    return load(EUM / name)


def extra(name: str) -> dict[str, Any]:
    return load(EXTRA / name)


def entry_of(envelope: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(envelope["whatsAppWebhookEntry"])
    return entry


def with_entry(envelope: dict[str, Any], entry: Any) -> dict[str, Any]:
    """A copy of ``envelope`` carrying ``entry`` (serialised the way End User Messaging does, as a string)."""
    raw = entry if isinstance(entry, str) else json.dumps(entry)
    return {**envelope, "whatsAppWebhookEntry": raw}


def mutate(envelope: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """A copy of ``envelope`` whose decoded entry went through ``change`` (which edits it in place)."""
    entry = entry_of(envelope)
    change(entry)
    return with_entry(envelope, entry)


def first_value(entry: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = entry["changes"][0]["value"]
    return value


def first_message(entry: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = first_value(entry)["messages"][0]
    return message


def sns_body(envelope: dict[str, Any]) -> str:
    """The SQS body of a subscription without raw message delivery: an SNS notification."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "0d2b6c0e-1111-4b8a-9c52-000000000001",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:eum-inbound",
            "Message": json.dumps(envelope),
            "Timestamp": "2026-11-11T02:24:28.512Z",
            "SignatureVersion": "1",
            "Signature": "c2lnbmF0dXJl",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def raw_body(envelope: dict[str, Any]) -> str:
    """The SQS body of a subscription with raw message delivery: the envelope itself."""
    return json.dumps(envelope)


def only_message(envelope: dict[str, Any]) -> InboundMessage:
    parsed = parse_envelope(envelope)
    assert parsed.skipped == 0
    assert parsed.statuses == ()
    assert len(parsed.messages) == 1
    return parsed.messages[0]


def parses_or_rejects(call: Callable[[], Envelope]) -> Envelope | None:
    """Run ``call``; ``MalformedPayload`` is an acceptable outcome, any other exception fails the test."""
    try:
        result = call()
    except MalformedPayload:
        return None
    assert isinstance(result, Envelope)
    return result


EUM_FILES = sorted(p.name for p in EUM.glob("*.json") if p.name != NOT_JSON_FIXTURE)
EXTRA_FILES = sorted(p.name for p in EXTRA.glob("*.json"))


# ------------------------------------------------------------------------ sample envelopes (fixtures/eum)

ALICE_972 = User(wa_id="972987654321", user_id="US.13491208655302741918")

# file -> (kind, content) of its single message
EUM_MESSAGES: dict[str, tuple[MessageKind, Any]] = {
    "callback_button__button.json": (
        MessageKind.INTERACTIVE,
        Choice(choice_id="callback_data", title="title"),
    ),
    "callback_selection__callback.json": (
        MessageKind.INTERACTIVE,
        Choice(choice_id="callback_data", title="title"),
    ),
    "message__audio.json": (
        MessageKind.AUDIO,
        Media(
            media_id="1234567890987654321",
            mime_type="audio/ogg; codecs=opus",
            sha256="E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA=",
            voice=False,
        ),
    ),
    "message__voice.json": (
        MessageKind.VOICE,
        Media(
            media_id="1234567890987654321",
            mime_type="audio/ogg; codecs=opus",
            sha256="m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=",
            voice=True,
        ),
    ),
    "message__image.json": (
        MessageKind.IMAGE,
        Media(media_id="65463453", mime_type="image/jpeg", sha256="4654+8g="),
    ),
    "message__document.json": (
        MessageKind.DOCUMENT,
        Media(
            media_id="1234567890987654321",
            mime_type="application/pdf",
            sha256="grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=",
            caption="caption",
            filename="filename.pdf",
        ),
    ),
    "message__static_sticker.json": (
        MessageKind.STICKER,
        Media(
            media_id="1234567890987654321",
            mime_type="image/webp",
            sha256="OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc=",
            animated=False,
        ),
    ),
    "message__current_location.json": (MessageKind.LOCATION, Location(12.25089, 43.90539)),
    "message__contacts.json": (MessageKind.CONTACTS, SharedContacts(count=3)),
    "message__reaction.json": (
        MessageKind.REACTION,
        Reaction(message_id="wamid.yzxyzx=", emoji="\N{FACE WITH OPEN MOUTH}"),
    ),
    "message__text.json": (MessageKind.TEXT, Text("Body Text")),
    "message__unsupported.json": (
        MessageKind.UNSUPPORTED,
        Unsupported(original_type="unsupported", error_codes=(131051,)),
    ),
    "real_capture_text.json": (MessageKind.TEXT, Text("BB")),
}

# file -> (status, error codes, pricing category) of its single status
EUM_STATUSES: dict[str, tuple[str, tuple[int, ...], str | None]] = {
    "message_status__sent.json": ("sent", (), "service"),
    "message_status__delivered.json": ("delivered", (), "service"),
    "message_status__read.json": ("read", (), "service"),
    "message_status__failed.json": ("failed", (130472,), None),
}


def test_every_sample_fixture_has_an_expectation() -> None:
    assert EUM_FILES, "no fixtures found in tests/fixtures/eum"
    assert set(EUM_FILES) == set(EUM_MESSAGES) | set(EUM_STATUSES)


@pytest.mark.parametrize("name", EUM_FILES)
def test_every_sample_envelope_parses_without_skipping_anything(name: str) -> None:
    parsed = parse_envelope(eum(name))

    assert isinstance(parsed, Envelope)
    assert parsed.skipped == 0
    assert len(parsed.messages) + len(parsed.statuses) == 1


@pytest.mark.parametrize("name", sorted(EUM_MESSAGES))
def test_each_sample_message_gets_its_kind_and_content(name: str) -> None:
    kind, content = EUM_MESSAGES[name]

    message = only_message(eum(name))

    assert message.kind is kind
    assert message.content == content


@pytest.mark.parametrize("name", sorted(set(EUM_MESSAGES) - {"real_capture_text.json"}))
def test_each_sample_message_keeps_sender_route_and_timestamp(name: str) -> None:
    raw = first_message(entry_of(eum(name)))

    message = only_message(eum(name))

    assert message.user == ALICE_972
    assert message.user.identity == "972987654321"
    assert message.route == EUM_ROUTE
    assert message.message_id == raw["id"]
    assert message.timestamp == int(raw["timestamp"])
    assert isinstance(message.timestamp, int)


@pytest.mark.parametrize("name", sorted(EUM_STATUSES))
def test_each_sample_status_keeps_its_name_error_codes_and_pricing(name: str) -> None:
    status, error_codes, pricing = EUM_STATUSES[name]
    raw = first_value(entry_of(eum(name)))["statuses"][0]

    parsed = parse_envelope(eum(name))

    assert parsed.messages == ()
    assert parsed.statuses == (
        StatusEvent(
            message_id="wamid.xyzxyz",
            status=status,
            timestamp=int(raw["timestamp"]),
            route=EUM_ROUTE,
            error_codes=error_codes,
            pricing_category=pricing,
        ),
    )


def test_a_voice_note_is_voice_and_plain_audio_is_audio() -> None:
    voice = only_message(eum("message__voice.json"))
    audio = only_message(eum("message__audio.json"))

    assert (voice.kind, voice.content.voice) == (MessageKind.VOICE, True)  # type: ignore[union-attr]
    assert (audio.kind, audio.content.voice) == (MessageKind.AUDIO, False)  # type: ignore[union-attr]


def test_a_document_keeps_its_filename_and_caption() -> None:
    content = only_message(eum("message__document.json")).content

    assert isinstance(content, Media)
    assert (content.filename, content.caption) == ("filename.pdf", "caption")


def test_shared_contacts_are_counted_not_copied() -> None:
    raw_cards = first_message(entry_of(eum("message__contacts.json")))["contacts"]

    content = only_message(eum("message__contacts.json")).content

    assert content == SharedContacts(count=len(raw_cards)) == SharedContacts(count=3)


def test_an_interactive_button_reply_becomes_a_choice_with_its_title_as_the_question() -> None:
    message = only_message(eum("callback_button__button.json"))

    assert message.kind is MessageKind.INTERACTIVE
    assert isinstance(message.content, Choice)
    assert message.content.title == "title"
    assert message.question_text == "title"


def test_an_unsupported_message_keeps_error_code_131051() -> None:
    content = only_message(eum("message__unsupported.json")).content

    assert isinstance(content, Unsupported)
    assert content.error_codes == (131051,)


def test_a_failed_status_keeps_error_code_130472() -> None:
    (status,) = parse_envelope(eum("message_status__failed.json")).statuses

    assert status.status == "failed"
    assert status.error_codes == (130472,)


def test_a_quoted_reply_keeps_the_quoted_message_id() -> None:
    message = only_message(eum("callback_button__button.json"))

    assert message.quoted_message_id == "wamid.xyzxyz"
    assert message.forwarded is False


@pytest.mark.parametrize(
    "name", ["message__audio.json", "message__current_location.json", "message__document.json"]
)
def test_a_forwarded_message_is_marked_forwarded_without_a_quote(name: str) -> None:
    message = only_message(eum(name))

    assert message.forwarded is True
    assert message.quoted_message_id is None


def test_frequently_forwarded_counts_as_forwarded() -> None:
    envelope = mutate(
        eum("message__text.json"),
        lambda e: first_message(e).update(context={"frequently_forwarded": True}),
    )

    assert only_message(envelope).forwarded is True


def test_the_real_capture_routes_through_its_only_context_number_despite_redacted_ids() -> None:
    message = only_message(eum("real_capture_text.json"))

    assert message.route.meta_phone_number_id == "100000000000001"
    assert message.route.origination_phone_number_id.startswith("phone-number-id-")
    assert message.user == User(wa_id="15550001111", user_id=None)


def test_the_docs_envelope_header_with_a_placeholder_entry_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_envelope(eum(NOT_JSON_FIXTURE))


@pytest.mark.parametrize("to_body", [raw_body, sns_body], ids=["raw", "sns"])
def test_the_docs_envelope_header_is_malformed_through_sqs_too(to_body: Callable[[Any], str]) -> None:
    with pytest.raises(MalformedPayload):
        parse_sqs_body(to_body(eum(NOT_JSON_FIXTURE)))


# ------------------------------------------------------------------------- SQS bodies: raw and non-raw


@pytest.mark.parametrize(
    "path",
    [EUM / n for n in EUM_FILES] + [EXTRA / n for n in EXTRA_FILES],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_raw_and_sns_wrapped_sqs_bodies_parse_to_the_same_envelope(path: Path) -> None:
    envelope = load(path)

    from_raw = parse_sqs_body(raw_body(envelope))
    from_sns = parse_sqs_body(sns_body(envelope))

    assert from_raw == from_sns == parse_envelope(envelope)


def test_unwrapping_returns_the_envelope_for_both_deliveries() -> None:
    envelope = eum("message__text.json")

    assert unwrap_sqs_body(raw_body(envelope)) == envelope
    assert unwrap_sqs_body(sns_body(envelope)) == envelope


def test_an_sqs_body_may_arrive_as_bytes() -> None:
    envelope = eum("message__text.json")

    assert parse_sqs_body(sns_body(envelope).encode()) == parse_envelope(envelope)  # type: ignore[arg-type]


def test_an_sns_notification_whose_message_is_already_an_object_is_accepted() -> None:
    envelope = eum("message__text.json")
    body = json.dumps({"Type": "Notification", "Message": envelope})

    assert parse_sqs_body(body) == parse_envelope(envelope)


def test_an_entry_that_is_already_an_object_is_accepted() -> None:
    envelope = eum("message__text.json")

    decoded = {**envelope, "whatsAppWebhookEntry": entry_of(envelope)}

    assert parse_envelope(decoded) == parse_envelope(envelope)


# ------------------------------------------------------------------------------- malformed payloads


def _sns(message: Any) -> str:
    return json.dumps({"Type": "Notification", "Message": message})


def _env_body(entry: Any) -> str:
    return json.dumps(with_entry(eum("message__text.json"), entry))


MALFORMED_BODIES: dict[str, str] = {
    "empty": "",
    "whitespace": "   \n",
    "not json": "this is not json",
    "truncated json": '{"whatsAppWebhookEntry": "{',
    "json array": "[]",
    "json array of envelopes": json.dumps([eum("message__text.json")]),
    "json number": "42",
    "json null": "null",
    "json string": '"hello"',
    "json true": "true",
    "empty object": "{}",
    "envelope missing whatsAppWebhookEntry": json.dumps(
        {k: v for k, v in eum("message__text.json").items() if k != "whatsAppWebhookEntry"}
    ),
    "sns message not json": _sns("not json"),
    "sns message null": _sns(None),
    "sns message number": _sns(7),
    "sns message json array": _sns("[1, 2, 3]"),
    "sns message json string": _sns(json.dumps("nested string")),
    "sns message without entry": _sns(json.dumps({"context": {}})),
    "entry null": _env_body(None),
    "entry number": _env_body(12),
    "entry list": _env_body([{"changes": []}]),
    "entry empty string": _env_body(""),
    "entry placeholder": _env_body('{"...JSON STRING....'),
    "entry json array": _env_body("[]"),
    "entry json string": _env_body('"changes"'),
    "entry without changes": _env_body({"id": "200000000000002"}),
    "entry changes null": _env_body({"id": "1", "changes": None}),
    "entry changes object": _env_body({"id": "1", "changes": {"value": {}}}),
    "entry changes string": _env_body({"id": "1", "changes": "messages"}),
    "entry changes number": _env_body({"id": "1", "changes": 3}),
    "deeply nested body array": "[" * 100_000 + "]" * 100_000,
    "deeply nested body object": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "deeply nested unterminated body": "[" * 100_000,
    "deeply nested sns message": _sns("[" * 100_000 + "]" * 100_000),
    "deeply nested entry": _env_body('{"changes":' * 100_000 + "[]" + "}" * 100_000),
}


@pytest.mark.parametrize("body", list(MALFORMED_BODIES.values()), ids=list(MALFORMED_BODIES))
def test_malformed_sqs_bodies_raise_malformed_payload(body: str) -> None:
    with pytest.raises(MalformedPayload):
        parse_sqs_body(body)


def test_an_envelope_without_a_webhook_entry_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_envelope({"context": {}, "aws_account_id": "123456789012"})


def test_a_malformed_payload_error_names_no_value_from_the_input() -> None:
    secret = "15550001111 Alice Example wamid.SECRET"
    bodies = [
        secret,
        json.dumps([secret]),
        _env_body(secret),
        _env_body({"id": secret}),
        _sns(secret),
    ]
    for body in bodies:
        with pytest.raises(MalformedPayload) as caught:
            parse_sqs_body(body)
        assert "15550001111" not in str(caught.value)
        assert "SECRET" not in str(caught.value)
        assert caught.value.__cause__ is None


def _set_value(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: first_value(e).__setitem__(key, value)


def _set_message(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: first_message(e).__setitem__(key, value)


def _set_unsupported_errors(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: first_message(e).update(type="unsupported", errors=value)


# Garbage inside an otherwise readable entry: the parser may skip it or reject the envelope, never crash.
GARBAGE_IN_ENTRY: dict[str, Callable[[dict[str, Any]], Any]] = {
    "changes of junk": lambda e: e.__setitem__(
        "changes", [None, 1, "x", [], {}, {"value": None}, {"value": []}]
    ),
    "deeply nested changes": lambda e: e.__setitem__("changes", json.loads("[" * 500 + "]" * 500)),
    "metadata string": _set_value("metadata", "x"),
    "metadata list": _set_value("metadata", [1]),
    "messages of junk": _set_value("messages", [None, 1, "x", [], {}]),
    "messages object": _set_value("messages", {"id": "wamid.X"}),
    "contacts of junk": _set_value("contacts", [None, 1, "x", [], {}]),
    "statuses of junk": _set_value("statuses", [None, 1, "x", [], {}, {"id": 5, "status": []}]),
    "type number": _set_message("type", 5),
    "type null": _set_message("type", None),
    "type names another field": _set_message("type", "from"),
    "text string": _set_message("text", "plain"),
    "text body number": _set_message("text", {"body": 5}),
    "timestamp list": _set_message("timestamp", [1]),
    "timestamp object": _set_message("timestamp", {"s": 1}),
    "timestamp NaN": _set_message("timestamp", float("nan")),
    "id number": _set_message("id", 12345),
    "from object": _set_message("from", {"wa_id": "1"}),
    "context string": _set_message("context", "quoted"),
    "image list": lambda e: first_message(e).update(type="image", image=[]),
    "location strings": lambda e: first_message(e).update(type="location", location={"latitude": "N"}),
    "interactive string": lambda e: first_message(e).update(type="interactive", interactive="x"),
    "interactive type list": lambda e: first_message(e).update(type="interactive", interactive={"type": []}),
    "reaction empty": lambda e: first_message(e).update(type="reaction", reaction={}),
    "button null": lambda e: first_message(e).update(type="button", button=None),
    "contacts message string": lambda e: first_message(e).update(type="contacts", contacts="x"),
    "unsupported errors of junk": _set_unsupported_errors([None, 1, "x", {"code": "abc"}, {"code": None}]),
    "unsupported errors string": _set_unsupported_errors("errors"),
    # Found while writing these tests: each one raises TypeError or OverflowError (see the final report).
    "messages number": _set_value("messages", 5),
    "statuses boolean": _set_value("statuses", True),
    "contacts number": _set_value("contacts", 7),
    "unsupported errors number": _set_unsupported_errors(7),
    "timestamp infinity": _set_message("timestamp", float("inf")),
    "unsupported error code infinity": _set_unsupported_errors([{"code": float("-inf")}]),
}


@pytest.mark.parametrize("change", list(GARBAGE_IN_ENTRY.values()), ids=list(GARBAGE_IN_ENTRY))
def test_garbage_inside_an_entry_is_skipped_or_rejected_never_crashes(
    change: Callable[[dict[str, Any]], Any],
) -> None:
    envelope = mutate(eum("message__text.json"), change)

    parses_or_rejects(lambda: parse_envelope(envelope))
    parses_or_rejects(lambda: parse_sqs_body(sns_body(envelope)))


def test_a_timestamp_written_as_an_overflowing_json_number_is_skipped_not_a_crash() -> None:
    # 1e400 is a valid JSON number; Python's json module reads it as float("inf").
    envelope = mutate(eum("message__text.json"), _set_message("timestamp", "@TS@"))
    body = raw_body(envelope).replace('\\"@TS@\\"', "1e400")
    assert "1e400" in body

    parsed = parses_or_rejects(lambda: parse_sqs_body(body))

    assert parsed is None or (parsed.messages, parsed.skipped) == ((), 1)


@pytest.mark.parametrize("garbage", [3, True, "phone-number-id"], ids=["number", "boolean", "string"])
def test_a_garbled_context_number_list_is_skipped_or_rejected_never_crashes(garbage: Any) -> None:
    envelope = {**eum("message__text.json"), "context": {"MetaPhoneNumberIds": garbage}}

    parses_or_rejects(lambda: parse_envelope(envelope))


@pytest.mark.parametrize("context", [None, "ctx", [], {}, {"MetaPhoneNumberIds": [None, 1, {"arn": 5}]}])
def test_an_envelope_without_a_usable_context_skips_every_item(context: Any) -> None:
    envelope = {**eum("message__text.json"), "context": context}

    parsed = parse_envelope(envelope)

    assert (parsed.messages, parsed.statuses, parsed.skipped) == ((), (), 1)


def test_random_byte_strings_are_either_parsed_or_malformed() -> None:
    rng = random.Random(0)
    alphabet = b'{}[]":,0123456789.eE+-tfnul \\/abcxyz\x00\xff\xe2\x82\xac'
    outcomes = {"parsed": 0, "malformed": 0}
    for _ in range(200):
        size = rng.randint(0, 64)
        if rng.random() < 0.5:
            data = bytes(rng.getrandbits(8) for _ in range(size))
        else:
            data = bytes(rng.choice(alphabet) for _ in range(size))
        for body in (data, data.decode("latin-1")):
            result = parses_or_rejects(lambda body=body: parse_sqs_body(body))
            outcomes["parsed" if result is not None else "malformed"] += 1
    assert outcomes["malformed"] > 0


def test_randomly_corrupted_sqs_bodies_are_either_parsed_or_malformed() -> None:
    rng = random.Random(0)
    bodies = [raw_body(eum(n)) for n in EUM_FILES] + [sns_body(eum(n)) for n in EUM_FILES]
    outcomes = {"parsed": 0, "malformed": 0}
    for _ in range(200):
        chars = list(rng.choice(bodies))
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.4:
                chars[position] = rng.choice('{}[]":,0123456789abcxyz\\ ')
            elif action < 0.7:
                del chars[position]
            else:
                chars.insert(position, rng.choice('{}[]":,0123456789\\'))
        body = "".join(chars)
        result = parses_or_rejects(lambda body=body: parse_sqs_body(body))
        outcomes["parsed" if result is not None else "malformed"] += 1
    assert outcomes["parsed"] > 0
    assert outcomes["malformed"] > 0


# ------------------------------------------------- no input raises: regressions found by the properties
# (tests/unit/test_properties.py explores the same ground with generated payloads)


def body_with_json(envelope: dict[str, Any], change: Callable[[dict[str, Any]], Any], token: str) -> str:
    """A raw SQS body whose entry holds the JSON text ``token`` where ``change`` put the string "@TOKEN@".

    For what ``json.dumps`` never writes: a lone surrogate escape, a 401-digit number, NaN.
    """
    entry = entry_of(envelope)
    change(entry)
    text = json.dumps(entry).replace('"@TOKEN@"', token)
    assert token in text
    return raw_body({**envelope, "whatsAppWebhookEntry": text})


def publishable(envelope: Envelope) -> bytes:
    """The parsed envelope as strict JSON in UTF-8, as it is published to SNS."""
    return json.dumps(asdict(envelope), ensure_ascii=False, allow_nan=False).encode("utf-8")


def test_a_lone_surrogate_in_a_text_body_reads_as_a_replacement_character_and_can_be_published() -> None:
    body = body_with_json(
        eum("message__text.json"), _set_message("text", {"body": "@TOKEN@"}), r'"hi \ud83d"'
    )

    parsed = parse_sqs_body(body)

    assert parsed.messages[0].content == Text("hi \N{REPLACEMENT CHARACTER}")
    assert publishable(parsed)


def test_a_surrogate_pair_split_over_two_escapes_is_still_one_character() -> None:
    body = body_with_json(
        eum("message__text.json"), _set_message("text", {"body": "@TOKEN@"}), r'"\ud83d\ude00 and \ude00"'
    )

    assert parse_sqs_body(body).messages[0].content == Text("\N{GRINNING FACE} and \N{REPLACEMENT CHARACTER}")


@pytest.mark.parametrize(
    ("folder", "name", "path"),
    [
        (EUM, "callback_button__button.json", ("interactive", "button_reply", "title")),
        (EXTRA, "message__list_reply.json", ("interactive", "list_reply", "title")),
        (EXTRA, "message__list_reply.json", ("interactive", "list_reply", "description")),
        (EXTRA, "message__button.json", ("button", "text")),
        (EUM, "message__document.json", ("document", "caption")),
        (EUM, "message__reaction.json", ("reaction", "emoji")),
    ],
    ids=[
        "button reply title",
        "list reply title",
        "list reply description",
        "button text",
        "caption",
        "emoji",
    ],
)
def test_a_lone_surrogate_in_a_title_caption_or_emoji_reads_as_a_replacement_character(
    folder: Path, name: str, path: tuple[str, ...]
) -> None:
    def poison(entry: dict[str, Any]) -> None:
        node = first_message(entry)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = "@TOKEN@"

    parsed = parse_sqs_body(body_with_json(load(folder / name), poison, r'"x\udc00y"'))

    (message,) = parsed.messages
    assert "x\N{REPLACEMENT CHARACTER}y" in repr(asdict(message))
    assert publishable(parsed)


@pytest.mark.parametrize("field_name", ["id", "from"])
def test_a_lone_surrogate_in_the_message_id_or_sender_is_replaced_and_the_ids_still_hash(
    field_name: str,
) -> None:
    # The ids go back to WhatsApp (read receipt, quoted reply) and to SNS: they must be valid UTF-8.
    envelope = eum("message__text.json")
    if field_name == "from":
        envelope = mutate(envelope, lambda e: first_value(e).pop("contacts"))
    body = body_with_json(envelope, _set_message(field_name, "@TOKEN@"), r'"wamid.\ud83d"')

    parsed = parse_sqs_body(body)

    (message,) = parsed.messages
    value = message.message_id if field_name == "id" else message.user.identity
    assert value == "wamid.\N{REPLACEMENT CHARACTER}"
    assert publishable(parsed)
    hasher = HmacHasher(b"k" * 16)
    assert hasher.key("msg", message.message_id, str(message.timestamp))
    assert hasher.key("user", message.user.identity)


def test_the_hasher_takes_a_lone_surrogate_and_keeps_it_apart_from_its_replacement() -> None:
    hasher = HmacHasher(b"k" * 16)

    assert hasher.key("user", "1555\ud83d") != hasher.key("user", "1555\N{REPLACEMENT CHARACTER}")
    assert hasher.key("user", "1555\ud83d") != hasher.key("user", "1555\ud83e")


def test_the_hasher_gives_the_same_keys_as_before_for_every_ordinary_string() -> None:
    # Keys of stored items (duplicate markers, leases) must not change with the surrogate fix.
    key = b"k" * 16
    for parts in [
        ("msg", "wamid.xyzxyz", "1697043223"),
        ("user", "972987654321"),
        ("user", "Zoë \N{GRINNING FACE}"),
    ]:
        legacy = hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:32]
        assert HmacHasher(key).key(*parts) == legacy


@pytest.mark.parametrize(
    "token",
    ["1" + "0" * 400, "-1" + "0" * 400, "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "true", '"12.5"'],
    ids=["401 digits", "-401 digits", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "boolean", "string"],
)
@pytest.mark.parametrize("coordinate", ["latitude", "longitude"])
def test_a_coordinate_that_is_no_finite_number_makes_the_location_unsupported(
    coordinate: str, token: str
) -> None:
    location = {"latitude": 12.25089, "longitude": 43.90539, coordinate: "@TOKEN@"}
    body = body_with_json(eum("message__current_location.json"), _set_message("location", location), token)

    parsed = parse_sqs_body(body)

    assert parsed.messages[0].kind is MessageKind.UNSUPPORTED
    assert parsed.messages[0].content == Unsupported(original_type="location")
    assert publishable(parsed)


def test_a_location_given_as_objects_with_a_huge_integer_is_unsupported() -> None:
    envelope = eum("message__current_location.json")
    entry = entry_of(envelope)
    first_message(entry)["location"] = {"latitude": 10**400, "longitude": 1}

    message = only_message({**envelope, "whatsAppWebhookEntry": entry})

    assert message.kind is MessageKind.UNSUPPORTED


@pytest.mark.parametrize(
    "data",
    [
        b"\xff{}",
        raw_body(eum("message__text.json")).encode()[:-3] + b"\xc3",
        raw_body(eum("message__text.json")).replace("Body Text", "@").encode().replace(b"@", b"\xed\xa0\xbd"),
        raw_body(eum("message__text.json")).encode("utf-16"),
    ],
    ids=["0xff", "truncated sequence", "encoded lone surrogate", "utf-16"],
)
def test_a_body_of_bytes_that_are_not_utf8_is_malformed(data: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse_sqs_body(data)
    with pytest.raises(MalformedPayload):
        unwrap_sqs_body(data)


@pytest.mark.parametrize(
    "envelope", [None, [], "{}", 5, b"{}"], ids=["None", "list", "string", "number", "bytes"]
)
def test_parse_envelope_given_something_other_than_an_object_is_malformed(envelope: Any) -> None:
    with pytest.raises(MalformedPayload):
        parse_envelope(envelope)


@pytest.mark.parametrize("value", [{"id": "wamid.X"}, None, "messages", 5, True], ids=repr)
@pytest.mark.parametrize("field_name", ["messages", "statuses"])
def test_a_messages_or_statuses_field_that_is_not_a_list_is_one_skipped_item(
    field_name: str, value: Any
) -> None:
    envelope = mutate(eum("message__text.json"), _set_value(field_name, value))

    parsed = parse_envelope(envelope)

    expected_messages = 0 if field_name == "messages" else 1
    assert (len(parsed.messages), parsed.statuses, parsed.skipped) == (expected_messages, (), 1)


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 30, 2**63, -(2**63) - 1, "1" * 5000, True],
    ids=["30 digits", "2**63", "-2**63-1", "5000 digits", "true"],
)
def test_a_timestamp_that_is_no_64_bit_integer_is_skipped(timestamp: Any) -> None:
    envelope = mutate(eum("message__text.json"), _set_message("timestamp", timestamp))

    parsed = parse_envelope(envelope)

    assert (parsed.messages, parsed.skipped) == ((), 1)


def test_a_phone_number_id_written_as_a_json_number_still_routes() -> None:
    envelope = mutate(
        eum("message__text.json"), lambda e: first_value(e)["metadata"].update(phone_number_id=1122334455667)
    )
    envelope["context"]["MetaPhoneNumberIds"].append(
        {"metaPhoneNumberId": "999", "arn": "arn:aws:social-messaging:us-east-1:1:phone-number-id/other"}
    )

    assert only_message(envelope).route == EUM_ROUTE


def test_ids_given_as_integers_too_long_for_str_do_not_raise() -> None:
    envelope = eum("message__text.json")
    entry = entry_of(envelope)
    first_value(entry)["metadata"]["phone_number_id"] = 10**5000
    context = {"MetaPhoneNumberIds": [{"metaPhoneNumberId": 10**5000, "arn": "arn:x:phone-number-id/1"}]}

    parsed = parse_envelope({**envelope, "context": context, "whatsAppWebhookEntry": entry})

    assert (parsed.messages, parsed.skipped) == ((), 1)  # no usable number: nowhere to reply from


def test_ten_thousand_messages_each_with_its_contact_parse_in_linear_time() -> None:
    # Found reading the parser: each message scanned the contacts, so this took 7 s; 10,000 messages that
    # name no contact, in 200 KB (under the SNS limit), took 13 s.
    count = 10_000
    senders = [f"1555{i:07d}" for i in range(count)]

    def crowd(entry: dict[str, Any]) -> None:
        value = first_value(entry)
        template = value["messages"][0]
        value["contacts"] = [{"profile": {"name": "A"}, "wa_id": s, "user_id": f"US.{s}"} for s in senders]
        value["messages"] = [{**template, "from": s, "id": f"wamid.{s}"} for s in senders]

    envelope = mutate(eum("message__text.json"), crowd)

    started = time.perf_counter()
    parsed = parse_envelope(envelope)
    elapsed = time.perf_counter() - started

    assert [m.user.user_id for m in parsed.messages] == [f"US.{s}" for s in senders]
    assert elapsed < 2.0  # about 0.1 s now


# ------------------------------------------------------------------------------------------------ routes


def test_the_origination_id_is_derived_from_the_context_arn() -> None:
    message = only_message(eum("message__text.json"))

    assert message.route == EUM_ROUTE


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/abc123", "phone-number-id-abc123"),
        ("arn:aws:social-messaging:eu-west-2:210987654321:phone-number-id/f00d", "phone-number-id-f00d"),
        ("arn:aws-cn:social-messaging:cn-north-1:123456789012:phone-number-id/x1", "phone-number-id-x1"),
    ],
)
def test_the_origination_id_is_the_arn_resource_with_a_dash(arn: str, expected: str) -> None:
    envelope = {
        **eum("message__text.json"),
        "context": {"MetaPhoneNumberIds": [{"metaPhoneNumberId": "1122334455667", "arn": arn}]},
    }

    assert only_message(envelope).route.origination_phone_number_id == expected


def test_each_change_is_routed_to_the_context_number_matching_its_phone_number_id() -> None:
    parsed = parse_envelope(extra("route_several_numbers.json"))

    (message,) = parsed.messages
    assert message.message_id == "wamid.ROUTE0001"
    assert message.route == Route(
        origination_phone_number_id="phone-number-id-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        meta_phone_number_id="100000000000012",
    )


def test_a_change_matching_none_of_several_context_numbers_is_skipped_and_counted() -> None:
    parsed = parse_envelope(extra("route_several_numbers.json"))

    assert parsed.statuses == ()
    assert parsed.skipped == 3  # two messages and one status to an unknown number


def test_with_several_context_numbers_an_unmatched_entry_is_skipped_entirely() -> None:
    envelope = extra("route_several_numbers.json")

    def only_unknown(entry: dict[str, Any]) -> None:
        for change in entry["changes"]:
            change["value"]["metadata"]["phone_number_id"] = "100000000000077"

    parsed = parse_envelope(mutate(envelope, only_unknown))

    assert (parsed.messages, parsed.statuses, parsed.skipped) == ((), (), 4)


def test_a_single_context_number_routes_an_entry_whose_meta_id_is_spelled_differently() -> None:
    envelope = mutate(
        eum("message__text.json"), lambda e: first_value(e)["metadata"].update(phone_number_id="9")
    )

    message = only_message(envelope)

    assert message.route == Route(EUM_ROUTE.origination_phone_number_id, meta_phone_number_id="9")


# ------------------------------------------------------------------- several messages, changes, users


def test_several_messages_in_several_changes_are_all_parsed_in_order() -> None:
    parsed = parse_envelope(extra("multi_messages_two_changes.json"))

    assert parsed.skipped == 0
    assert parsed.statuses == ()
    assert [m.message_id for m in parsed.messages] == [
        "wamid.MULTI0001",
        "wamid.MULTI0002",
        "wamid.MULTI0003",
        "wamid.MULTI0004",
    ]
    assert [m.kind for m in parsed.messages] == [
        MessageKind.TEXT,
        MessageKind.TEXT,
        MessageKind.IMAGE,
        MessageKind.TEXT,
    ]
    assert [m.question_text for m in parsed.messages] == [
        "Where is hall B?",
        "When is lunch?",
        None,
        "Thanks!",
    ]
    assert [m.timestamp for m in parsed.messages] == [1762827801, 1762827802, 1762827803, 1762827804]
    assert all(m.route == EXTRA_ROUTE for m in parsed.messages)


def test_each_sender_is_matched_to_their_own_contact_not_by_position() -> None:
    parsed = parse_envelope(extra("multi_messages_two_changes.json"))

    alice = User(wa_id="15550001111", user_id="US.1000000000000000001")
    bob = User(wa_id="15550002222", user_id="US.1000000000000000002")
    assert [m.user for m in parsed.messages] == [alice, bob, alice, bob]


def test_a_message_in_the_second_change_keeps_its_quote() -> None:
    last = parse_envelope(extra("multi_messages_two_changes.json")).messages[-1]

    assert last.quoted_message_id == "wamid.OURREPLY0001"


def test_a_user_with_only_a_business_scoped_id_is_keyed_on_that_id() -> None:
    parsed = parse_envelope(extra("username_only_user.json"))

    assert parsed.skipped == 0
    dave, carol = parsed.messages
    assert dave.user == User(wa_id=None, user_id="US.1000000000000000004")
    assert dave.user.identity == "US.1000000000000000004"
    assert dave.question_text == "Hi, I have no phone number here"
    assert carol.user == User(wa_id="15550003333", user_id="US.1000000000000000003")
    assert carol.user.identity == "15550003333"


def test_a_business_scoped_sender_without_contacts_still_parses() -> None:
    def drop_contacts(entry: dict[str, Any]) -> None:
        value = first_value(entry)
        del value["contacts"]
        value["messages"] = value["messages"][:1]

    message = only_message(mutate(extra("username_only_user.json"), drop_contacts))

    assert message.user == User(wa_id=None, user_id="US.1000000000000000004")


CAROL_CONTACT = {
    "profile": {"name": "Carol Example"},
    "wa_id": "15550003333",
    "user_id": "US.1000000000000000003",
}


@pytest.mark.parametrize(
    ("sender_fields", "expected"),
    [
        ({"from_user_id": "US.1000000000000000004"}, User(wa_id=None, user_id="US.1000000000000000004")),
        ({"from": "15550001111"}, User(wa_id="15550001111", user_id=None)),
    ],
    ids=["from_user_id", "from"],
)
def test_a_lone_contact_that_names_someone_else_is_not_merged_into_the_sender(
    sender_fields: dict[str, str], expected: User
) -> None:
    """A sender who names themselves must not inherit the ids of the one, different, contact listed."""

    def other_contact(entry: dict[str, Any]) -> None:
        value = first_value(entry)
        value["contacts"] = [CAROL_CONTACT]
        message = {k: v for k, v in value["messages"][0].items() if k not in ("from", "from_user_id")}
        value["messages"] = [{**message, **sender_fields}]

    message = only_message(mutate(extra("username_only_user.json"), other_contact))

    # Compared as tuples: User's repr hides both ids, which would make a failure unreadable.
    assert (message.user.wa_id, message.user.user_id) == (expected.wa_id, expected.user_id)
    assert message.user.identity != "15550003333"


# ---------------------------------------------------------------------------------------------- statuses


def test_statuses_keep_their_arrival_order_and_are_not_filled_in() -> None:
    parsed = parse_envelope(extra("statuses_out_of_order.json"))

    assert parsed.messages == ()
    assert parsed.skipped == 0
    assert [(s.message_id, s.status, s.timestamp) for s in parsed.statuses] == [
        ("wamid.OUT0001", "read", 1762828003),
        ("wamid.OUT0001", "delivered", 1762828002),
        ("wamid.OUT0002", "sent", 1762828010),
        ("wamid.OUT0002", "read", 1762828012),
        ("wamid.OUT0003", "failed", 1762828020),
    ]
    assert all(s.route == EXTRA_ROUTE for s in parsed.statuses)


def test_a_failed_status_keeps_error_code_131047() -> None:
    failed = parse_envelope(extra("statuses_out_of_order.json")).statuses[-1]

    assert failed.status == "failed"
    assert failed.error_codes == (131047,)


def test_statuses_keep_pricing_and_our_callback_data() -> None:
    statuses = parse_envelope(extra("statuses_out_of_order.json")).statuses

    assert [s.pricing_category for s in statuses] == [None, "service", None, None, None]
    assert [s.callback_data for s in statuses] == [None, None, "answer:42", "answer:42", None]
    assert [s.error_codes for s in statuses] == [(), (), (), (), (131047,)]


@pytest.mark.parametrize("raw_status", ["READ", "Played", "warning", "deleted", "accepted"])
def test_status_names_are_lowercased_and_unknown_ones_kept(raw_status: str) -> None:
    envelope = mutate(
        eum("message_status__read.json"),
        lambda e: first_value(e)["statuses"][0].update(status=raw_status),
    )

    (status,) = parse_envelope(envelope).statuses

    assert status.status == raw_status.lower()


@pytest.mark.parametrize("missing", ["id", "status", "timestamp"])
def test_a_status_missing_a_required_field_is_skipped_and_counted(missing: str) -> None:
    def two_statuses(entry: dict[str, Any]) -> None:
        statuses = first_value(entry)["statuses"]
        broken = copy.deepcopy(statuses[0])
        del broken[missing]
        statuses.insert(0, broken)

    parsed = parse_envelope(mutate(eum("message_status__read.json"), two_statuses))

    assert len(parsed.statuses) == 1
    assert parsed.skipped == 1


# --------------------------------------------------------------------------------------- skipped items


def test_broken_messages_are_skipped_and_counted_and_the_rest_still_parse() -> None:
    parsed = parse_envelope(extra("skipped_items.json"))

    assert [m.message_id for m in parsed.messages] == ["wamid.SKIP0001", "wamid.SKIP0004"]
    assert [m.question_text for m in parsed.messages] == ["good one", "good two"]
    assert parsed.skipped == 3  # missing id, non-numeric timestamp, no sender at all


@pytest.mark.parametrize(
    ("field_name", "value"),
    [("id", None), ("id", ""), ("timestamp", None), ("timestamp", "soon"), ("timestamp", "1.5e9")],
)
def test_a_message_without_a_usable_id_or_timestamp_is_skipped(field_name: str, value: Any) -> None:
    def broken_first(entry: dict[str, Any]) -> None:
        messages = first_value(entry)["messages"]
        broken = copy.deepcopy(messages[0])
        if value is None:
            del broken[field_name]
        else:
            broken[field_name] = value
        messages.insert(0, broken)

    parsed = parse_envelope(mutate(eum("message__text.json"), broken_first))

    assert [m.message_id for m in parsed.messages] == ["wamid.xyzxyz"]
    assert parsed.skipped == 1


def test_a_message_without_sender_or_contacts_is_skipped() -> None:
    def anonymous(entry: dict[str, Any]) -> None:
        del first_value(entry)["contacts"]
        del first_message(entry)["from"]

    parsed = parse_envelope(mutate(eum("message__text.json"), anonymous))

    assert (parsed.messages, parsed.skipped) == ((), 1)


def test_a_text_of_100000_characters_is_kept_whole() -> None:
    message = only_message(extra("long_text.json"))

    assert message.kind is MessageKind.TEXT
    assert isinstance(message.content, Text)
    assert len(message.content.body) == 100_000
    assert message.question_text == message.content.body


def test_an_empty_text_body_is_still_text() -> None:
    envelope = mutate(eum("message__text.json"), _set_message("text", {"body": ""}))

    assert only_message(envelope).content == Text("")


# ----------------------------------------------------------------------------------- message kinds


EXTRA_KINDS: dict[str, tuple[MessageKind, Any]] = {
    "message__list_reply.json": (
        MessageKind.INTERACTIVE,
        Choice(choice_id="session-7", title="Serverless at scale", description="Hall B, 14:00"),
    ),
    "message__button.json": (MessageKind.BUTTON, Choice(choice_id="agenda-today", title="Today's agenda")),
    "message__video.json": (
        MessageKind.VIDEO,
        Media(media_id="900000000000003", mime_type="video/mp4", sha256="dmlkZW8=", caption="the stage"),
    ),
    "message__animated_sticker.json": (
        MessageKind.STICKER,
        Media(media_id="900000000000004", mime_type="image/webp", sha256="c3RpY2tlcg==", animated=True),
    ),
    "message__order.json": (MessageKind.ORDER, None),
    "message__system.json": (MessageKind.SYSTEM, None),
    "message__request_welcome.json": (MessageKind.REQUEST_WELCOME, None),
    "message__hologram.json": (MessageKind.UNSUPPORTED, Unsupported(original_type="hologram")),
    "long_text.json": (MessageKind.TEXT, Text(("Which room is the keynote in? " * 4000)[:100_000])),
}


@pytest.mark.parametrize("name", EXTRA_FILES)
def test_every_synthetic_envelope_parses(name: str) -> None:
    parsed = parse_envelope(extra(name))

    assert parsed.messages or parsed.statuses


@pytest.mark.parametrize("name", sorted(EXTRA_KINDS))
def test_each_synthetic_message_gets_its_kind_and_content(name: str) -> None:
    kind, content = EXTRA_KINDS[name]

    message = only_message(extra(name))

    assert message.kind is kind
    assert message.content == content
    assert message.user == User(wa_id="15550001111", user_id="US.1000000000000000001")
    assert message.route == EXTRA_ROUTE


def test_an_interactive_list_reply_becomes_a_choice_with_description() -> None:
    message = only_message(extra("message__list_reply.json"))

    assert message.kind is MessageKind.INTERACTIVE
    assert message.question_text == "Serverless at scale"
    assert message.quoted_message_id == "wamid.OURLIST0001"


def test_a_template_quick_reply_button_becomes_a_choice() -> None:
    message = only_message(extra("message__button.json"))

    assert message.kind is MessageKind.BUTTON
    assert message.content == Choice(choice_id="agenda-today", title="Today's agenda")
    assert message.question_text == "Today's agenda"


def test_an_animated_sticker_is_a_sticker_marked_animated() -> None:
    content = only_message(extra("message__animated_sticker.json")).content

    assert isinstance(content, Media)
    assert content.animated is True


def test_unknown_message_type_becomes_unsupported() -> None:
    message = only_message(extra("message__hologram.json"))

    assert message.kind is MessageKind.UNSUPPORTED
    assert isinstance(message.content, Unsupported)
    assert message.content.original_type == "hologram"
    assert message.question_text is None


@pytest.mark.parametrize("type_", ["unknown", "ephemeral", "nfm", "Text", "a" * 1000])
def test_any_unknown_type_name_becomes_unsupported_keeping_the_name(type_: str) -> None:
    envelope = mutate(eum("message__text.json"), _set_message("type", type_))

    message = only_message(envelope)

    assert message.kind is MessageKind.UNSUPPORTED
    assert message.content == Unsupported(original_type=type_)


def test_the_older_unknown_type_keeps_its_error_codes() -> None:
    envelope = mutate(eum("message__unsupported.json"), _set_message("type", "unknown"))

    assert only_message(envelope).content == Unsupported(original_type="unknown", error_codes=(131051,))


def test_a_message_without_a_type_becomes_unsupported() -> None:
    envelope = mutate(eum("message__text.json"), lambda e: first_message(e).pop("type"))

    assert only_message(envelope).content == Unsupported(original_type="unknown")


@pytest.mark.parametrize(
    ("type_", "body"),
    [
        ("text", {"nobody": "x"}),
        ("image", {"mime_type": "image/jpeg"}),
        ("audio", {"id": "1"}),
        ("location", {"latitude": 1.0}),
        ("reaction", {"emoji": "x"}),
        ("button", {"payload": "p"}),
    ],
)
def test_a_known_type_with_a_broken_body_becomes_unsupported(type_: str, body: dict[str, Any]) -> None:
    envelope = mutate(
        eum("message__text.json"), lambda e: first_message(e).update({"type": type_, type_: body})
    )

    message = only_message(envelope)

    assert message.kind is MessageKind.UNSUPPORTED
    assert message.content == Unsupported(original_type=type_)


def test_an_interactive_reply_of_an_unknown_subtype_stays_interactive_but_unsupported() -> None:
    envelope = mutate(
        eum("callback_button__button.json"),
        lambda e: first_message(e).update(
            interactive={"type": "nfm_reply", "nfm_reply": {"response_json": "{}", "name": "flow"}}
        ),
    )

    message = only_message(envelope)

    assert message.kind is MessageKind.INTERACTIVE
    assert message.content == Unsupported(original_type="interactive.nfm_reply")
    assert message.question_text is None


def test_a_reaction_without_an_emoji_is_a_removed_reaction() -> None:
    envelope = mutate(eum("message__reaction.json"), _set_message("reaction", {"message_id": "wamid.T"}))

    content = only_message(envelope).content

    assert content == Reaction(message_id="wamid.T", emoji=None)
    assert isinstance(content, Reaction)
    assert content.removed


def test_a_location_keeps_its_name_and_address() -> None:
    location = {"latitude": -33.8688, "longitude": 151, "name": "Hall B", "address": "1 Example St"}
    envelope = mutate(eum("message__current_location.json"), _set_message("location", location))

    content = only_message(envelope).content

    assert content == Location(-33.8688, 151.0, "Hall B", "1 Example St")
    assert isinstance(content, Location)
    assert isinstance(content.longitude, float)


# -------------------------------------------------------------------------------------- no PII in repr


def _pii_of(envelope: dict[str, Any]) -> list[str]:
    """Every personal value the entry holds: numbers, ids, wamids, names, text, captions, titles."""
    entry = entry_of(envelope)
    found: list[str] = []
    for change in entry["changes"]:
        value = change["value"]
        for contact in value.get("contacts", []):
            found += [
                contact["profile"]["name"],
                *(contact.get(k) for k in ("wa_id", "user_id") if k in contact),
            ]
        for message in value.get("messages", []):
            found += [message[k] for k in ("id", "from", "from_user_id") if k in message]
            found += [message.get("context", {}).get("id")] if "id" in message.get("context", {}) else []
            body = message.get(message["type"])
            if isinstance(body, dict):
                found += [body[k] for k in ("body", "caption", "filename", "message_id") if k in body]
                for sub in ("list_reply", "button_reply"):
                    reply = body.get(sub, {})
                    found += [reply[k] for k in ("title", "description") if k in reply]
        for status in value.get("statuses", []):
            found += [status["id"], status.get("recipient_id")]
    return [s for s in found if isinstance(s, str)]


REPR_FILES = [
    (EUM, "message__text.json"),
    (EUM, "message__document.json"),
    (EUM, "message__reaction.json"),
    (EUM, "callback_button__button.json"),
    (EUM, "message_status__failed.json"),
    (EXTRA, "multi_messages_two_changes.json"),
    (EXTRA, "username_only_user.json"),
    (EXTRA, "message__list_reply.json"),
    (EXTRA, "message__video.json"),
    (EXTRA, "statuses_out_of_order.json"),
]


def test_repr_of_a_parsed_text_message_hides_number_wamid_name_and_body() -> None:
    message = only_message(eum("message__text.json"))

    for text in (repr(message), str(message), repr(message.user), repr(message.content)):
        assert "972987654321" not in text
        assert "wamid.xyzxyz" not in text
        assert "Test Name" not in text
        assert "Body Text" not in text
    assert "TEXT" in repr(message) or "text" in repr(message)


@pytest.mark.parametrize(("folder", "name"), REPR_FILES, ids=[n for _, n in REPR_FILES])
def test_repr_of_a_parsed_envelope_hides_every_personal_value(folder: Path, name: str) -> None:
    envelope = load(folder / name)
    personal = _pii_of(envelope)
    assert personal

    parsed = parse_envelope(envelope)
    text = repr(parsed)

    leaked = [value for value in personal if value in text]
    assert leaked == []


def test_repr_of_a_location_hides_the_coordinates() -> None:
    text = repr(only_message(eum("message__current_location.json")))

    assert "12.25089" not in text
    assert "43.90539" not in text
