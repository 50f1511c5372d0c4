"""End User Messaging Social envelopes made locally, as the service would publish them (for `chat`)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

ACCOUNT = "123456789012"
META_PHONE_NUMBER_ID = "100000000000001"
PHONE_NUMBER_ARN = (
    f"arn:aws:social-messaging:us-east-1:{ACCOUNT}:phone-number-id/0123456789abcdef0123456789abcdef"
)


def new_wamid(sender: str) -> str:
    """A wamid shaped like Meta's (base64 of a record that holds the sender's number and a random id)."""
    record = f"\x18\x0b{sender}\x15\x02\x00\x12\x18\x14{secrets.token_hex(10).upper()}\x00"
    return "wamid." + base64.b64encode(record.encode()).decode()


def text_envelope(
    body: str, *, sender: str, name: str = "Attendee", wamid: str | None = None, timestamp: int | None = None
) -> dict[str, Any]:
    return message_envelope(
        {"type": "text", "text": {"body": body}}, sender=sender, name=name, wamid=wamid, timestamp=timestamp
    )


def voice_envelope(
    media_id: str,
    *,
    sender: str,
    mime_type: str = "audio/ogg; codecs=opus",
    name: str = "Attendee",
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """A voice note, as WhatsApp describes one: its media id and type, never its bytes."""
    audio = {"mime_type": mime_type, "sha256": secrets.token_hex(32), "id": media_id, "voice": True}
    return message_envelope(
        {"type": "audio", "audio": audio}, sender=sender, name=name, wamid=wamid, timestamp=timestamp
    )


def message_envelope(
    content: dict[str, Any],
    *,
    sender: str,
    name: str = "Attendee",
    wamid: str | None = None,
    timestamp: int | None = None,
    phone_number_arn: str = PHONE_NUMBER_ARN,
) -> dict[str, Any]:
    """The envelope of one inbound message whose type-specific part is ``content``; ``phone_number_arn``:
    the business number it was sent to (a deployed stack's, for ``assistant doctor``)."""
    now = int(time.time()) if timestamp is None else timestamp
    account = phone_number_arn.split(":")[4]
    region = phone_number_arn.split(":")[3]
    entry = {
        "id": "200000000000002",
        "changes": [
            {
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550009999",
                        "phone_number_id": META_PHONE_NUMBER_ID,
                    },
                    "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                    "messages": [
                        {
                            "from": sender,
                            "id": wamid or new_wamid(sender),
                            "timestamp": str(now),
                            **content,
                        }
                    ],
                },
            }
        ],
    }
    return {
        "context": {
            "MetaWabaIds": [
                {"wabaId": "200000000000002", "arn": f"arn:aws:social-messaging:{region}:{account}:waba/1"}
            ],
            "MetaPhoneNumberIds": [{"metaPhoneNumberId": META_PHONE_NUMBER_ID, "arn": phone_number_arn}],
        },
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": account,
        "message_timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(now)),
    }


def probe_envelope(
    question: str,
    *,
    probe_id: str,
    phone_number_arn: str,
    to: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """``assistant doctor``'s round trip: a text message marked as its probe (``models.domain.Probe``).

    It comes from a made-up business-scoped user (``DOCTOR.<probe id>``, no phone number). Without ``to``
    it is a dry run, whose replies are recorded, never sent; with ``to`` (a WhatsApp number that wrote to the
    business number in the last 24 hours) the replies go to that number too."""
    envelope = message_envelope(
        {"type": "text", "text": {"body": question}},
        sender="0",
        name="assistant doctor",
        wamid=f"wamid.doctor-{probe_id}",
        timestamp=timestamp,
        phone_number_arn=phone_number_arn,
    )
    # The probe's user is made up, live or not: it must never take a real attendee's lease or rate window.
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "assistant doctor"}, "user_id": f"DOCTOR.{probe_id}"}]
    message = value["messages"][0]
    del message["from"]
    message["from_user_id"] = f"DOCTOR.{probe_id}"
    envelope["whatsAppWebhookEntry"] = json.dumps(entry)
    envelope["assistantProbe"] = {"id": probe_id, **({"to": to} if to else {})}
    return envelope
