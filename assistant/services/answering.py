"""answer_question: the answer stage, consumer of the processed-messages topic.

It answers each message at most once (a claim on the message's duplicate marker), sends the reply quoting
the question, and always gives the user's processing lease back, whatever happened.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from assistant.errors import PermanentError, RetryableError
from assistant.models.domain import Route
from assistant.ports import AnswerEngine, ConversationStore, Messenger, MetricsSink, ProcessedMessage
from assistant.services import replies
from assistant.services.formatting import split_message

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
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._engine = engine
        self._metrics = metrics
        self._claim_seconds = claim_seconds

    def handle(self, question: ProcessedMessage) -> str:
        log = {"message_key": question.message_key[:12], "user_key": question.user_key[:12]}
        try:
            if not self._store.claim_answer(question.message_key, self._claim_seconds):
                self._metrics.count("DuplicateAnswerSkipped")
                logger.info("already answered or being answered", extra=log)
                return "duplicate"
            try:
                answer = self._engine.answer(question)
                body = answer.text
                if question.conversation_reset:
                    body = f"{replies.CONVERSATION_RESET}\n\n{body}"
                self._send(question, body)
            except RetryableError:
                self._store.abandon_answer(question.message_key)
                raise
            except PermanentError as exc:
                # Nothing a retry can mend: the user still hears from us once, and the claim is kept.
                self._metrics.count("AnswerFailed")
                logger.warning("answer failed", extra={**log, "error": str(exc)})
                self._store.complete_answer(question.message_key)
                return "failed"
            self._store.complete_answer(question.message_key)
            self._metrics.count("Answered", 1, Source=answer.source)
            logger.info("answered", extra={**log, "source": answer.source})
            return "answered"
        finally:
            self._store.release(question.user_key, owner=question.message_key)

    def _send(self, question: ProcessedMessage, body: str) -> None:
        route = Route(question.origination_phone_number_id, question.meta_phone_number_id)
        for index, part in enumerate(split_message(body)):
            self._messenger.send_text(
                route,
                question.recipient,
                part,
                quote=question.message_id if index == 0 else None,
                callback_data=question.message_key,
            )
