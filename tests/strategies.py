"""Hypothesis strategies for End User Messaging Social payloads, for any property-based test to import.

What there is:

- ``envelopes()``: a valid envelope (entry as an object) with messages of every type and statuses, and what
  the parser must make of them, in order (``Generated.messages`` / ``.statuses``: id, kind, sender, question).
- ``wire_forms()`` and ``to_body()``: the ways an envelope reaches the parser (raw delivery or an SNS
  notification, ``Message`` and the entry as JSON strings or objects, str or bytes, escaped or raw non-ASCII).
- ``mutate()``: one to four edits anywhere in a payload tree: a field dropped, replaced by junk of any type
  (``junk()``: None, bools, huge integers, NaN and infinities, lone surrogates, deep nesting...), added, or
  repeated into a huge value.
- ``expected_outcomes()`` (also ``expected_for_body()``, ``expected_for_envelope()``): how many outcomes,
  parsed or skipped, an entry owes.
- Texts: ``plain_texts()`` (encodable), ``lone_surrogate_texts()``.

Profiles, loaded on import (``HYPOTHESIS_PROFILE``, default ``quick``):

- ``quick``: 100 examples a test, no deadline; under CI (``CI`` set) on top of Hypothesis' own ``ci`` profile,
  so derandomised and without an example database.
- ``long``: 5,000 examples a test, for a soak run: ``HYPOTHESIS_PROFILE=long .venv/bin/pytest ...``.

Locally Hypothesis keeps failing examples in ``.hypothesis/`` (not to be committed).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from assistant.models.domain import MessageKind

# ------------------------------------------------------------------------------------------------ profiles

_QUICK = settings(
    parent=settings(),  # Hypothesis' active profile: "ci" (derandomised, no database) when CI is set
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("quick", _QUICK)
settings.register_profile("long", parent=_QUICK, max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# ------------------------------------------------------------------------------------------------- texts

_SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
_SPLIT_PAIR = re.compile("([\ud800-\udbff])(?=[\udc00-\udfff])")


def plain_texts(min_size: int = 0, max_size: int = 20) -> st.SearchStrategy[str]:
    """Any text that encodes as UTF-8 (every code point but the surrogates)."""
    return st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)


def keep_lone(text: str) -> str:
    """Keep surrogates lone: a high one directly followed by a low one would be a pair (one character)."""
    return _SPLIT_PAIR.sub(r"\1x", text)


def lone_surrogate_texts(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text holding at least one lone UTF-16 surrogate (what JSON ``"\\ud83d"`` decodes to)."""
    return st.tuples(plain_texts(max_size=max_size), _SURROGATE, plain_texts(max_size=max_size)).map(
        lambda parts: keep_lone("".join(parts))
    ) | st.lists(st.one_of(_SURROGATE, st.characters(codec="utf-8")), min_size=1, max_size=max_size).map(
        lambda chars: keep_lone("".join(chars) + "\ud800")
    )


def surrogates_replaced(text: str) -> str:
    """What a lone-surrogate text must read as: U+FFFD for each surrogate (all lone, see ``keep_lone``)."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


# ---------------------------------------------------------------------------------------------------- ids

_DIGITS = "0123456789"
wa_ids = st.text(_DIGITS, min_size=8, max_size=15).map(lambda d: "1" + d)
user_ids = st.text(_DIGITS, min_size=1, max_size=20).map(lambda d: "US." + d)
meta_phone_ids = st.text(_DIGITS, min_size=15, max_size=15)
wamids = st.binary(min_size=1, max_size=40).map(lambda b: "wamid." + base64.b64encode(b).decode())
timestamps = st.integers(1_600_000_000, 2_000_000_000)
_SHA = st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())
_MEDIA_IDS = st.integers(1, 10**19).map(str)


# --------------------------------------------------------------------------------------- message contents

MESSAGE_TYPES = (
    "text",
    "audio",
    "image",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "interactive",
    "button",
    "order",
    "system",
    "request_welcome",
    "unsupported",
    "unknown",
)
_MIME = {
    "audio": ["audio/ogg; codecs=opus", "audio/mpeg", "audio/mp4", "audio/aac"],
    "image": ["image/jpeg", "image/png"],
    "video": ["video/mp4", "video/3gpp"],
    "document": ["application/pdf", "text/plain", "application/octet-stream"],
    "sticker": ["image/webp"],
}

Content = tuple[str, dict[str, Any], MessageKind, str | None]
"""(type, the message's fields for that type, the kind it must parse to, the question it asks if any)."""


def _optional(draw: st.DrawFn, body: dict[str, Any], key: str, values: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        body[key] = draw(values)


@st.composite
def _text(draw: st.DrawFn) -> Content:
    body = draw(plain_texts(max_size=60))
    return "text", {"text": {"body": body}}, MessageKind.TEXT, body


@st.composite
def _media(draw: st.DrawFn) -> Content:
    type_ = draw(st.sampled_from(sorted(_MIME)))
    body: dict[str, Any] = {
        "id": draw(_MEDIA_IDS),
        "mime_type": draw(st.sampled_from(_MIME[type_])),
        "sha256": draw(_SHA),
    }
    kind = MessageKind(type_)
    if type_ in ("image", "video", "document"):
        _optional(draw, body, "caption", plain_texts(min_size=1))
    if type_ == "document":
        _optional(draw, body, "filename", plain_texts(min_size=1).map(lambda n: n + ".pdf"))
    if type_ == "sticker":
        body["animated"] = draw(st.booleans())
    if type_ == "audio":
        voice = draw(st.booleans())
        if voice or draw(st.booleans()):
            body["voice"] = voice
        kind = MessageKind.VOICE if voice else MessageKind.AUDIO
    return type_, {type_: body}, kind, None


@st.composite
def _location(draw: st.DrawFn) -> Content:
    body: dict[str, Any] = {
        "latitude": draw(st.floats(-90, 90) | st.integers(-90, 90)),
        "longitude": draw(st.floats(-180, 180) | st.integers(-180, 180)),
    }
    _optional(draw, body, "name", plain_texts(min_size=1))
    _optional(draw, body, "address", plain_texts(min_size=1))
    _optional(draw, body, "url", st.just("https://example.com/place"))
    return "location", {"location": body}, MessageKind.LOCATION, None


_CARD = st.fixed_dictionaries(
    {"name": st.fixed_dictionaries({"formatted_name": plain_texts(min_size=1)})},
    optional={"phones": st.lists(st.fixed_dictionaries({"phone": wa_ids, "wa_id": wa_ids}), max_size=2)},
)


@st.composite
def _contacts(draw: st.DrawFn) -> Content:
    return "contacts", {"contacts": draw(st.lists(_CARD, max_size=4))}, MessageKind.CONTACTS, None


@st.composite
def _reaction(draw: st.DrawFn) -> Content:
    body: dict[str, Any] = {"message_id": draw(wamids)}
    _optional(draw, body, "emoji", st.sampled_from(["\N{THUMBS UP SIGN}", "\N{FACE WITH OPEN MOUTH}", ""]))
    return "reaction", {"reaction": body}, MessageKind.REACTION, None


@st.composite
def _interactive(draw: st.DrawFn) -> Content:
    sub = draw(st.sampled_from(["button_reply", "list_reply", "nfm_reply"]))
    if sub == "nfm_reply":
        reply: dict[str, Any] = {"response_json": '{"flow_token": "t"}', "body": "Sent", "name": "flow"}
    else:
        reply = {"id": draw(plain_texts(min_size=1)), "title": draw(plain_texts(min_size=1))}
        if sub == "list_reply":
            _optional(draw, reply, "description", plain_texts(min_size=1))
    return (
        "interactive",
        {"interactive": {"type": sub, sub: reply}},
        MessageKind.INTERACTIVE,
        reply.get("title"),
    )


@st.composite
def _button(draw: st.DrawFn) -> Content:
    body = {"payload": draw(plain_texts(min_size=1)), "text": draw(plain_texts(min_size=1))}
    return "button", {"button": body}, MessageKind.BUTTON, body["text"]


@st.composite
def _no_question(draw: st.DrawFn) -> Content:
    type_ = draw(st.sampled_from(["order", "system", "request_welcome"]))
    bodies: dict[str, dict[str, Any]] = {
        "order": {
            "order": {
                "catalog_id": draw(_MEDIA_IDS),
                "text": draw(plain_texts()),
                "product_items": [{"product_retailer_id": "day-pass", "quantity": 2, "currency": "USD"}],
            }
        },
        "system": {
            "system": {"body": draw(plain_texts()), "wa_id": draw(wa_ids), "type": "user_changed_number"}
        },
        "request_welcome": {},
    }
    return type_, bodies[type_], MessageKind(type_), None


_ERRORS = st.lists(
    st.fixed_dictionaries(
        {"code": st.sampled_from([131051, 131000, 130472])},
        optional={"title": plain_texts(), "error_data": st.just({"details": "Message type unknown"})},
    ),
    max_size=2,
)


@st.composite
def _unsupported(draw: st.DrawFn) -> Content:
    type_ = draw(st.sampled_from(["unsupported", "unknown"]) | plain_texts(min_size=1))
    if type_ in MESSAGE_TYPES and type_ not in ("unsupported", "unknown"):
        type_ = "unknown"
    fields: dict[str, Any] = {}
    _optional(draw, fields, "errors", _ERRORS)
    return type_, fields, MessageKind.UNSUPPORTED, None


def message_contents() -> st.SearchStrategy[Content]:
    """The type-specific part of a valid message of any type, and the kind it must parse to."""
    return st.one_of(
        _text(),
        _media(),
        _location(),
        _contacts(),
        _reaction(),
        _interactive(),
        _button(),
        _no_question(),
        _unsupported(),
    )


# ------------------------------------------------------------------------------ messages, statuses, entry


@dataclass(frozen=True)
class Sender:
    wa_id: str | None
    user_id: str

    @property
    def identity(self) -> str:
        return self.wa_id or self.user_id

    def contact(self, name: str) -> dict[str, Any]:
        card: dict[str, Any] = {"profile": {"name": name}, "user_id": self.user_id}
        if self.wa_id:
            card["wa_id"] = self.wa_id
        return card


@dataclass(frozen=True)
class Expected:
    """What the parser must make of one generated message or status."""

    message_id: str
    kind: MessageKind | None = None
    identity: str | None = None
    question: str | None = None
    status: str | None = None


@dataclass
class Generated:
    """A valid envelope (entry as an object) and, in order, what its messages and statuses must parse to."""

    envelope: dict[str, Any]
    messages: list[Expected] = field(default_factory=list)
    statuses: list[Expected] = field(default_factory=list)


@st.composite
def senders(draw: st.DrawFn, max_size: int = 3) -> list[Sender]:
    """Distinct users (no two share an id); some have a business-scoped id only."""
    count = draw(st.integers(1, max_size))
    phones = draw(st.lists(wa_ids, min_size=count, max_size=count, unique=True))
    users = draw(st.lists(user_ids, min_size=count, max_size=count, unique=True))
    return [
        Sender(phone if draw(st.booleans()) or i == 0 else None, user)
        for i, (phone, user) in enumerate(zip(phones, users, strict=True))
    ]


@st.composite
def _message(draw: st.DrawFn, people: list[Sender], business: str) -> tuple[dict[str, Any], Expected]:
    sender = draw(st.sampled_from(people))
    type_, fields, kind, question = draw(message_contents())
    message: dict[str, Any] = {
        "id": draw(wamids),
        "timestamp": str(draw(timestamps)),
        "type": type_,
        **fields,
    }
    # Who sent it: "from" (a wa_id) and/or "from_user_id"; with a single contact, possibly neither.
    naming = draw(st.sampled_from(["from", "both", "user", "nobody"]))
    if naming == "nobody" and len(people) > 1:
        naming = "user"
    if sender.wa_id is None and naming in ("from", "both"):
        naming = "user"
    if naming in ("from", "both"):
        message["from"] = sender.wa_id
    if naming in ("both", "user"):
        message["from_user_id"] = sender.user_id
    if type_ in ("unsupported", "unknown") and "errors" not in message and draw(st.booleans()):
        message["errors"] = [{"code": 131051}]
    quote = draw(st.sampled_from([None, "reply", "forwarded"]))
    if quote == "reply":
        message["context"] = {"from": business, "id": draw(wamids)}
    elif quote == "forwarded":
        message["context"] = {draw(st.sampled_from(["forwarded", "frequently_forwarded"])): True}
    return message, Expected(message["id"], kind=kind, identity=sender.identity, question=question)


_STATUS_NAMES = ["sent", "delivered", "read", "failed", "played", "deleted", "warning", "accepted", "READ"]


@st.composite
def _status(draw: st.DrawFn, people: list[Sender]) -> tuple[dict[str, Any], Expected]:
    name = draw(st.sampled_from(_STATUS_NAMES))
    status: dict[str, Any] = {
        "id": draw(wamids),
        "status": name,
        "timestamp": str(draw(timestamps)),
        "recipient_id": draw(st.sampled_from(people)).identity,
    }
    if draw(st.booleans()):
        status["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
        status["conversation"] = {"id": "c0ffee", "origin": {"type": "service"}}
    if name == "failed":
        status["errors"] = draw(_ERRORS)
    _optional(draw, status, "biz_opaque_callback_data", plain_texts(min_size=1))
    return status, Expected(message_id=status["id"], status=name.lower())


@st.composite
def _change(
    draw: st.DrawFn, phone_id: str, max_items: int
) -> tuple[dict[str, Any], list[Expected], list[Expected]]:
    business = draw(wa_ids)
    people = draw(senders())
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": business, "phone_number_id": phone_id},
    }
    # Real changes carry messages or statuses; the parser reads both when both are there.
    has = draw(st.sampled_from(["messages", "statuses", "both"]))
    messages: list[tuple[dict[str, Any], Expected]] = []
    statuses: list[tuple[dict[str, Any], Expected]] = []
    if has in ("messages", "both"):
        value["contacts"] = [p.contact(draw(plain_texts(min_size=1))) for p in people]
        messages = draw(st.lists(_message(people, business), min_size=1, max_size=max_items))
        value["messages"] = [m for m, _ in messages]
    if has in ("statuses", "both"):
        statuses = draw(st.lists(_status(people), min_size=1, max_size=max_items))
        value["statuses"] = [s for s, _ in statuses]
    change = {"field": "messages", "value": value}
    return change, [e for _, e in messages], [e for _, e in statuses]


ACCOUNT = "123456789012"


@st.composite
def envelopes(draw: st.DrawFn, max_changes: int = 2, max_items: int = 3) -> Generated:
    """A valid envelope: one to ``max_changes`` changes, each routed to one of the (one to three) numbers
    of its context and holding up to ``max_items`` messages, statuses, or both."""
    phone_ids = draw(st.lists(meta_phone_ids, min_size=1, max_size=3, unique=True))
    resource = st.binary(min_size=16, max_size=16).map(bytes.hex)
    resources = draw(st.lists(resource, min_size=len(phone_ids), max_size=len(phone_ids)))
    numbers = [
        {"metaPhoneNumberId": p, "arn": f"arn:aws:social-messaging:us-east-1:{ACCOUNT}:phone-number-id/{r}"}
        for p, r in zip(phone_ids, resources, strict=True)
    ]
    generated = Generated(envelope={})
    changes = []
    for _ in range(draw(st.integers(1, max_changes))):
        change, messages, statuses = draw(_change(draw(st.sampled_from(phone_ids)), max_items))
        changes.append(change)
        generated.messages += messages
        generated.statuses += statuses
    entry = {"id": draw(meta_phone_ids), "changes": changes}
    generated.envelope = {
        "context": {
            "MetaWabaIds": [
                {"wabaId": entry["id"], "arn": f"arn:aws:social-messaging:us-east-1:{ACCOUNT}:waba/1"}
            ],
            "MetaPhoneNumberIds": numbers,
        },
        "whatsAppWebhookEntry": entry,
        "aws_account_id": ACCOUNT,
        "message_timestamp": "2026-11-11T02:24:28.476795989Z",
    }
    return generated


# ------------------------------------------------------------------------------------ junk and mutations


@dataclass(frozen=True)
class Raw:
    """JSON text spliced in as it is when a payload is serialised: what ``json.dumps`` cannot write.

    As a Python value (``parse_envelope`` given objects) it is ``value``.
    """

    text: str
    value: Any


@dataclass(frozen=True)
class Deep:
    """``depth`` nested JSON arrays: ``[[[...]]]``. Thousands of levels are beyond ``json.loads``."""

    depth: int

    @property
    def text(self) -> str:
        return "[" * self.depth + "]" * self.depth

    @property
    def value(self) -> list[Any]:
        nested: list[Any] = []
        for _ in range(self.depth - 1):
            nested = [nested]
        return nested


FIELD_NAMES = (
    "id",
    "from",
    "from_user_id",
    "timestamp",
    "type",
    "body",
    "context",
    "forwarded",
    "messages",
    "statuses",
    "status",
    "contacts",
    "changes",
    "value",
    "metadata",
    "phone_number_id",
    "wa_id",
    "user_id",
    "errors",
    "code",
    "latitude",
    "longitude",
    "title",
    "description",
    "payload",
    "message_id",
    "emoji",
    "mime_type",
    "voice",
    "button_reply",
    "list_reply",
    "whatsAppWebhookEntry",
    "MetaPhoneNumberIds",
    "metaPhoneNumberId",
    "arn",
    "Type",
    "Message",
    *MESSAGE_TYPES,
)

_JSON_TOKENS = [
    Raw("1e400", float("inf")),
    Raw("-1e400", float("-inf")),
    Raw("NaN", float("nan")),
    Raw("-Infinity", float("-inf")),
    Raw("1" + "0" * 400, 10**400),
]
# Depths well inside json.loads' reach (the parser then holds deep values) or far beyond it: never near its
# limit, where the outcome would depend on the stack depth the parser happens to be called at.
_DEPTHS = [1, 2, 300, 3000, 20_000]

DANGEROUS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    10**400,
    -(10**400),
    2**63,
    -(2**63) - 1,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    5e-324,
    "",
    " ",
    "0",
    "1e400",
    "NaN",
    "1" * 5000,
    "\x00",
    "\ud83d",
    "a\udc00b",
    "x" * 100_000,
    [],
    {},
    [None],
    [{}] * 1000,
    {"id": None},
    *_JSON_TOKENS,
    Deep(300),
    Deep(3000),
]
"""Values known to break parsers: wrong types, numbers that overflow a float or have no float, lone
surrogates, huge strings and lists, deep nesting, numbers only JSON text can write (``Raw``)."""

BEYOND_STR = 10**5000
"""An integer ``str()`` refuses (over 4,300 digits): only a caller handing objects can pass one."""


def junk(*, objects: bool = False) -> st.SearchStrategy[Any]:
    """A JSON value of any type, meant to go where something else was expected: one of ``DANGEROUS`` half the
    time, else anything (scalars, small lists and objects of them, deep nesting).

    With ``objects`` (for ``parse_envelope`` given Python objects): also ``BEYOND_STR``.
    """
    keys = st.sampled_from(FIELD_NAMES) | lone_surrogate_texts(max_size=3)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        plain_texts(),
        lone_surrogate_texts(),
        st.sampled_from(FIELD_NAMES),
    )
    anything = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=6,
    )
    # A copy: an edit may later change a list or object in place.
    dangerous = st.sampled_from([*DANGEROUS, BEYOND_STR] if objects else DANGEROUS).map(copy.deepcopy)
    return st.one_of(dangerous, anything | st.sampled_from(_DEPTHS).map(Deep))


def json_slots(tree: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) of a JSON tree, parents before children."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                yield node, key
                stack.append(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield node, index
                stack.append(child)


@st.composite
def mutate(draw: st.DrawFn, tree: dict[str, Any], *, objects: bool = False, max_edits: int = 4) -> list[str]:
    """Edit ``tree`` in place, one to ``max_edits`` times; returns what was done (for the report).

    An edit drops a field or item, replaces it by ``junk()``, adds a field or item, or (once at most) makes
    it huge: a string or list repeated up to 2,000 times, or anything else put in a list that many times.
    """
    done: list[str] = []
    for _ in range(draw(st.integers(1, max_edits))):
        slots = list(json_slots(tree))
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        edits = ["drop", "replace", "replace", "add"] + (
            [] if any(d.startswith("repeat") for d in done) else ["repeat"]
        )
        edit = draw(st.sampled_from(edits))
        if edit == "drop":
            del container[key]
        elif edit == "replace":
            container[key] = draw(junk(objects=objects))
        elif edit == "add":
            if isinstance(container, dict):
                container[draw(st.sampled_from(FIELD_NAMES))] = draw(junk(objects=objects))
            else:
                container.insert(key, draw(junk(objects=objects)))
        else:
            value = container[key]
            times = draw(st.integers(2, 2000))
            if isinstance(value, str | list):  # at most about 200,000 characters or 20,000 items
                cap = (200_000 if isinstance(value, str) else 20_000) // max(1, len(value))
                container[key] = value * max(2, min(times, cap))
            else:
                container[key] = [value] * times
        done.append(f"{edit} {key!r}")
    return done


# ---------------------------------------------------------------------------------------------- the wire


@dataclass(frozen=True)
class Wire:
    """How an envelope reaches the parser."""

    sns: bool
    """An SNS notification (a subscription without raw delivery); else the envelope itself."""
    message_as_string: bool
    """The notification's ``Message`` as a JSON string (as SNS does), else the object."""
    entry_as_string: bool
    """``whatsAppWebhookEntry`` as a JSON string (as End User Messaging does), else the object."""
    as_bytes: bool
    ensure_ascii: bool
    """Non-ASCII characters as ``\\u`` escapes (surrogates included), else as they are."""


def wire_forms() -> st.SearchStrategy[Wire]:
    return st.builds(Wire, st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans())


def sns_wrap(envelope: Any) -> dict[str, Any]:
    """The SNS notification around an envelope (before serialisation: ``Message`` is still the object)."""
    return {
        "Type": "Notification",
        "MessageId": "0d2b6c0e-1111-4b8a-9c52-000000000001",
        "TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:eum-inbound",
        "Message": envelope,
        "Timestamp": "2026-11-11T02:24:28.512Z",
        "SignatureVersion": "1",
    }


def payload_tree(envelope: dict[str, Any], wire: Wire) -> dict[str, Any]:
    """The tree of the whole SQS body, before serialisation: what ``mutate`` edits."""
    return sns_wrap(envelope) if wire.sns else envelope


def dumps(value: Any, *, ensure_ascii: bool = True) -> str:
    """JSON text like ``json.dumps`` (NaN and infinities allowed), splicing ``Raw`` and ``Deep`` text in."""
    spliced: list[str] = []

    def mark(raw: Any) -> str:
        if not isinstance(raw, Raw | Deep):
            raise TypeError(f"not JSON: {type(raw).__name__}")
        spliced.append(raw.text)
        return f"\x00\x01splice {len(spliced) - 1}\x01\x00"  # json.dumps always escapes control characters

    text = json.dumps(value, ensure_ascii=ensure_ascii, default=mark)
    if not spliced:
        return text
    return re.sub(r'"\\u0000\\u0001splice (\d+)\\u0001\\u0000"', lambda m: spliced[int(m.group(1))], text)


def envelope_in(tree: Any) -> Any:
    """Where the envelope is in a (possibly edited) body tree, by the parser's own rule."""
    if isinstance(tree, dict) and tree.get("Type") == "Notification" and "Message" in tree:
        return tree["Message"]
    return tree


def to_body(tree: dict[str, Any], wire: Wire) -> str | bytes:
    """The SQS body: nested strings serialised innermost first, as End User Messaging and SNS do."""

    def with_entry_text(envelope: Any) -> Any:
        entry = envelope.get("whatsAppWebhookEntry") if isinstance(envelope, dict) else None
        if wire.entry_as_string and isinstance(entry, dict):
            return {**envelope, "whatsAppWebhookEntry": dumps(entry, ensure_ascii=wire.ensure_ascii)}
        return envelope

    envelope = envelope_in(tree)
    if envelope is tree:
        tree = with_entry_text(tree)
    else:
        message = with_entry_text(envelope)
        if wire.message_as_string and isinstance(message, dict):
            message = dumps(message, ensure_ascii=wire.ensure_ascii)
        tree = {**tree, "Message": message}
    body = dumps(tree, ensure_ascii=wire.ensure_ascii)
    # "surrogatepass": a raw lone surrogate becomes bytes that are not UTF-8, which the parser must refuse.
    return body.encode("utf-8", "surrogatepass") if wire.as_bytes else body


def as_objects(value: Any) -> Any:
    """The Python value of a tree, as ``json.loads`` would give it (``Raw`` and ``Deep`` resolved)."""
    if isinstance(value, Raw | Deep):
        return value.value
    if isinstance(value, dict):
        return {k: as_objects(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_objects(v) for v in value]
    return value


def has_surrogate(value: Any) -> bool:
    """Whether any string of a tree (key or value) holds a surrogate."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and re.search("[\ud800-\udfff]", node):
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


# -------------------------------------------------------------------------------------- the count invariant


def _as_json(value: Any) -> Any:
    """What the parser sees for a tree value once decoded (``Deep`` is a list; a ``Raw`` token a number)."""
    if isinstance(value, Deep):
        return [Deep(value.depth - 1)] if value.depth > 1 else []
    if isinstance(value, Raw):
        return value.value
    return value


def expected_for_body(tree: Any) -> int | None:
    """``expected_outcomes`` of the entry a whole body tree carries; None if the parser cannot reach one."""
    envelope = _as_json(envelope_in(tree))
    if isinstance(envelope, str):
        try:
            envelope = json.loads(envelope)
        except (ValueError, RecursionError):
            return None
    return expected_for_envelope(envelope)


def expected_for_envelope(envelope: Any) -> int | None:
    """``expected_outcomes`` of an envelope's entry; None without one."""
    if not isinstance(envelope, dict) or "whatsAppWebhookEntry" not in envelope:
        return None
    return expected_outcomes(envelope["whatsAppWebhookEntry"])


def expected_outcomes(entry: Any) -> int | None:
    """How many outcomes (a parsed message or status, or one ``skipped``) an entry owes; None if unreadable.

    The rule: a change that is not an object, or whose ``value`` is not an object, is one broken item. In a
    change whose value is an object, each item of ``messages`` and of ``statuses`` is one; either field,
    when present but not a list (null included), is one broken item; absent, none.
    """
    entry = _as_json(entry)
    if isinstance(entry, str):
        try:
            entry = json.loads(entry)
        except (ValueError, RecursionError):
            return None
    if not isinstance(entry, dict) or not isinstance(_as_json(entry.get("changes")), list):
        return None
    owed = 0
    for change in _as_json(entry["changes"]):
        change = _as_json(change)
        value = _as_json(change.get("value")) if isinstance(change, dict) else None
        if not isinstance(value, dict):
            owed += 1
            continue
        for key in ("messages", "statuses"):
            if key in value:
                items = _as_json(value[key])
                owed += len(items) if isinstance(items, list) else 1
    return owed
