"""An event's WhatsApp traffic, made up for ``assistant loadtest``: who writes what, and when.

Deterministic for a seed. Attendees have made-up numbers and names; what they write is drawn from the sample
event's evaluation questions (seven languages) and a few everyday lines. The mix, of the published messages:

- ``duplicate`` (10%): an envelope published again (SNS and SQS deliver at least once);
- ``malformed`` (5%): a payload that is not an envelope, a truncated one, or one whose message lacks fields;
- ``status`` (5%): delivered/read status events for replies already sent (they need a reply to exist, so
  they are made when published: ``Arrival.build``);
- ``reaction`` (4%): an emoji on the latest reply the attendee got (or on their own message, before one);
- ``unsupported`` (3%): an image, a sticker or a location;
- ``voice`` (1%, when a voice note is at hand): the sample voice note;
- ``text`` (the rest): a question; a fifth of them sent right after the same attendee's previous message,
  while it is still being answered.

Every kind but ``duplicate``, ``malformed``, ``status`` and ``reaction`` is *due exactly one reply*, an answer
or a fixed one (the invariants of ``assistant.local.loadtest``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from assistant.local.envelopes import ACCOUNT, META_PHONE_NUMBER_ID, PHONE_NUMBER_ARN, message_envelope

DUE_A_REPLY = ("text", "voice", "unsupported")
MIX = {
    "duplicate": 0.10,
    "malformed": 0.05,
    "status": 0.05,
    "reaction": 0.04,
    "unsupported": 0.03,
    "voice": 0.01,
}
"""Shares of the published messages; ``text`` takes the rest."""
BUSY_SHARE = 0.2
"""Of the texts: sent right after the attendee's previous message (while it is still being answered)."""
VOICE_MEDIA_ID = "1234567890987654321"
"""The sample voice note's media id (``examples/media``)."""

EVERYDAY = (
    "where is the keynote?",
    "is there a quiet room?",
    "what's on next in hall B?",
    "where can I charge my phone?",
    "what is the wifi password?",
    "hi",
    "thanks!",
    "¿dónde está el guardarropa?",
    "Wo kann ich mein Handy laden?",
    "Où sont les toilettes ?",
    "Onde fica o almoço?",
    "Öğle yemeği nerede?",
    "أين الكلمة الرئيسية؟",
)
FIRST_NAMES = ("Ana", "Bilal", "Chen", "Dara", "Emre", "Fatima", "Gustavo", "Hana", "Ivo", "Júlia", "Kofi")
LAST_NAMES = ("Moreau", "Okafor", "Silva", "Yilmaz", "Schmidt", "Haddad", "Novak", "Ito", "Costa", "Berg")


@dataclass(frozen=True)
class Attendee:
    number: str
    """Their WhatsApp number (a made-up one, as digits)."""
    name: str


@dataclass
class Arrival:
    """One envelope to publish at ``at`` seconds after the start."""

    at: float
    kind: str
    attendee: Attendee
    wamid: str = ""
    """The message's id (for a duplicate: the original's; empty for statuses and malformed payloads)."""
    text: str = ""
    envelope: str = ""
    """The payload, when it can be made in advance."""
    build: Callable[[TrafficContext], str] | None = None
    """Makes the payload when it is published (a status or reaction needs the reply it is about)."""

    @property
    def due_a_reply(self) -> bool:
        return self.kind in DUE_A_REPLY


@dataclass
class TrafficContext:
    """What an arrival made at publish time may look at: the replies sent so far, by recipient."""

    replies_to: Callable[[str], list[dict[str, Any]]]
    random: Random = field(default_factory=Random)


def event_traffic(
    *, users: int, messages: int, window: float, seed: int = 7, voice: bool = True
) -> list[Arrival]:
    """``messages`` arrivals from ``users`` attendees over ``window`` seconds, in time order."""
    if users < 1 or messages < 1:
        raise ValueError("users and messages must be at least 1")
    rng = Random(seed)
    questions = _questions()
    attendees = [
        Attendee(f"{rng.choice(('44', '34', '55', '33', '49', '90', '971'))}7{n:08d}", _name(rng, n))
        for n in range(users)
    ]
    counts = {kind: round(messages * share) for kind, share in MIX.items()}
    if not voice:
        counts["voice"] = 0
    counts["text"] = messages - sum(counts.values())
    kinds = [kind for kind, count in counts.items() for _ in range(count) if kind != "duplicate"]
    rng.shuffle(kinds)
    arrivals: list[Arrival] = []
    last: dict[str, Arrival] = {}
    for kind in kinds:
        attendee = attendees[rng.randrange(users)]
        at = rng.uniform(0, window)
        previous = last.get(attendee.number)
        if kind == "text" and previous is not None and rng.random() < BUSY_SHARE:
            at = previous.at + rng.uniform(0.05, 1.0)  # while the previous one is being answered
        arrival = _arrival(kind, attendee, at, rng, questions)
        arrivals.append(arrival)
        if arrival.wamid:
            last[attendee.number] = arrival
    originals = [a for a in arrivals if a.envelope and a.wamid]
    for _ in range(counts["duplicate"]):
        original = rng.choice(originals)
        # Redelivered a moment to a minute later, the same payload.
        arrivals.append(
            Arrival(
                at=original.at + rng.uniform(0.0, 60.0),
                kind="duplicate",
                attendee=original.attendee,
                wamid=original.wamid,
                text=original.text,
                envelope=original.envelope,
            )
        )
    arrivals.sort(key=lambda a: a.at)
    return arrivals


def _arrival(kind: str, attendee: Attendee, at: float, rng: Random, questions: list[str]) -> Arrival:
    wamid = _wamid(attendee.number, rng)
    stamp = int(time.time() + at)
    if kind == "text":
        text = rng.choice(questions)
        return Arrival(
            at,
            kind,
            attendee,
            wamid,
            text,
            _dump(_message({"type": "text", "text": {"body": text}}, attendee, wamid, stamp)),
        )
    if kind == "voice":
        audio = {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": "0" * 64,
            "id": VOICE_MEDIA_ID,
            "voice": True,
        }
        return Arrival(
            at,
            kind,
            attendee,
            wamid,
            "",
            _dump(_message({"type": "audio", "audio": audio}, attendee, wamid, stamp)),
        )
    if kind == "unsupported":
        content = rng.choice(
            (
                {"type": "image", "image": {"mime_type": "image/jpeg", "sha256": "1" * 64, "id": "2" * 16}},
                {
                    "type": "sticker",
                    "sticker": {"mime_type": "image/webp", "id": "3" * 16, "animated": False},
                },
                {"type": "location", "location": {"latitude": 38.7, "longitude": -9.1}},
            )
        )
        return Arrival(at, kind, attendee, wamid, "", _dump(_message(content, attendee, wamid, stamp)))
    if kind == "malformed":
        return Arrival(at, kind, attendee, "", "", _malformed(attendee, wamid, stamp, rng))
    if kind == "reaction":
        own = wamid

        def reaction(context: TrafficContext) -> str:
            replies = context.replies_to(attendee.number)
            target = replies[-1]["messageId"] if replies else own
            content = {"type": "reaction", "reaction": {"message_id": target, "emoji": "👍"}}
            return _dump(_message(content, attendee, _wamid(attendee.number, context.random), stamp))

        return Arrival(at, kind, attendee, build=reaction)

    def status(context: TrafficContext) -> str:
        replies = context.replies_to(attendee.number)
        if not replies:
            return _dump(_status(attendee, {"id": _wamid("0", context.random)}, "delivered", stamp))
        reply = context.random.choice(replies)
        return _dump(_status(attendee, reply, context.random.choice(("delivered", "read")), stamp))

    return Arrival(at, "status", attendee, build=status)


def _message(content: dict[str, Any], attendee: Attendee, wamid: str, stamp: int) -> dict[str, Any]:
    return message_envelope(content, sender=attendee.number, name=attendee.name, wamid=wamid, timestamp=stamp)


def _status(attendee: Attendee, reply: dict[str, Any], status: str, stamp: int) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": reply.get("messageId") or reply.get("id"),
        "status": status,
        "timestamp": str(stamp),
        "recipient_id": attendee.number,
    }
    callback = (reply.get("message") or {}).get("biz_opaque_callback_data")
    if callback:
        record["biz_opaque_callback_data"] = callback
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
                    "statuses": [record],
                },
            }
        ],
    }
    envelope = message_envelope({"type": "text", "text": {"body": ""}}, sender="0", timestamp=stamp)
    envelope["whatsAppWebhookEntry"] = json.dumps(entry)
    return envelope


def _malformed(attendee: Attendee, wamid: str, stamp: int, rng: Random) -> str:
    good = _dump(
        _message({"type": "text", "text": {"body": "where is the keynote?"}}, attendee, wamid, stamp)
    )
    choice = rng.randrange(4)
    if choice == 0:
        return good[: rng.randrange(10, len(good) - 10)]  # truncated
    if choice == 1:
        return json.dumps({"whatsAppWebhookEntry": "{not json", "aws_account_id": ACCOUNT})
    if choice == 2:
        envelope = json.loads(good)
        entry = json.loads(envelope["whatsAppWebhookEntry"])
        del entry["changes"][0]["value"]["messages"][0]["id"]  # a message without its id
        envelope["whatsAppWebhookEntry"] = json.dumps(entry)
        return json.dumps(envelope)
    return json.dumps(["not", "an", "envelope"])


def _dump(envelope: dict[str, Any]) -> str:
    return json.dumps(envelope, ensure_ascii=False)


def _wamid(sender: str, rng: Random) -> str:
    """Shaped like Meta's (base64 of a record holding the sender's number and a random id), from ``rng``."""
    record = f"\x18\x0b{sender}\x15\x02\x00\x12\x18\x14{rng.getrandbits(80):020X}\x00"
    return "wamid." + base64.b64encode(record.encode()).decode()


def _name(rng: Random, n: int) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}-{n:04d}"


def _questions() -> list[str]:
    """The sample event's evaluation questions (seven languages) and a few everyday lines."""
    found: list[str] = list(EVERYDAY)
    from assistant.local.bundled import KNOWLEDGE

    try:
        path = KNOWLEDGE / "eval" / "questions.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                question = json.loads(line).get("question")
                if isinstance(question, str) and question.strip():
                    found.append(question)
    except (OSError, ValueError):
        pass
    return found


__all__ = ["PHONE_NUMBER_ARN", "Arrival", "Attendee", "TrafficContext", "event_traffic"]
