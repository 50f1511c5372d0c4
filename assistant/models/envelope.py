"""The one parser of the End User Messaging Social envelope.

SQS body -> (SNS notification, unless raw delivery) -> envelope -> ``whatsAppWebhookEntry`` (a JSON string
holding one Meta webhook entry) -> ``changes[].value.messages[] / statuses[]``. Every change, message and
status is read. An unknown message type becomes ``MessageKind.UNSUPPORTED``, never an exception; a message
missing a field it cannot do without is skipped and counted, and the rest of the entry still goes through.
Only an envelope that cannot be read at all raises ``MalformedPayload``; whatever the payload, nothing else
is raised (MemoryError aside). Every message and status of a readable change gets exactly one outcome: parsed,
or counted in ``Envelope.skipped``. Every string returned encodes as UTF-8 (see ``_clean``).

Plain ``json`` and dataclasses rather than pydantic: this runs on the latency-critical inbound path,
where import time is cold-start time (see the README's benchmark).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from assistant.errors import MalformedPayload
from assistant.models.domain import (
    Choice,
    Content,
    Envelope,
    InboundMessage,
    Location,
    Media,
    MessageKind,
    Probe,
    Reaction,
    Route,
    SharedContacts,
    StatusEvent,
    Text,
    Unsupported,
    User,
)

JsonObject = dict[str, Any]
_MEDIA_KINDS = {"audio", "image", "video", "document", "sticker"}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _decode(raw: Any, what: str) -> JsonObject:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, bytes):
        # Decoded here, strictly: json.loads would guess UTF-16/32 from the first bytes and decode with
        # "surrogatepass", letting encoded lone surrogates through.
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPayload(f"{what} is not UTF-8") from None
    if not isinstance(raw, str):
        raise MalformedPayload(f"{what} is neither an object nor a JSON string")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedPayload(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not a JSON object")
    return value


def unwrap_sqs_body(body: str | bytes) -> JsonObject:
    """Return the envelope an SQS message body carries, with or without SNS raw delivery."""
    outer = _decode(body, "SQS body")
    if outer.get("Type") == "Notification" and "Message" in outer:
        return _decode(outer["Message"], "SNS Message")
    return outer


def parse_sqs_body(body: str | bytes) -> Envelope:
    return parse_envelope(unwrap_sqs_body(body))


def _routes(envelope: Mapping[str, Any]) -> dict[str, str]:
    """Meta phone number id -> End User Messaging phone number id, from the envelope's context."""
    context = envelope.get("context")
    routes: dict[str, str] = {}
    if not isinstance(context, dict):
        return routes
    for item in _list(context.get("MetaPhoneNumberIds")):
        if not isinstance(item, dict):
            continue
        arn, meta_id = _str(item.get("arn")), _key(item.get("metaPhoneNumberId"))
        if arn and meta_id:
            # arn:aws:social-messaging:<region>:<acct>:phone-number-id/<id> -> phone-number-id-<id>
            routes[meta_id] = arn.split(":")[-1].replace("/", "-")
    return routes


_PROBE_ID = re.compile(r"[A-Za-z0-9-]{8,64}")
_PROBE_TO = re.compile(r"[0-9]{6,15}")


def _probe(envelope: Mapping[str, Any]) -> Probe | None:
    """``assistant doctor``'s mark (``{"assistantProbe": {"id": ..., "to": NUMBER}}``); a dry run unless it
    names a well-formed number to answer, so that a malformed mark never makes a message go out."""
    raw = envelope.get("assistantProbe")
    if not isinstance(raw, dict):
        return None
    probe_id = raw.get("id")
    if not isinstance(probe_id, str) or not _PROBE_ID.fullmatch(probe_id):
        return None
    to = raw.get("to")
    return Probe(probe_id=probe_id, to=to if isinstance(to, str) and _PROBE_TO.fullmatch(to) else None)


def parse_envelope(envelope: Mapping[str, Any]) -> Envelope:
    """Parse one envelope (what SNS carries as ``Message``) into domain objects."""
    if not isinstance(envelope, dict | Mapping):  # dict first: the common case skips the ABC check
        raise MalformedPayload("envelope is not an object")
    if "whatsAppWebhookEntry" not in envelope:
        raise MalformedPayload("envelope has no whatsAppWebhookEntry")
    entry = _decode(envelope["whatsAppWebhookEntry"], "whatsAppWebhookEntry")
    changes = entry.get("changes")
    if not isinstance(changes, list):
        raise MalformedPayload("webhook entry has no changes list")
    routes = _routes(envelope)

    messages: list[InboundMessage] = []
    statuses: list[StatusEvent] = []
    skipped = 0
    for change in changes:
        value = change.get("value") if isinstance(change, dict) else None
        if not isinstance(value, dict):
            skipped += 1
            continue
        metadata = _object(value.get("metadata"))
        meta_phone_id = _key(metadata.get("phone_number_id"))
        origination = routes.get(meta_phone_id)
        if origination is None and len(routes) == 1:
            # A context with a single number whose Meta id is spelled differently (redacted captures).
            origination = next(iter(routes.values()))
        raw_messages, raw_statuses = value.get("messages", []), value.get("statuses", [])
        # A messages or statuses field that is there but is not a list is one broken item: counted, not lost.
        if not isinstance(raw_messages, list):
            raw_messages, skipped = [], skipped + 1
        if not isinstance(raw_statuses, list):
            raw_statuses, skipped = [], skipped + 1
        if origination is None:
            skipped += len(raw_messages) + len(raw_statuses)
            continue
        route = Route(origination_phone_number_id=origination, meta_phone_number_id=meta_phone_id)
        contacts = _Contacts(value.get("contacts"))
        for raw in raw_messages:
            message = _parse_message(raw, route, contacts)
            if message is None:
                skipped += 1
            else:
                messages.append(message)
        for raw in raw_statuses:
            status = _parse_status(raw, route)
            if status is None:
                skipped += 1
            else:
                statuses.append(status)
    probe = _probe(envelope)
    if probe is not None:
        messages = [replace(message, probe=probe) for message in messages]
    return Envelope(messages=tuple(messages), statuses=tuple(statuses), skipped=skipped)


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _clean(text: str) -> str:
    """``text`` made encodable as UTF-8: each lone UTF-16 surrogate becomes U+FFFD.

    JSON can escape a lone surrogate (``"\\ud83d"``) and ``json.loads`` keeps it in the str; such a str
    cannot be encoded, so the SNS publish or the WhatsApp send would raise far from here. Every string the
    parser returns goes through this, at the boundary. A split pair (two code points) is joined back.
    """
    if text.isascii():  # O(1) in CPython: the common case costs one call
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _str(value: Any) -> str | None:
    """A non-empty string, cleaned; anything else is absent.

    Ids too (``id``, ``from``, ``context.id``...): an id is echoed back to WhatsApp (read receipt, quoted
    reply) and published to SNS, so it must be valid UTF-8 JSON. No real wamid or phone number holds a
    surrogate (they are ASCII), so two bogus ids that differ only in their lone surrogates may clean to the
    same id; at worst one of two such messages is taken for a redelivery.
    """
    return _clean(value) if isinstance(value, str) and value else None


def _key(value: Any) -> str:
    """A phone number id, which may come as a JSON number: a string, "" when unusable."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # more digits than int -> str allows (sys.set_int_max_str_digits)
            return ""
    return ""


def _int(value: Any) -> int | None:
    """A timestamp or an error code: an integer that fits in 64 bits (a string of digits, a JSON number)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    # Beyond 64 bits no store takes it, and past 4,300 digits even str() raises.
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _coordinate(value: Any) -> float | None:
    """A finite float from a JSON number; an integer of 400 digits, NaN or infinity is not a coordinate."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _error_codes(raw: Any) -> tuple[int, ...]:
    codes = []
    for err in _list(raw):
        code = _int(err.get("code")) if isinstance(err, dict) else None
        if code is not None:
            codes.append(code)
    return tuple(codes)


_Ids = tuple[str | None, str | None]
"""(wa_id, user_id)"""
_ANY = object()


class _Contacts:
    """The contacts of a change, indexed once, so that each message finds its sender's in constant time.

    A contact completes a sender who names only one of their ids, or none (then it must be the only
    contact): the first contact listed with that id. (A loop over the contacts for each message is
    quadratic: 10,000 of each, 200 KB, took 13 s.)
    """

    __slots__ = ("_first", "_ids")

    def __init__(self, raw: Any) -> None:
        self._ids: list[_Ids] = []
        self._first: dict[tuple[object, object], int] = {}  # (wa_id, _ANY) or (_ANY, user_id) -> first index
        for contact in _list(raw):
            if isinstance(contact, dict):
                wa_id, user_id = _str(contact.get("wa_id")), _str(contact.get("user_id"))
                self._first.setdefault((wa_id, _ANY), len(self._ids))
                self._first.setdefault((_ANY, user_id), len(self._ids))
                self._ids.append((wa_id, user_id))

    def complete(self, wa_id: str | None, user_id: str | None) -> _Ids:
        """The sender's ids, the missing one taken from their contact when there is one."""
        if wa_id is None and user_id is None:
            return self._ids[0] if len(self._ids) == 1 else (None, None)
        if wa_id is None:
            found = self._first.get((_ANY, user_id))
            return (None, user_id) if found is None else (self._ids[found][0], user_id)
        if user_id is None:
            found = self._first.get((wa_id, _ANY))
            return (wa_id, None) if found is None else (wa_id, self._ids[found][1])
        return wa_id, user_id  # both known: a contact has nothing to add


def _sender(raw: JsonObject, contacts: _Contacts) -> User | None:
    wa_id, user_id = contacts.complete(_str(raw.get("from")), _str(raw.get("from_user_id")))
    if not wa_id and not user_id:
        return None
    return User(wa_id=wa_id, user_id=user_id)


def _parse_message(raw: Any, route: Route, contacts: _Contacts) -> InboundMessage | None:
    if not isinstance(raw, dict):
        return None
    message_id = _str(raw.get("id"))
    user = _sender(raw, contacts)
    timestamp = _int(raw.get("timestamp"))
    if message_id is None or user is None or timestamp is None:
        return None
    type_ = _str(raw.get("type")) or "unknown"
    kind, content = _content(type_, raw)
    context = _object(raw.get("context"))
    return InboundMessage(
        message_id=message_id,
        user=user,
        route=route,
        timestamp=timestamp,
        kind=kind,
        content=content,
        quoted_message_id=_str(context.get("id")),
        forwarded=bool(context.get("forwarded") or context.get("frequently_forwarded")),
    )


def _content(type_: str, raw: JsonObject) -> tuple[MessageKind, Content]:
    body = raw.get(type_)
    body = body if isinstance(body, dict) else {}
    if type_ == "text":
        text = body.get("body")
        if isinstance(text, str):
            return MessageKind.TEXT, Text(_clean(text))
    elif type_ in _MEDIA_KINDS:
        media_id, mime = _str(body.get("id")), _str(body.get("mime_type"))
        if media_id and mime:
            voice = type_ == "audio" and bool(body.get("voice"))
            media = Media(
                media_id=media_id,
                mime_type=mime,
                sha256=_str(body.get("sha256")),
                caption=_str(body.get("caption")),
                filename=_str(body.get("filename")),
                voice=voice,
                animated=bool(body.get("animated")),
            )
            return (MessageKind.VOICE if voice else MessageKind(type_)), media
    elif type_ == "location":
        lat, lon = _coordinate(body.get("latitude")), _coordinate(body.get("longitude"))
        if lat is not None and lon is not None:
            return MessageKind.LOCATION, Location(lat, lon, _str(body.get("name")), _str(body.get("address")))
    elif type_ == "contacts":
        shared = raw.get("contacts")
        if isinstance(shared, list):
            return MessageKind.CONTACTS, SharedContacts(count=len(shared))
    elif type_ == "reaction":
        target = _str(body.get("message_id"))
        if target:
            return MessageKind.REACTION, Reaction(message_id=target, emoji=_str(body.get("emoji")))
    elif type_ == "interactive":
        sub = _str(body.get("type"))
        reply = _object(body.get(sub)) if sub in ("button_reply", "list_reply") else {}
        title = _str(reply.get("title"))
        if title:
            return MessageKind.INTERACTIVE, Choice(
                choice_id=_str(reply.get("id")), title=title, description=_str(reply.get("description"))
            )
        return MessageKind.INTERACTIVE, Unsupported(original_type=f"interactive.{sub or 'unknown'}")
    elif type_ == "button":
        title = _str(body.get("text"))
        if title:
            return MessageKind.BUTTON, Choice(choice_id=_str(body.get("payload")), title=title)
    elif type_ in ("order", "system", "request_welcome"):
        return MessageKind(type_), None
    # "unsupported", "unknown", a type Meta adds tomorrow, or a known type with a broken body.
    return MessageKind.UNSUPPORTED, Unsupported(
        original_type=type_, error_codes=_error_codes(raw.get("errors"))
    )


def _parse_status(raw: Any, route: Route) -> StatusEvent | None:
    if not isinstance(raw, dict):
        return None
    message_id, status, timestamp = _str(raw.get("id")), _str(raw.get("status")), _int(raw.get("timestamp"))
    if message_id is None or status is None or timestamp is None:
        return None
    pricing = _object(raw.get("pricing"))
    return StatusEvent(
        message_id=message_id,
        status=status.lower(),
        timestamp=timestamp,
        route=route,
        error_codes=_error_codes(raw.get("errors")),
        pricing_category=_str(pricing.get("category")),
        callback_data=_str(raw.get("biz_opaque_callback_data")),
    )
