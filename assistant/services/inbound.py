"""handle_inbound: what happens to each message and status of an inbound notification.

Per message, on the happy path: one DynamoDB transaction (duplicate marker + lease + rate window + counters),
one SendWhatsAppMessage (read receipt with typing indicator), one SNS publish.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_lambda_powertools import Logger

from assistant.errors import PermanentError, RetryableError
from assistant.models.domain import Envelope, InboundMessage, MessageKind, StatusEvent
from assistant.ports import (
    Admission,
    AdmissionRequest,
    Clock,
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

logger = Logger(child=True)

_QUESTION_KINDS = {MessageKind.TEXT, MessageKind.INTERACTIVE, MessageKind.BUTTON}
_SILENT_KINDS = {MessageKind.REACTION, MessageKind.SYSTEM}


@dataclass(frozen=True, slots=True)
class InboundPolicy:
    max_text_chars: int
    allowed_user_keys: frozenset[str]
    """Keyed hashes of the allow list; empty means everyone is allowed."""


def message_key(hasher: Hasher, message: InboundMessage) -> str:
    """The duplicate-check key of a message.

    The wamid identifies a message; its own timestamp is folded in as well, so that test data that reuses
    one wamid for different messages (Meta's sample payloads do) still counts them apart, while a true
    redelivery, byte for byte the same, still maps to the same key.
    """
    return hasher.key("msg", message.message_id, str(message.timestamp))


def user_key(hasher: Hasher, message: InboundMessage) -> str:
    return hasher.key("user", message.user.identity)


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
        clock: Clock,
        metrics: MetricsSink,
        policy: InboundPolicy,
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._publisher = publisher
        self._hasher = hasher
        self._clock = clock
        self._metrics = metrics
        self._policy = policy

    def handle(self, envelope: Envelope) -> list[str]:
        """Handle every message and status; returns one outcome per message (for summaries and tests)."""
        if envelope.skipped:
            logger.warning("skipped malformed items in an entry", extra={"count": envelope.skipped})
            self._metrics.count("MalformedItem", envelope.skipped)
        for status in envelope.statuses:
            self._record_status(status)
        return [self._handle_message(message) for message in envelope.messages]

    # -- statuses -----------------------------------------------------------------------------------------

    def _record_status(self, status: StatusEvent) -> None:
        self._metrics.count("MessageStatus", 1, Status=status.status)
        if status.status == "failed":
            codes = status.error_codes or (0,)
            for code in codes:
                self._metrics.count("MessageFailed", 1, ErrorCode=str(code))

    # -- messages -----------------------------------------------------------------------------------------

    def _handle_message(self, message: InboundMessage) -> str:
        mkey = message_key(self._hasher, message)
        ukey = user_key(self._hasher, message)
        log = {"message_key": mkey[:12], "user_key": ukey[:12], "kind": message.kind.value}
        if message.kind in _SILENT_KINDS:
            # A reaction is feedback on an answer, not a question: it gets no reply.
            self._metrics.count("SilentMessage", 1, Kind=message.kind.value)
            logger.info("no reply needed", extra=log)
            return "silent"

        if self._policy.allowed_user_keys and ukey not in self._policy.allowed_user_keys:
            return self._static(message, mkey, ukey, replies.NOT_ALLOWED, "not_allowed", log)
        if message.kind is MessageKind.REQUEST_WELCOME:
            return self._static(message, mkey, ukey, replies.WELCOME, "welcome", log)
        text = message.question_text if message.kind in _QUESTION_KINDS else None
        if text is None or not text.strip():
            return self._static(message, mkey, ukey, replies.UNSUPPORTED, "unsupported", log)
        if len(text) > self._policy.max_text_chars:
            reply = replies.TOO_LONG.format(length=len(text), limit=self._policy.max_text_chars)
            return self._static(message, mkey, ukey, reply, "too_long", log)
        return self._question(message, text, mkey, ukey, log)

    def _question(self, message: InboundMessage, text: str, mkey: str, ukey: str, log: dict[str, str]) -> str:
        admission = self._store.admit(
            AdmissionRequest(message_key=mkey, user_key=ukey, chars=len(text), take_lease=True)
        )
        if admission.outcome is not Outcome.ACCEPTED:
            return self._refused(message, admission, mkey, ukey, log)
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
        )
        try:
            self._publisher.publish(event)
        except (RetryableError, PermanentError) as exc:
            # Undo the admission so SQS's retry is not taken for a duplicate; a permanent error (IAM,
            # a missing topic) is retried too, and ends in the dead-letter queue rather than lost.
            self._store.forget(mkey, ukey)
            raise RetryableError(f"publish failed: {exc}") from None
        if admission.conversation_reset:
            self._metrics.count("ConversationReset")
        self._metrics.count("MessageAccepted", 1, Kind=message.kind.value)
        logger.info("accepted", extra=log)
        return "accepted"

    def _static(
        self, message: InboundMessage, mkey: str, ukey: str, reply: str, outcome: str, log: dict[str, str]
    ) -> str:
        admission = self._store.admit(
            AdmissionRequest(message_key=mkey, user_key=ukey, chars=0, take_lease=False)
        )
        if admission.outcome is not Outcome.ACCEPTED:
            return self._refused(message, admission, mkey, ukey, log)
        self._mark_read(message, typing=False)
        self._reply(message, mkey, ukey, reply)
        self._metrics.count("StaticReply", 1, Reason=outcome)
        logger.info("static reply", extra={**log, "reason": outcome})
        return outcome

    def _refused(
        self, message: InboundMessage, admission: Admission, mkey: str, ukey: str, log: dict[str, str]
    ) -> str:
        outcome = admission.outcome
        logger.info("refused", extra={**log, "outcome": outcome.value})
        if outcome is Outcome.DUPLICATE:
            self._metrics.count("DuplicateMessage")
            return "duplicate"
        self._mark_read(message, typing=False)
        if outcome is Outcome.BUSY:
            self._metrics.count("UserBusy")
            self._reply(message, mkey, ukey, replies.BUSY)
            return "busy"
        self._metrics.count("RateLimited")
        if admission.first_over_limit:
            self._reply(message, mkey, ukey, replies.RATE_LIMITED)
        return "rate_limited"

    def _reply(self, message: InboundMessage, mkey: str, ukey: str, body: str) -> None:
        try:
            self._messenger.send_text(message.route, recipient_of(message), body, quote=message.message_id)
        except RetryableError:
            # Undo the duplicate marker so that SQS's retry sends this reply instead of dropping it.
            self._store.forget(mkey, ukey)
            raise
        except PermanentError as exc:
            self._metrics.count("ReplyRejected")
            logger.warning("static reply rejected", extra={"error": str(exc)})

    def _mark_read(self, message: InboundMessage, *, typing: bool) -> None:
        # A read receipt is a courtesy: its failure must neither fail the record nor lose the message.
        try:
            self._messenger.mark_read(message.route, message.message_id, typing=typing)
        except (RetryableError, PermanentError) as exc:
            self._metrics.count("ReadReceiptFailed")
            logger.warning("read receipt failed", extra={"error": str(exc)})
