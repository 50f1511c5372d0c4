"""The one parser of the End User Messaging Social envelope.

SQS body -> (SNS notification, unless raw delivery) -> envelope -> ``whatsAppWebhookEntry`` (a JSON string
holding one Meta webhook entry) -> ``changes[].value.messages[] / statuses[]``. Every change, message and
status is read. An unknown message type becomes ``MessageKind.UNSUPPORTED``, never an exception; a message
missing a field it cannot do without is skipped and counted, and the rest of the entry still goes through.
Only an envelope that cannot be read at all raises ``MalformedPayload``.

Plain ``json`` and dataclasses rather than pydantic: this runs on the latency-critical inbound path,
where import time is cold-start time (see the README's benchmark).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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


def _decode(raw: Any, what: str) -> JsonObject:
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str | bytes):
        raise MalformedPayload(f"{what} is neither an object nor a JSON string")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedPayload(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedPayload(f"{what} is not a JSON object")
    return value


def unwrap_sqs_body(body: str) -> JsonObject:
    """Return the envelope an SQS message body carries, with or without SNS raw delivery."""
    outer = _decode(body, "SQS body")
    if outer.get("Type") == "Notification" and "Message" in outer:
        return _decode(outer["Message"], "SNS Message")
    return outer


def parse_sqs_body(body: str) -> Envelope:
    return parse_envelope(unwrap_sqs_body(body))


def _routes(envelope: Mapping[str, Any]) -> dict[str, str]:
    """Meta phone number id -> End User Messaging phone number id, from the envelope's context."""
    context = envelope.get("context")
    routes: dict[str, str] = {}
    if not isinstance(context, dict):
        return routes
    for item in _list(context.get("MetaPhoneNumberIds")):
        if isinstance(item, dict) and isinstance(item.get("arn"), str) and item.get("metaPhoneNumberId"):
            # arn:aws:social-messaging:<region>:<acct>:phone-number-id/<id> -> phone-number-id-<id>
            routes[str(item["metaPhoneNumberId"])] = item["arn"].split(":")[-1].replace("/", "-")
    return routes


def parse_envelope(envelope: Mapping[str, Any]) -> Envelope:
    """Parse one envelope (what SNS carries as ``Message``) into domain objects."""
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
        meta_phone_id = str(metadata.get("phone_number_id") or "")
        origination = routes.get(meta_phone_id)
        if origination is None and len(routes) == 1:
            # A context with a single number whose Meta id is spelled differently (redacted captures).
            origination = next(iter(routes.values()))
        raw_messages, raw_statuses = _list(value.get("messages")), _list(value.get("statuses"))
        items = raw_messages + raw_statuses
        if origination is None:
            skipped += len(items)
            continue
        route = Route(origination_phone_number_id=origination, meta_phone_number_id=meta_phone_id)
        contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
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
    return Envelope(messages=tuple(messages), statuses=tuple(statuses), skipped=skipped)


def _object(value: Any) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _error_codes(raw: Any) -> tuple[int, ...]:
    codes = []
    for err in _list(raw):
        code = _int(err.get("code")) if isinstance(err, dict) else None
        if code is not None:
            codes.append(code)
    return tuple(codes)


def _sender(raw: JsonObject, contacts: list[JsonObject]) -> User | None:
    wa_id = _str(raw.get("from"))
    user_id = _str(raw.get("from_user_id"))
    for contact in contacts:
        c_wa, c_user = _str(contact.get("wa_id")), _str(contact.get("user_id"))
        named = (wa_id is not None and c_wa == wa_id) or (user_id is not None and c_user == user_id)
        # A contact completes the sender only when it names the sender (or is the only one and the message
        # names nobody); a contact that contradicts the sender's own id is someone else.
        anonymous = wa_id is None and user_id is None and len(contacts) == 1
        if (
            (named or anonymous)
            and (wa_id is None or c_wa in (None, wa_id))
            and (user_id is None or c_user in (None, user_id))
        ):
            wa_id = wa_id or c_wa
            user_id = user_id or c_user
            break
    if not wa_id and not user_id:
        return None
    return User(wa_id=wa_id, user_id=user_id)


def _parse_message(raw: Any, route: Route, contacts: list[JsonObject]) -> InboundMessage | None:
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
            return MessageKind.TEXT, Text(text)
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
        lat, lon = body.get("latitude"), body.get("longitude")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            return MessageKind.LOCATION, Location(
                float(lat), float(lon), _str(body.get("name")), _str(body.get("address"))
            )
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
        reply = body.get(sub) if sub in ("button_reply", "list_reply") else None
        if isinstance(reply, dict) and _str(reply.get("title")):
            return MessageKind.INTERACTIVE, Choice(
                choice_id=_str(reply.get("id")),
                title=str(reply["title"]),
                description=_str(reply.get("description")),
            )
        return MessageKind.INTERACTIVE, Unsupported(original_type=f"interactive.{sub or 'unknown'}")
    elif type_ == "button":
        if _str(body.get("text")):
            return MessageKind.BUTTON, Choice(choice_id=_str(body.get("payload")), title=str(body["text"]))
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
