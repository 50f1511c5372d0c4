"""InboundService: what happens to each message and status of an inbound notification.

Per message, on the happy path: one DynamoDB transaction (duplicate marker + lease + rate window + counters),
one SendWhatsAppMessage (read receipt with typing indicator), one SNS publish. Every step is a state of the
message state machine in docs/exactly-once.md: a retry after a crash or an ambiguous outcome at any step
finds the marker, recognises what it did, and carries on from there.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from assistant.errors import AmbiguousOutcome, AssistantError, PermanentError, RetryableError
from assistant.models.domain import Envelope, InboundMessage, Media, MessageKind, Reaction, StatusEvent
from assistant.ports import (
    Admission,
    AdmissionRequest,
    AnalyticsStore,
    ConversationStore,
    Hasher,
    Messenger,
    MetricsSink,
    Outcome,
    ProcessedMessage,
    Publisher,
    Recipient,
)
from assistant.services import replies
from assistant.services.delivery import parse_reply_callback, reply_callback
from assistant.services.language import SUPPORTED, choose
from assistant.services.language import detect as detect_language
from assistant.services.probe import messenger_for
from assistant.services.voice import accepts as accepts_audio

logger = Logger(child=True)

_QUESTION_KINDS = {MessageKind.TEXT, MessageKind.INTERACTIVE, MessageKind.BUTTON}
_AUDIO_KINDS = {MessageKind.VOICE, MessageKind.AUDIO}
_SILENT_KINDS = {MessageKind.REACTION, MessageKind.SYSTEM}

# Metric dimensions come from fixed sets: a crafted status or error code must not mint a new metric (or put
# a phone number in the logs, where EMF writes its dimensions).
STATUSES = frozenset({"accepted", "deleted", "delivered", "failed", "read", "sent", "warning", "played"})
ERROR_CODES = frozenset(
    {
        0, 1, 2, 3, 4, 10, 100, 190, 200, 368, 470, 80007, 130429, 130472, 130497, 131000, 131005, 131008,
        131009, 131016, 131021, 131026, 131031, 131037, 131042, 131045, 131047, 131048, 131049, 131050,
        131051, 131052, 131053, 131056, 131057, 132000, 132001, 132005, 132007, 132012, 132015, 132016,
        132068, 132069, 133000, 133004, 133005, 133006, 133008, 133009, 133010, 133015, 133016, 134011,
        135000,
    }
)  # fmt: skip


def bounded(value: str, allowed: frozenset[str]) -> str:
    return value if value in allowed else "other"


@dataclass(frozen=True, slots=True)
class InboundPolicy:
    max_text_chars: int
    allowed_user_keys: frozenset[str]
    """Keyed hashes of the allow list; empty means everyone is allowed."""
    languages: tuple[str, ...] = SUPPORTED
    """The languages the event serves; the first is the fallback (``LANGUAGES``)."""
    voice: bool = False
    """Voice notes and audio messages are questions (a transcriber is configured)."""


def message_key(hasher: Hasher, message: InboundMessage) -> str:
    """The duplicate-check key of a message.

    The wamid identifies a message; its own timestamp is folded in as well, so that test data that reuses
    one wamid for different messages (Meta's sample payloads do) still counts them apart, while a true
    redelivery, byte for byte the same, still maps to the same key.
    """
    return hasher.key("msg", message.message_id, str(message.timestamp))


def user_key(hasher: Hasher, message: InboundMessage) -> str:
    return hasher.key("user", message.user.identity)


_PHONE_LIKE = re.compile(r"\+?[0-9 ().-]+")


def allow_key(hasher: Hasher, identity: str) -> str:
    """An allow-list entry (``ALLOWED_USERS``) for a wa_id or a business-scoped user id: the HMAC its user
    would be keyed by, had they that id alone. A phone number may be written as people write them ("+1 555-010
    0100", "(351) 912...", "00351..."): only its digits count, as in a wa_id."""
    identity = identity.strip()
    if _PHONE_LIKE.fullmatch(identity):
        digits = re.sub(r"\D", "", identity)
        identity = digits[2:] if identity.startswith("00") else digits
    return hasher.key("user", identity)


def _language_of(message: InboundMessage, languages: tuple[str, ...] = SUPPORTED) -> str | None:
    """The language to reply in: what the user wrote (a text, a caption) is in, when it tells and the
    event serves it; else the event's fallback."""
    text = message.question_text
    if text is None and isinstance(message.content, Media):
        text = message.content.caption
    return choose(detect_language(text[:500]) if text else None, languages)


def recipient_of(message: InboundMessage) -> Recipient:
    return Recipient(wa_id=message.user.wa_id, user_id=message.user.user_id)


class InboundService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        messenger: Messenger,
        publisher: Publisher,
        hasher: Hasher,
        metrics: MetricsSink,
        policy: InboundPolicy,
        analytics: AnalyticsStore | None = None,
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._publisher = publisher
        self._hasher = hasher
        self._metrics = metrics
        self._policy = policy
        self._analytics = analytics

    def handle(self, envelope: Envelope) -> list[str]:
        """Handle every message and status; returns one outcome per message (for summaries and tests).

        A failure of one item does not stop the others: each is tried, and the first failure is raised at
        the end, so SQS redelivers the record and the items that went through recognise themselves."""
        if envelope.skipped:
            logger.warning("skipped malformed items in an entry", extra={"count": envelope.skipped})
            self._metrics.count("MalformedItem", envelope.skipped)
        failure: AssistantError | None = None
        for status in envelope.statuses:
            try:
                self._record_status(status)
            except AssistantError as exc:
                failure = failure or exc
        outcomes = []
        for message in envelope.messages:
            try:
                outcomes.append(self._handle_message(message))
            except AssistantError as exc:
                # A permanent error (IAM, a missing topic) is retried too, and ends in the dead-letter
                # queue rather than lost.
                failure = failure or exc
                outcomes.append("failed")
        if failure is not None:
            raise RetryableError(f"an item failed: {failure}") from None
        return outcomes

    # -- statuses -----------------------------------------------------------------------------------------

    def _record_status(self, status: StatusEvent) -> None:
        self._metrics.count("MessageStatus", 1, Status=bounded(status.status, STATUSES))
        if status.status == "failed":
            for code in status.error_codes or (0,):
                self._metrics.count(
                    "MessageFailed", 1, ErrorCode=str(code) if code in ERROR_CODES else "other"
                )
        ours = parse_reply_callback(status.callback_data)
        if ours is not None:
            # Any status of a reply part (even "failed": the service took it) proves it went out; an
            # ambiguous send is resolved by this record instead of being sent twice.
            self._store.confirm_delivery(*ours)
            if status.status == "sent" and self._analytics is not None:
                # Which question this reply answered, by its keyed hash: a reaction to it is feedback.
                try:
                    self._analytics.remember_reply(self._hasher.key("reply", status.message_id), ours[0])
                except AssistantError as exc:
                    self._metrics.count("AnalyticsFailed")
                    logger.warning("could not remember the reply", extra={"error": str(exc)})

    # -- messages -----------------------------------------------------------------------------------------

    def _handle_message(self, message: InboundMessage) -> str:
        mkey = message_key(self._hasher, message)
        ukey = user_key(self._hasher, message)
        log = {"message_key": mkey[:12], "user_key": ukey[:12], "kind": message.kind.value}
        if message.kind in _SILENT_KINDS:
            # A reaction is feedback on an answer, not a question: it gets no reply.
            self._metrics.count("SilentMessage", 1, Kind=message.kind.value)
            self._count_feedback(message, mkey)
            logger.info("no reply needed", extra=log)
            return "silent"

        static, reason = self._static_reply(message)
        text = message.question_text or ""
        request = AdmissionRequest(
            message_key=mkey,
            user_key=ukey,
            chars=0 if static else len(text),
            take_lease=static is None,
            attempt=uuid.uuid4().hex,
        )
        admission = self._store.admit(request)
        outcome = admission.outcome
        logger.info(
            "admitted",
            extra={**log, "outcome": outcome.value, "resumed": admission.resumed},
        )
        if outcome is Outcome.DUPLICATE:
            self._metrics.count("DuplicateMessage")
            return "duplicate"
        if admission.resumed:
            self._metrics.count("MessageResumed")
        if outcome is Outcome.ACCEPTED and static is None:
            return self._accept(message, text, mkey, ukey, admission)
        if outcome is Outcome.BUSY:
            self._metrics.count("UserBusy")
            self._deliver(
                message, mkey, admission, replies.say("busy", _language_of(message, self._policy.languages))
            )
            self._record_probe(message, "static", "busy")
            return "busy"
        if outcome is Outcome.RATE_LIMITED:
            self._metrics.count("RateLimited")
            notice = replies.say("rate_limited", _language_of(message, self._policy.languages))
            self._deliver(message, mkey, admission, notice if admission.first_over_limit else None)
            self._record_probe(message, "static", "rate_limited")
            return "rate_limited"
        self._metrics.count("StaticReply", 1, Reason=reason)
        self._deliver(message, mkey, admission, static)
        self._record_probe(message, "static", reason)
        return reason

    def _messenger_for(self, message: InboundMessage) -> Messenger:
        probe = message.probe
        if probe is None:
            return self._messenger
        return messenger_for(self._store, self._messenger, probe.probe_id, to=probe.to)

    def _record_probe(self, message: InboundMessage, step: str, detail: str) -> None:
        if message.probe is not None:
            self._store.record_probe(message.probe.probe_id, step, detail)

    def _count_feedback(self, message: InboundMessage, mkey: str) -> None:
        """A reaction to one of our replies counts as feedback on that answer, once."""
        reaction = message.content
        if self._analytics is None or not isinstance(reaction, Reaction) or reaction.removed:
            return
        from assistant.services.analytics import bucket_of, feedback_kind

        kind = feedback_kind(reaction.emoji)
        try:
            counted = self._analytics.record_reaction(
                mkey, self._hasher.key("reply", reaction.message_id), kind, bucket_of(message.timestamp)
            )
        except AssistantError as exc:
            self._metrics.count("AnalyticsFailed")
            logger.warning("could not count the feedback", extra={"error": str(exc)})
            return
        if counted:
            self._metrics.count("Feedback", 1, Kind=kind)

    def _allowed(self, message: InboundMessage) -> bool:
        """Either of the user's ids lets them in: a user listed by their business-scoped id who also has a
        wa_id (and so is keyed by the wa_id) is still the user who was listed."""
        ids = (message.user.wa_id, message.user.user_id)
        return any(allow_key(self._hasher, i) in self._policy.allowed_user_keys for i in ids if i)

    def _static_reply(self, message: InboundMessage) -> tuple[str | None, str]:
        """The static reply this message gets whatever the store says, or None for a question."""
        language = _language_of(message, self._policy.languages)
        if self._policy.allowed_user_keys and not self._allowed(message):
            return replies.say("not_allowed", language), "not_allowed"
        if message.kind is MessageKind.REQUEST_WELCOME:
            return replies.say("welcome", language), "welcome"
        if message.kind in _AUDIO_KINDS and self._policy.voice:
            # Heard in the answer stage; here only what the envelope tells: an id and a declared type.
            media = message.content
            if not isinstance(media, Media) or not media.media_id or not accepts_audio(media.mime_type):
                return replies.say("audio_unreadable", language), "unreadable_audio"
            return None, "question"
        text = message.question_text if message.kind in _QUESTION_KINDS else None
        if text is None or not text.strip():
            unsupported = "unsupported_media" if self._policy.voice else "unsupported"
            return replies.say(unsupported, language), "unsupported"
        if len(text) > self._policy.max_text_chars:
            limit = self._policy.max_text_chars
            return replies.say("too_long", language, length=len(text), limit=limit), "too_long"
        return None, "question"

    def _accept(self, message: InboundMessage, text: str, mkey: str, ukey: str, admission: Admission) -> str:
        self._mark_read(message, typing=True)
        event = ProcessedMessage(
            message_key=mkey,
            user_key=ukey,
            kind=message.kind.value,
            text=text,
            message_id=message.message_id,
            recipient=recipient_of(message),
            origination_phone_number_id=message.route.origination_phone_number_id,
            meta_phone_number_id=message.route.meta_phone_number_id,
            received_at=message.timestamp,
            conversation_reset=admission.conversation_reset,
            media_id=message.content.media_id if isinstance(message.content, Media) else None,
            mime_type=message.content.mime_type if isinstance(message.content, Media) else None,
            probe=message.probe.probe_id if message.probe else None,
            probe_to=message.probe.to if message.probe else None,
        )
        try:
            self._publisher.publish(event)
        except AssistantError:
            # The marker stays unfinished: SQS's redelivery, once this attempt has lapsed, resumes it and
            # publishes. Meanwhile the lease goes back, so the user is never told "still working" about a
            # question nobody holds.
            self._release_quietly(ukey, mkey)
            raise
        if admission.conversation_reset:
            self._metrics.count("ConversationReset")
        self._metrics.count("MessageAccepted", 1, Kind=message.kind.value)
        return "accepted"

    def _deliver(self, message: InboundMessage, mkey: str, admission: Admission, body: str | None) -> None:
        """A static reply, sent at most once: part 0 of the message's reply, with its callback data."""
        if admission.reply_sent:
            # A status event proved the earlier attempt's reply went out: record it, send nothing.
            self._finish(mkey)
            return
        self._mark_read(message, typing=False)
        if body is None:
            return
        try:
            self._messenger_for(message).send_text(
                message.route,
                recipient_of(message),
                body,
                quote=message.message_id,
                callback_data=reply_callback(mkey, 0),
            )
        except AmbiguousOutcome:
            # It may have gone out. The marker stays unfinished; the redelivery, after the visibility
            # timeout, resumes it, and sends only if no status event has proved this part sent by then.
            self._metrics.count("AmbiguousSend")
            raise
        except PermanentError as exc:
            self._metrics.count("ReplyRejected")
            logger.warning("static reply rejected", extra={"error": str(exc)})
        self._finish(mkey)

    def _finish(self, mkey: str) -> None:
        try:
            self._store.finish_reply(mkey)
        except AssistantError as exc:
            # The reply is out; failing the record would not make it more so. A redelivery that resumes
            # this message finds the reply's status event and sends nothing.
            self._metrics.count("FinishFailed")
            logger.warning("could not record the reply as sent", extra={"error": str(exc)})

    def _release_quietly(self, ukey: str, mkey: str) -> None:
        try:
            self._store.release(ukey, owner=mkey)
        except AssistantError as exc:
            logger.warning("could not release the lease; it expires by itself", extra={"error": str(exc)})

    def _mark_read(self, message: InboundMessage, *, typing: bool) -> None:
        # A read receipt is a courtesy: its failure must neither fail the record nor lose the message.
        try:
            self._messenger_for(message).mark_read(message.route, message.message_id, typing=typing)
        except AssistantError as exc:
            self._metrics.count("ReadReceiptFailed")
            logger.warning("read receipt failed", extra={"error": str(exc)})
