"""answer_question: the answer stage, consumer of the processed-messages topic.

It answers each message at most once (a claim on the message's duplicate marker), sends the reply quoting
the question, and always gives the user's processing lease back, whatever happened.
"""

from __future__ import annotations

import threading

from aws_lambda_powertools import Logger

from assistant.errors import PermanentError, RetryableError
from assistant.models.domain import Route
from assistant.ports import AnswerEngine, ConversationStore, Messenger, MetricsSink, ProcessedMessage
from assistant.services import replies
from assistant.services.formatting import split_message, to_whatsapp, with_sources

logger = Logger(child=True)


class AnswerService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        messenger: Messenger,
        engine: AnswerEngine,
        metrics: MetricsSink,
        claim_seconds: int,
        typing_every: float = 20.0,
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._engine = engine
        self._metrics = metrics
        self._claim_seconds = claim_seconds
        self._typing_every = typing_every

    def handle(self, question: ProcessedMessage) -> str:
        log = {"message_key": question.message_key[:12], "user_key": question.user_key[:12]}
        route = Route(question.origination_phone_number_id, question.meta_phone_number_id)
        released = False
        try:
            if not self._store.claim_answer(question.message_key, self._claim_seconds):
                # Answered already, or another worker is answering it now: that worker owns the lease.
                released = True
                self._metrics.count("DuplicateAnswerSkipped")
                logger.info("already answered or being answered", extra=log)
                return "duplicate"
            try:
                with _TypingKeeper(self._messenger, route, question.message_id, self._typing_every):
                    answer = self._engine.answer(question)
                body = with_sources(to_whatsapp(answer.text), [(s.title, s.uri) for s in answer.sources])
                if question.conversation_reset:
                    body = f"{replies.CONVERSATION_RESET}\n\n{body}"
                self._send(route, question, body)
            except RetryableError:
                self._store.abandon_answer(question.message_key)
                raise
            except PermanentError as exc:
                # Nothing a retry can mend: the user still hears from us once, and the claim is kept.
                self._metrics.count("AnswerFailed")
                logger.warning("answer failed", extra={**log, "error": str(exc)})
                self._apologise(route, question)
                released = self._complete(question)
                return "failed"
            released = self._complete(question)
            self._metrics.count("Answered", 1, Source=answer.source)
            logger.info("answered", extra={**log, "source": answer.source, "sources": len(answer.sources)})
            return "answered"
        finally:
            if not released:
                self._store.release(question.user_key, owner=question.message_key)

    def _complete(self, question: ProcessedMessage) -> bool:
        """Mark answered and release the lease in one write. The reply is out: a failure here must not make
        SQS redeliver (that would answer twice); the claim keeps duplicates off until it expires."""
        try:
            self._store.complete_answer(question.message_key, owner_of=question.user_key)
        except (RetryableError, PermanentError) as exc:
            self._metrics.count("CompleteFailed")
            logger.warning("could not mark the answer done", extra={"error": str(exc)})
            return False
        return True

    def _send(self, route: Route, question: ProcessedMessage, body: str) -> None:
        for index, part in enumerate(split_message(body)):
            try:
                self._messenger.send_text(
                    route,
                    question.recipient,
                    part,
                    quote=question.message_id if index == 0 else None,
                    callback_data=question.message_key,
                )
            except (RetryableError, PermanentError) as exc:
                if index == 0:
                    raise
                # The user has the beginning of the answer: a retry would send it again from the start.
                self._metrics.count("ReplyIncomplete")
                logger.warning("reply cut short", extra={"error": str(exc), "parts_sent": index})
                return

    def _apologise(self, route: Route, question: ProcessedMessage) -> None:
        try:
            self._send(route, question, replies.APOLOGY)
        except (RetryableError, PermanentError) as exc:
            logger.warning("apology not sent", extra={"error": str(exc)})


class _TypingKeeper:
    """Sends the typing indicator again every ``every`` seconds while an answer is being worked on:
    WhatsApp drops it after 25 seconds (or when the reply arrives)."""

    def __init__(self, messenger: Messenger, route: Route, message_id: str, every: float) -> None:
        self._messenger = messenger
        self._route = route
        self._message_id = message_id
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="typing", daemon=True)

    def __enter__(self) -> _TypingKeeper:
        if self._every > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._messenger.mark_read(self._route, self._message_id, typing=True)
            except (RetryableError, PermanentError) as exc:
                logger.warning("typing indicator refresh failed", extra={"error": str(exc)})
