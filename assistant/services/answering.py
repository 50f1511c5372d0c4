"""AnswerService: the answer stage, consumer of the processed-messages topic.

It answers each message exactly once (docs/exactly-once.md): a claim on the message's marker, owned by this
attempt, keeps every other delivery off; each reply part carries callback data that its status events echo,
so a send whose answer was lost is resolved by those events instead of being sent again; the completion and
the release of the user's lease are one write. Whatever happens, the lease goes back.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import replace

from aws_lambda_powertools import Logger

from assistant.errors import AmbiguousOutcome, AssistantError, PermanentError, RetryableError, UnusableAudio
from assistant.models.domain import Route
from assistant.ports import (
    AnalyticsStore,
    Answer,
    AnswerBudget,
    AnswerEngine,
    AnswerRecord,
    Clock,
    ConversationStore,
    Messenger,
    MetricsSink,
    ProcessedMessage,
    Recipient,
    Spend,
    Verdict,
)
from assistant.services import replies, smalltalk
from assistant.services.delivery import reply_callback
from assistant.services.formatting import split_message, to_whatsapp, with_sources
from assistant.services.language import SUPPORTED, choose
from assistant.services.language import detect as detect_language
from assistant.services.probe import messenger_for
from assistant.services.voice import VoiceNotes

logger = Logger(child=True)

_REFUSALS = {
    "too_big": "audio_too_big",
    "too_long": "audio_too_long",
    "unreadable": "audio_unreadable",
    "silent": "audio_unclear",
}
"""The reply for each reason a voice note cannot be heard (``UnusableAudio.reason``)."""

LATENCY_CEILING_SECONDS = 3600.0

SEND_RESERVE_SECONDS = 15.0
"""Of the function's remaining time, what is kept for sending the reply and recording it."""

BUDGET = "budget"
"""The ``source`` of the static reply to a question over the global answer budget
(``BEDROCK_BUDGET_PER_MINUTE``)."""


def compose(
    answer: Answer, *, help_desk: str, conversation_reset: bool = False, language: str | None = None
) -> tuple[str, str]:
    """What the user hears for what the engine found, in the question's language (the engine's, else
    ``language``); and its ``source``."""
    language = answer.language or language
    verdict = answer.verdict
    if verdict in (Verdict.ANSWERED, Verdict.SCHEDULED) and not answer.text.strip():
        verdict = Verdict.NO_ANSWER  # an empty answer is no answer
    if verdict in (Verdict.ANSWERED, Verdict.SCHEDULED):
        body = with_sources(
            to_whatsapp(answer.text),
            [(s.title, s.uri) for s in answer.sources],
            label=replies.say("sources", language),
        )
    elif verdict is Verdict.NO_ANSWER:
        body = replies.say("dont_know", language, help_desk=replies.help_desk(help_desk, language))
    elif verdict is Verdict.INTERVENED:
        body = replies.say("guardrail", language)
    else:
        body = replies.say("apology", language, help_desk=replies.help_desk(help_desk, language))
    if conversation_reset and verdict is not Verdict.FAILED:
        body = f"{replies.say('conversation_reset', language)}\n\n{body}"
    return body, verdict.value


def asked(text: str, conversation: str) -> ProcessedMessage:
    """A question put to the engine directly, not through WhatsApp (``kb ask``, ``kb eval``): no message
    to quote, no one to reply to; questions of one ``conversation`` share its context."""
    return ProcessedMessage(
        message_key=f"ask-{conversation}",
        user_key=conversation,
        kind="text",
        text=text,
        message_id="",
        recipient=Recipient(wa_id=None, user_id="local"),
        origination_phone_number_id="",
        meta_phone_number_id="",
        received_at=0,
    )


def reply_to(
    question: ProcessedMessage,
    engine: AnswerEngine,
    *,
    help_desk: str,
    deadline: float | None = None,
    languages: tuple[str, ...] = SUPPORTED,
    language: str | None = None,
    within_budget: Callable[[], bool] | None = None,
) -> tuple[str, str]:
    """What the user hears for a question, and its ``source``: small talk is answered here, in its
    language; anything else by the engine, then ``compose``. The answer stage and ``kb ask`` share it.
    ``language``: the question's, when known otherwise than from its words (a voice note's, as heard).
    ``within_budget``: asked just before the engine would be (only then: small talk spends nothing);
    False: the engine is not asked, and the user is told to ask again in a minute."""
    small_talk = smalltalk.classify(question.text)
    if small_talk is not None:
        # "hi", "gracias", "help": a friendly word and examples, in their language; no engine needed.
        kind, spoken = small_talk
        return replies.say(kind.value, choose(spoken or language, languages)), "smalltalk"
    if within_budget is not None and not within_budget():
        language = choose(language or detect_language(question.text), languages)
        body = replies.say("budget", language)
        if question.conversation_reset:
            body = f"{replies.say('conversation_reset', language)}\n\n{body}"
        return body, BUDGET
    answer = engine.answer(question, deadline=deadline)
    language = choose(answer.language or language or detect_language(question.text), languages)
    return compose(
        replace(answer, language=language),
        help_desk=help_desk,
        conversation_reset=question.conversation_reset,
        language=language,
    )


class AnswerService:
    def __init__(
        self,
        *,
        store: ConversationStore,
        messenger: Messenger,
        engine: AnswerEngine,
        metrics: MetricsSink,
        clock: Clock,
        claim_seconds: int,
        help_desk: str = "",
        languages: tuple[str, ...] = SUPPORTED,
        confirm_wait_seconds: float = 10.0,
        typing_every: float = 20.0,
        voice: VoiceNotes | None = None,
        max_audio_seconds: int = 120,
        analytics: AnalyticsStore | None = None,
        budget: AnswerBudget | None = None,
    ) -> None:
        """``budget``: the global answer budget every question spends before the engine; None: no bound."""
        self._store = store
        self._messenger = messenger
        self._engine = engine
        self._metrics = metrics
        self._clock = clock
        self._claim_seconds = claim_seconds
        self._help_desk = help_desk
        self._languages = languages
        self._confirm_wait = confirm_wait_seconds
        self._typing_every = typing_every
        self._voice = voice
        self._max_audio_seconds = max_audio_seconds
        self._analytics = analytics
        self._budget = budget

    def handle(self, question: ProcessedMessage, *, time_left: float | None = None) -> str:
        """Answer one question; ``time_left`` is what the function has left, in seconds."""
        log = {"message_key": question.message_key[:12], "user_key": question.user_key[:12]}
        route = Route(question.origination_phone_number_id, question.meta_phone_number_id)
        deadline = None if time_left is None else self._clock.now() + time_left - SEND_RESERVE_SECONDS
        owner = uuid.uuid4().hex
        claim = self._store.claim_answer(question.message_key, owner, self._claim_seconds)
        if not claim.granted:
            # Answered already, or another attempt is answering it now: that attempt owns the lease.
            self._metrics.count("DuplicateAnswerSkipped")
            logger.info("already answered or being answered", extra=log)
            return "duplicate"
        if claim.taken_over:
            self._metrics.count("ClaimTakenOver")
        if claim.parts_sent > 0:
            # An earlier attempt's reply went out (its sender or a status event says so) and it died before
            # recording the answer. Send nothing: record it. A beginning of a multi-part reply cannot be
            # continued word for word, so it stays a beginning.
            if claim.parts_sent < claim.parts:
                self._metrics.count("ReplyIncomplete")
            self._complete(question, owner)
            logger.info("answer recovered from an earlier attempt", extra=log)
            return "recovered"

        try:
            with _TypingKeeper(self._messenger_for(question), route, question.message_id, self._typing_every):
                if question.media_id is not None:
                    body, source = self._reply_to_voice(question, deadline)
                else:
                    body, source = reply_to(
                        question,
                        self._engine,
                        help_desk=self._help_desk,
                        deadline=deadline,
                        languages=self._languages,
                        within_budget=self._budget_for(question),
                    )
        except PermanentError as exc:
            # Nothing a retry can mend: the user still hears from us once.
            self._metrics.count("AnswerFailed")
            logger.warning("answer failed", extra={**log, "error": str(exc)})
            body, source = compose(
                Answer(Verdict.FAILED),
                help_desk=self._help_desk,
                language=choose(detect_language(question.text), self._languages),
            )
        except Exception:
            # Retryable, or a bug: nothing went out, so the redelivery may answer; the lease goes back.
            self._give_back(question, owner)
            raise

        try:
            self._send(route, question, owner, body, deadline)
        except AmbiguousOutcome:
            # Still unresolved after waiting for its status event: keep the claim. The redelivery takes it
            # over once it lapses and asks the status events again; the user is not kept waiting meanwhile.
            self._metrics.count("AmbiguousSendDeferred")
            self._release(question)
            raise
        except RetryableError:
            self._give_back(question, owner)
            raise
        except PermanentError as exc:
            self._metrics.count("ReplyRejected")
            logger.warning("reply rejected", extra={**log, "error": str(exc)})
            source = "rejected"
        self._complete(question, owner)
        if question.probe is not None:
            # assistant doctor's round trip: not an attendee, so not in the organizers' figures.
            self._store.record_probe(question.probe, "answered", source)
            logger.info("probe answered", extra={**log, "source": source})
            return "answered"
        self._metrics.count("Answered", 1, Source=source)
        if question.received_at:
            # From WhatsApp's timestamp (whole seconds) to the reply sent: what the attendee waited.
            self._metrics.measure("AnswerLatency", max(0.0, self._clock.now() - question.received_at))
        self._count_answer(question, source)
        logger.info("answered", extra={**log, "source": source})
        return "answered"

    def _budget_for(self, question: ProcessedMessage) -> Callable[[], bool] | None:
        """The global answer budget's check for this question, asked only when it would go to the engine."""
        budget = self._budget
        if budget is None:
            return None

        def within_budget() -> bool:
            # After the claim: only the attempt that owns the message spends, and a retry of it (after a lost
            # answer or a crash) finds its own grant instead of counting again. A store failure raises, and
            # the claim and lease go back as for any retryable failure before a send.
            spent = budget.spend(question.message_key)
            if spent is Spend.DENIED:
                self._metrics.count("BudgetExceeded")
                logger.info("over the answer budget", extra={"message_key": question.message_key[:12]})
                return False
            if spent is Spend.GRANTED:
                self._metrics.count("BudgetGranted")  # the near-the-budget alarm's figure
            return True

        return within_budget

    def _messenger_for(self, question: ProcessedMessage) -> Messenger:
        return messenger_for(self._store, self._messenger, question.probe, to=question.probe_to)

    def _count_answer(self, question: ProcessedMessage, source: str) -> None:
        """The organizers' counters: the answer's source and latency, once (a failure costs only that)."""
        if self._analytics is None:
            return
        from assistant.services.analytics import bucket_of

        received = float(question.received_at or self._clock.now())
        latency = max(0.0, self._clock.now() - received)
        record = AnswerRecord(
            message_key=question.message_key,
            source=source,
            # Over an hour is no answer time but old traffic replayed (or a backlog): not a latency figure.
            latency_seconds=latency if latency <= LATENCY_CEILING_SECONDS else -1.0,
            bucket=bucket_of(received),
        )
        try:
            self._analytics.record_answer(record)
            self._analytics.join(question.message_key)
        except AssistantError as exc:
            self._metrics.count("AnalyticsFailed")
            logger.warning("could not count the answer for the dashboard", extra={"error": str(exc)})

    def _reply_to_voice(self, question: ProcessedMessage, deadline: float | None) -> tuple[str, str]:
        """A voice note is answered as if its words had been typed, after showing what was heard (so a
        misheard question is caught at a glance); a note that cannot be heard gets a polite reply."""
        fallback = self._languages[0] if self._languages else None
        if self._voice is None:
            # Voice notes were switched off between the inbound function's decision and this one.
            return replies.say("unsupported", fallback), "unsupported"
        try:
            heard = self._voice.listen(question, deadline=deadline)
        except UnusableAudio as exc:
            self._metrics.count("VoiceRefused", 1, Reason=exc.reason)
            return replies.say(
                _REFUSALS[exc.reason], fallback, limit=self._max_audio_seconds
            ), "voice_refused"
        body, source = reply_to(
            replace(question, text=heard.text),
            self._engine,
            help_desk=self._help_desk,
            deadline=deadline,
            languages=self._languages,
            language=heard.language,
            within_budget=self._budget_for(question),
        )
        return f"{replies.HEARD.format(text=heard.text)}\n\n{body}", source

    def _send(
        self, route: Route, question: ProcessedMessage, owner: str, body: str, deadline: float | None
    ) -> None:
        """Send the reply's parts in order, each at most once. Raises only for the first part: once the user
        has the beginning, a retry would send it again from the start."""
        parts = split_message(body)
        for index, part in enumerate(parts):
            try:
                if index:
                    self._store.record_progress(
                        question.message_key, owner, parts_sent=index, parts=len(parts)
                    )
                self._messenger_for(question).send_text(
                    route,
                    question.recipient,
                    part,
                    quote=question.message_id if index == 0 else None,
                    callback_data=reply_callback(question.message_key, index),
                )
            except AmbiguousOutcome:
                if self._confirmed(question.message_key, index, deadline):
                    continue
                if index == 0:
                    raise
                self._cut_short(index)
                return
            except AssistantError:
                if index == 0:
                    raise
                self._cut_short(index)
                return

    def _confirmed(self, message_key: str, part: int, deadline: float | None) -> bool:
        """Wait briefly for a status event that proves the part went out (the inbound function records it)."""
        until = self._clock.now() + self._confirm_wait
        if deadline is not None:
            until = min(until, deadline)
        while True:
            try:
                if self._store.reply_confirmed(message_key, part):
                    self._metrics.count("AmbiguousSendConfirmed")
                    return True
            except AssistantError as exc:
                logger.warning("could not read the reply's status", extra={"error": str(exc)})
            if self._clock.now() >= until:
                return False
            self._clock.sleep(1.0)

    def _cut_short(self, parts_sent: int) -> None:
        self._metrics.count("ReplyIncomplete")
        logger.warning("reply cut short", extra={"parts_sent": parts_sent})

    def _complete(self, question: ProcessedMessage, owner: str) -> None:
        """Mark answered and release the lease in one write. The reply is out: a failure here must not make
        SQS redeliver for nothing; a redelivery would find the reply's status and send nothing anyway."""
        try:
            self._store.complete_answer(question.message_key, owner, lease_of=question.user_key)
        except AssistantError as exc:
            self._metrics.count("CompleteFailed")
            logger.warning("could not mark the answer done", extra={"error": str(exc)})
            self._release(question)

    def _give_back(self, question: ProcessedMessage, owner: str) -> None:
        """Nothing went out: give the claim back for the redelivery, and the lease to the user."""
        try:
            self._store.abandon_answer(question.message_key, owner)
        except AssistantError as exc:
            logger.warning("could not give the claim back; it lapses by itself", extra={"error": str(exc)})
        self._release(question)

    def _release(self, question: ProcessedMessage) -> None:
        try:
            self._store.release(question.user_key, owner=question.message_key)
        except AssistantError as exc:
            logger.warning("could not release the lease; it expires by itself", extra={"error": str(exc)})


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
            except AssistantError as exc:
                logger.warning("typing indicator refresh failed", extra={"error": str(exc)})
