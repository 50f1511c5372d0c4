"""Domain types: what an inbound WhatsApp event means, independent of how it travelled.

Every value is a frozen, slotted dataclass. Fields that hold personal data (ids that encode a phone
number, names, text) have ``repr=False`` so that an accidental ``repr`` in a log line or an exception
cannot leak them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MessageKind(StrEnum):
    TEXT = "text"
    AUDIO = "audio"
    VOICE = "voice"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    REACTION = "reaction"
    INTERACTIVE = "interactive"
    BUTTON = "button"
    ORDER = "order"
    SYSTEM = "system"
    REQUEST_WELCOME = "request_welcome"
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a reply goes out from: the End User Messaging phone number id (``phone-number-id-...``)."""

    origination_phone_number_id: str
    meta_phone_number_id: str


@dataclass(frozen=True, slots=True)
class Probe:
    """``assistant doctor``'s round trip: a synthetic message that the envelope marks (``assistantProbe``,
    beside ``context``: only a publisher to the inbound topic can set it, never a WhatsApp user). It goes
    through the whole pipeline; what it would send is recorded under ``probe_id`` and, in a dry run, never
    sent."""

    probe_id: str
    to: str | None = field(default=None, repr=False)
    """A live run's recipient (a WhatsApp number); None: a dry run. The probe's own user is always made up,
    so that it never takes a real attendee's lease, rate window or conversation."""

    @property
    def dry_run(self) -> bool:
        return self.to is None


@dataclass(frozen=True, slots=True)
class User:
    """The sender. ``wa_id`` may be absent for users who adopted a username (business-scoped id only)."""

    wa_id: str | None = field(repr=False)
    user_id: str | None = field(repr=False)

    @property
    def identity(self) -> str:
        """The stable key of the user: ``wa_id`` when present, else the business-scoped ``user_id``."""
        ident = self.wa_id or self.user_id
        if not ident:
            raise ValueError("a user needs a wa_id or a user_id")
        return ident


@dataclass(frozen=True, slots=True)
class Text:
    body: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Media:
    """Audio, voice note, image, video, document or sticker."""

    media_id: str
    mime_type: str
    sha256: str | None = None
    caption: str | None = field(default=None, repr=False)
    filename: str | None = field(default=None, repr=False)
    voice: bool = False
    animated: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float = field(repr=False)
    longitude: float = field(repr=False)
    name: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class SharedContacts:
    count: int


@dataclass(frozen=True, slots=True)
class Reaction:
    message_id: str = field(repr=False)
    emoji: str | None = None

    @property
    def removed(self) -> bool:
        return not self.emoji


@dataclass(frozen=True, slots=True)
class Choice:
    """A reply button, list row or template quick-reply the user tapped."""

    choice_id: str | None
    title: str = field(repr=False)
    description: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A type WhatsApp could not deliver (``unsupported``/``unknown``) or one this code does not know."""

    original_type: str
    error_codes: tuple[int, ...] = ()


Content = Text | Media | Location | SharedContacts | Reaction | Choice | Unsupported | None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    message_id: str = field(repr=False)
    user: User
    route: Route
    timestamp: int
    kind: MessageKind
    content: Content
    quoted_message_id: str | None = field(default=None, repr=False)
    forwarded: bool = False
    probe: Probe | None = None
    """Set on ``assistant doctor``'s synthetic round-trip message only (see ``services/probe.py``)."""

    @property
    def question_text(self) -> str | None:
        """The text this message asks, if it asks one in words."""
        if isinstance(self.content, Text):
            return self.content.body
        if isinstance(self.content, Choice):
            return self.content.title
        return None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A delivery status of a message *we* sent."""

    message_id: str = field(repr=False)
    status: str
    timestamp: int
    route: Route
    error_codes: tuple[int, ...] = ()
    pricing_category: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """Everything one End User Messaging Social notification carried."""

    messages: tuple[InboundMessage, ...]
    statuses: tuple[StatusEvent, ...]
    skipped: int = 0
    """Items inside an otherwise valid entry that were malformed and dropped (each counted in a metric): a
    message or status that cannot be read, a change that is not an object, a ``messages`` or ``statuses``
    field that is not a list, and every item of a change addressed to no number of the envelope's context.
    With the parsed messages and statuses, it accounts for every item: none is lost silently."""
