"""BedrockKnowledgeBaseEngine: answers from the event's Bedrock knowledge base, behind a guardrail.

- Up to 1,000 characters (RetrieveAndGenerate's input limit): one ``RetrieveAndGenerate`` call with the
  guardrail, our prompt template and Bedrock's session id for the user (stored after the first call; it
  cannot be chosen).
- Longer: ``Retrieve`` (20,000 characters) then ``Converse`` with the guardrail, the passages in the prompt.
- About the schedule (the ``Agenda`` port says which questions are): ``Converse`` with the agenda's tools
  (``find_sessions``, ``recommend_sessions``) and the event's current time in the system prompt; the tool
  calls are run here and their results given back, for at most ``AGENDA_ROUNDS`` rounds. When the model
  finds nothing there, the question goes to the knowledge base as any other.
- It returns what it found (``Answer`` with a ``Verdict``): an answer with its citations, no answer (no
  citations, or the model said so: never an ungrounded answer), the guardrail's intervention, or a failure.
  What the user hears is decided by ``services/answering.py``.
- Throttling and transient errors: retried with exponential backoff and full jitter while the time budget
  (60 s) lasts, then ``Verdict.FAILED``. The budget is cut to the caller's deadline, and no
  call starts that could outlive that deadline (each call's read timeout is ``call_timeout_seconds``). This
  engine never raises for an AWS error.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools import Logger

from assistant.adapters.aws import AWS_ERRORS, RETRYABLE_CODES, error_code, misconfiguration, translate
from assistant.errors import AssistantError, Misconfigured, RejectedByService, RetryableError
from assistant.ports import (
    Agenda,
    Answer,
    Clock,
    MetricsSink,
    ProcessedMessage,
    SessionStore,
    Source,
    Verdict,
)
from assistant.services.formatting import keep_published

logger = Logger(child=True)
T = TypeVar("T")

RETRIEVE_AND_GENERATE_LIMIT = 1000
RETRIEVE_LIMIT = 20000
NO_ANSWER_TOKEN = "NO_ANSWER"  # noqa: S105 - a sentinel the prompt asks the model to use, not a secret

PROMPT_TEMPLATE = f"""You are the assistant of an event, answering attendees on WhatsApp.
Answer ONLY from the search results below. Never invent rooms, times, names or facts.
If the search results do not contain the answer, reply with exactly {NO_ANSWER_TOKEN} and nothing else.
Answer in the language of the question. Keep it short enough for a phone screen: at most 5 short
sentences or a short list. Use simple Markdown (bold, lists) only when it helps.

Search results:
$search_results$

$output_format_instructions$

Question: $query$"""

CONVERSE_SYSTEM = f"""You are the assistant of an event, answering attendees on WhatsApp.
Answer ONLY from the documents given in the user's message. Never invent rooms, times, names or facts.
If the documents do not contain the answer, reply with exactly {NO_ANSWER_TOKEN} and nothing else.
Answer in the language of the question, in at most 5 short sentences or a short list."""


AGENDA_SYSTEM = f"""You are the assistant of an event, answering attendees on WhatsApp about its schedule.
It is now {{now}} at the event ({{timezone}}). Use the tools to find sessions; never invent sessions, times,
rooms or speakers. Give the tools English topic words, as the agenda is written.
Answer in the language of the question. First the direct answer, then one line per session (time, title,
room, speakers), at most 6.
A question that follows up an earlier one ("who's giving it?") is about what the earlier results found.
If the tools find nothing that answers the question, reply with exactly {NO_ANSWER_TOKEN} and nothing else."""
AGENDA_ROUNDS = 3
EARLIER_TURN = (
    "(Earlier in this conversation I asked about the schedule, and you looked it up with these tools. A"
    " question that says it, that, she or he means what those results found.)"
)


LANGUAGE_RULE = "Answer in the language of the question"
_LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "tr": "Turkish",
    "ar": "Arabic",
}


def language_rule(languages: tuple[str, ...]) -> str:
    """The prompts' language rule for the event's languages (``LANGUAGES``; the first is the fallback)."""
    if not languages:
        return LANGUAGE_RULE
    names = [_LANGUAGE_NAMES.get(code, code) for code in languages]
    if len(names) == 1:
        return f"Answer in {names[0]}"
    return f"{LANGUAGE_RULE} if it is one of {', '.join(names)}; otherwise answer in {names[0]}"


@dataclass(frozen=True, slots=True)
class BedrockConfig:
    knowledge_base_id: str
    model_arn: str
    guardrail_id: str
    guardrail_version: str
    retrieval_results: int = 5
    time_budget_seconds: float = 60.0
    call_timeout_seconds: float = 30.0
    """The clients' read timeout: the longest one call can take."""
    max_attempts: int = 30
    """A safety net: the time budget is what ends the retries."""
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0
    max_tokens: int = 600
    languages: tuple[str, ...] = ()
    """The event's languages, the first the fallback; empty: the question's, whichever it is."""


# Metric dimensions come from a fixed set (an error code is the service's word, not ours).
_KNOWN_CODES = RETRYABLE_CODES | {
    "ValidationException",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
    "ReadTimeoutError",
    "ConnectTimeoutError",
    "EndpointConnectionError",
    "ConnectionClosedError",
}


def _dimension(code: str) -> str:
    return code if code in _KNOWN_CODES else "other"


@dataclass(frozen=True, slots=True)
class _Window:
    """When retries may still start (the budget) and when every call must be over (the deadline)."""

    budget_end: float
    deadline: float


def title_of(uri: str, metadata: dict[str, Any] | None = None) -> str:
    """A readable source title: the document's own ``title`` metadata, else its file name."""
    if metadata and isinstance(metadata.get("title"), str) and metadata["title"].strip():
        return str(metadata["title"]).strip()
    name = PurePosixPath(unquote(uri.split("?")[0])).name or uri
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or uri


def _sources(references: list[dict[str, Any]]) -> tuple[Source, ...]:
    seen: dict[str, Source] = {}
    for ref in references:
        uri = _uri(ref)
        if uri and uri not in seen:
            seen[uri] = Source(title=title_of(uri, ref.get("metadata")), uri=uri)
    return tuple(seen.values())


class BedrockKnowledgeBaseEngine:
    def __init__(
        self,
        agent_runtime: Any,
        runtime: Any,
        sessions: SessionStore,
        config: BedrockConfig,
        metrics: MetricsSink,
        *,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        agenda: Agenda | None = None,
    ) -> None:
        self._agenda = agenda
        self._agent = agent_runtime
        self._runtime = runtime
        self._sessions = sessions
        self._config = config
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()

    def answer(self, question: ProcessedMessage, *, deadline: float | None = None) -> Answer:
        now = self._clock.now()
        budget_end = now + self._config.time_budget_seconds
        if deadline is not None:
            budget_end = min(budget_end, deadline - self._config.call_timeout_seconds)
        window = _Window(budget_end=budget_end, deadline=deadline if deadline is not None else float("inf"))
        try:
            # A short question pointing back at a schedule answer ("who's giving it?") is answered from
            # that answer's tool calls, run again: the Converse path has no session of its own.
            earlier = (
                self._earlier_calls(question.user_key)
                if self._agenda is not None and self._agenda.follows_up(question.text)
                else []
            )
            if self._agenda is not None and (earlier or self._agenda.about_schedule(question.text)):
                try:
                    scheduled = self._converse_with_agenda(self._agenda, question, window, earlier)
                except RejectedByService as exc:
                    # A model without tool use, a shape it refuses: the documents still answer.
                    self._metrics.count("AgendaFailed", 1, Code=_dimension(exc.code))
                    logger.warning("agenda tools failed; asking the documents", extra={"error": exc.code})
                    scheduled = None
                if scheduled is not None:
                    return scheduled
            if len(question.text) <= RETRIEVE_AND_GENERATE_LIMIT:
                return self._retrieve_and_generate(question, window)
            return self._retrieve_then_converse(question, window)
        except Misconfigured as exc:
            # Not this attendee's fault, nor theirs alone: retried, then dead-lettered, and alarmed.
            self._metrics.count("BedrockMisconfigured", 1, Code=_dimension(exc.code))
            logger.error("bedrock refused the configuration", extra={"error": exc.code})
            raise
        except (RetryableError, RejectedByService) as exc:
            reason = _dimension(exc.code) if isinstance(exc, RejectedByService) else "retries_exhausted"
            self._metrics.count("AnswerError", 1, Reason=reason)
            logger.warning("answer engine failed", extra={"error": str(exc)})
            return Answer(Verdict.FAILED)

    # -- the two call styles ------------------------------------------------------------------------------

    def _retrieve_and_generate(self, question: ProcessedMessage, window: _Window) -> Answer:
        cfg = self._config
        request: dict[str, Any] = {
            "input": {"text": question.text},
            "retrieveAndGenerateConfiguration": {
                "type": "KNOWLEDGE_BASE",
                "knowledgeBaseConfiguration": {
                    "knowledgeBaseId": cfg.knowledge_base_id,
                    "modelArn": cfg.model_arn,
                    "retrievalConfiguration": {
                        "vectorSearchConfiguration": {"numberOfResults": cfg.retrieval_results}
                    },
                    "generationConfiguration": {
                        "promptTemplate": {"textPromptTemplate": self._localized(PROMPT_TEMPLATE)},
                        "guardrailConfiguration": {
                            "guardrailId": cfg.guardrail_id,
                            "guardrailVersion": cfg.guardrail_version,
                        },
                        "inferenceConfig": {
                            "textInferenceConfig": {"maxTokens": cfg.max_tokens, "temperature": 0.0}
                        },
                    },
                },
            },
        }
        session = self._sessions.get_session(question.user_key)
        if session:
            request["sessionId"] = session
        try:
            response = self._call(lambda: self._agent.retrieve_and_generate(**request), window)
        except RejectedByService as exc:
            if not session or exc.code not in ("ValidationException", "ResourceNotFoundException"):
                raise
            # An expired or unknown Bedrock session: start a new one rather than fail the question.
            request.pop("sessionId")
            response = self._call(lambda: self._agent.retrieve_and_generate(**request), window)
        new_session = response.get("sessionId")
        if isinstance(new_session, str) and new_session != session:
            self._sessions.save_session(question.user_key, new_session)
        text = str((response.get("output") or {}).get("text") or "").strip()
        references = [
            ref
            for citation in response.get("citations") or ()
            for ref in citation.get("retrievedReferences") or ()
        ]
        if response.get("guardrailAction") == "INTERVENED":
            if not references or NO_ANSWER_TOKEN in text:
                return Answer(Verdict.INTERVENED)
            # Intervened yet cited: the guardrail masked something (a phone number) in a grounded answer.
            self._metrics.count("GuardrailMasked")
        if not references or not text or NO_ANSWER_TOKEN in text:
            return Answer(Verdict.NO_ANSWER)
        text = self._published_only(text, references)
        if not text:
            return Answer(Verdict.NO_ANSWER)
        return Answer(Verdict.ANSWERED, text=text, sources=_sources(references))

    def _retrieve_then_converse(self, question: ProcessedMessage, window: _Window) -> Answer:
        cfg = self._config
        retrieved = self._call(
            lambda: self._agent.retrieve(
                knowledgeBaseId=cfg.knowledge_base_id,
                retrievalQuery={"text": question.text[:RETRIEVE_LIMIT]},
                retrievalConfiguration={
                    "vectorSearchConfiguration": {"numberOfResults": cfg.retrieval_results}
                },
            ),
            window,
        )
        results = [r for r in retrieved.get("retrievalResults") or () if (r.get("content") or {}).get("text")]
        if not results:
            return Answer(Verdict.NO_ANSWER)
        documents = "\n\n".join(
            f"<document index={n} source={title_of(_uri(r), r.get('metadata'))}>\n"
            f"{r['content']['text']}\n</document>"
            for n, r in enumerate(results, start=1)
        )
        response = self._call(
            lambda: self._runtime.converse(
                modelId=cfg.model_arn,
                system=[{"text": self._localized(CONVERSE_SYSTEM)}],
                # Only the question is guarded (guardContent): the event's own documents must not trip
                # the denied topics or the prompt-attack filter.
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"text": f"{documents}\n\nQuestion:"},
                            {"guardContent": {"text": {"text": question.text}}},
                        ],
                    }
                ],
                inferenceConfig={"maxTokens": cfg.max_tokens, "temperature": 0.0},
                guardrailConfig={
                    "guardrailIdentifier": cfg.guardrail_id,
                    "guardrailVersion": cfg.guardrail_version,
                },
            ),
            window,
        )
        content = ((response.get("output") or {}).get("message") or {}).get("content") or []
        text = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict)).strip()
        if response.get("stopReason") == "guardrail_intervened":
            return Answer(Verdict.INTERVENED)
        if not text or NO_ANSWER_TOKEN in text:
            return Answer(Verdict.NO_ANSWER)
        text = self._published_only(text, results)
        if not text:
            return Answer(Verdict.NO_ANSWER)
        return Answer(Verdict.ANSWERED, text=text, sources=_sources(results))

    def _earlier_calls(self, user_key: str) -> list[dict[str, Any]]:
        """The tool calls of the conversation's last answer, when it was the schedule's (else none)."""
        try:
            raw = self._sessions.get_agenda_calls(user_key)
            calls = json.loads(raw) if raw else []
        except (AssistantError, ValueError) as exc:
            logger.warning("earlier agenda calls unreadable; answering afresh", extra={"error": str(exc)})
            return []
        if not isinstance(calls, list):
            return []
        return [
            {"name": call["name"], "input": call["input"]}
            for call in calls[:AGENDA_ROUNDS]
            if isinstance(call, dict)
            and isinstance(call.get("name"), str)
            and isinstance(call.get("input"), dict)
        ]

    def _converse_with_agenda(
        self,
        agenda: Agenda,
        question: ProcessedMessage,
        window: _Window,
        earlier: list[dict[str, Any]] | None = None,
    ) -> Answer | None:
        """The schedule's answer, or None when the model found none there (the documents are asked next).

        ``earlier``: the tool calls of the previous answer, for a follow-up. They are given to the model as
        its own earlier turn, run again now, before the new question: "who's giving it?" is answered from
        the sessions the previous answer found. The calls of this answer are remembered for the next one."""
        cfg = self._config
        now = agenda.now()
        system = self._localized(
            AGENDA_SYSTEM.format(now=now.strftime("%A %d %B %Y, %H:%M"), timezone=now.tzname() or "")
        )
        asked: list[dict[str, Any]] = [{"guardContent": {"text": {"text": question.text}}}]
        messages: list[dict[str, Any]] = []
        made: list[dict[str, Any]] = []
        if earlier:
            uses = [
                {"toolUse": {"toolUseId": f"earlier-{n}", "name": call["name"], "input": call["input"]}}
                for n, call in enumerate(earlier)
            ]
            messages += [
                {"role": "user", "content": [{"text": EARLIER_TURN}]},
                {"role": "assistant", "content": uses},
            ]
            asked = self._run_tools(agenda, [use["toolUse"] for use in uses]) + asked
            made = list(earlier)
        fresh = False
        messages.append({"role": "user", "content": asked})
        tools = {"tools": agenda.tool_specs(), "toolChoice": {"auto": {}}}
        for _ in range(AGENDA_ROUNDS):
            response = self._call(
                lambda: self._runtime.converse(
                    modelId=cfg.model_arn,
                    system=[{"text": system}],
                    messages=messages,
                    toolConfig=tools,
                    inferenceConfig={"maxTokens": cfg.max_tokens, "temperature": 0.0},
                    guardrailConfig={
                        "guardrailIdentifier": cfg.guardrail_id,
                        "guardrailVersion": cfg.guardrail_version,
                    },
                ),
                window,
            )
            if response.get("stopReason") == "guardrail_intervened":
                return Answer(Verdict.INTERVENED)
            message = (response.get("output") or {}).get("message") or {}
            # Blank text blocks are refused when sent back: keep what carries something.
            content = [
                part
                for part in message.get("content") or []
                if isinstance(part, dict) and not ("text" in part and not str(part["text"]).strip())
            ]
            calls = [part["toolUse"] for part in content if isinstance(part.get("toolUse"), dict)]
            if not calls:
                text = "".join(str(part.get("text", "")) for part in content).strip()
                if not text or NO_ANSWER_TOKEN in text:
                    return None
                # What the agenda's tools returned is published; the attendee's question is not.
                results = [p["toolResult"] for m in messages for p in m["content"] if "toolResult" in p]
                also = json.dumps(results, ensure_ascii=False, default=str)
                text = self._published_only(text, [], also=also)
                if not text:
                    return None
                self._metrics.count("AgendaAnswered")
                self._remember(question.user_key, made)
                return Answer(Verdict.SCHEDULED, text=text, sources=(agenda.source,))
            if not fresh:
                made, fresh = [], True  # a new call: the answer is about what it finds, not the earlier ones
            made += [
                {"name": str(call.get("name", "")), "input": dict(call.get("input") or {})}
                for call in calls
                if isinstance(call.get("input") or {}, dict)
            ]
            messages.append({"role": "assistant", "content": content})
            messages.append({"role": "user", "content": self._run_tools(agenda, calls)})
        return None

    def _run_tools(self, agenda: Agenda, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = []
        for call in calls:
            try:
                result = agenda.run_tool(str(call.get("name", "")), call.get("input") or {})
            except Exception as exc:  # noqa: BLE001 - a tool's failure is the model's to read, not a crash
                logger.warning("agenda tool failed", extra={"error": type(exc).__name__})
                result = {"error": "the agenda could not be read just now"}
            # No "status": only some models accept it; an error reads as {"error": ...} to any.
            results.append(
                {"toolResult": {"toolUseId": str(call.get("toolUseId", "")), "content": [{"json": result}]}}
            )
        return results

    def _remember(self, user_key: str, calls: list[dict[str, Any]]) -> None:
        """The tool calls behind this schedule answer, for a follow-up. A failure only costs that."""
        if not calls:
            return
        try:
            self._sessions.save_agenda_calls(user_key, json.dumps(calls[:AGENDA_ROUNDS], ensure_ascii=False))
        except AssistantError as exc:
            logger.warning("could not remember the agenda calls", extra={"error": str(exc)})

    def _published_only(self, text: str, references: list[dict[str, Any]], *, also: str = "") -> str:
        """``text`` without the links and phone numbers that neither ``references`` (their passages and
        addresses) nor ``also`` publish: on AWS nothing else checks them (the guardrail masks no phone
        number in answers, so that the event's hotline passes, and no link), and a model that obeys an
        instruction in the question, or invents a contact, would send it to the attendee. Empty when
        nothing else was left."""
        published = "\n".join(
            [f"{(ref.get('content') or {}).get('text') or ''}\n{_uri(ref)}" for ref in references] + [also]
        )
        kept, dropped = keep_published(text, published)
        if dropped:
            self._metrics.count("UnpublishedRemoved", dropped)
            logger.warning("unpublished links or numbers removed from an answer", extra={"removed": dropped})
        return kept.strip() if re.search(r"\w", kept) else ""

    def _localized(self, prompt: str) -> str:
        return prompt.replace(LANGUAGE_RULE, language_rule(self._config.languages))

    # -- outcomes and retries -----------------------------------------------------------------------------

    def _call(self, operation: Callable[[], T], window: _Window) -> T:
        """Run a call, retrying retryable errors with full-jitter backoff while the budget lasts; never start
        a call that could outlive the deadline."""
        cfg = self._config
        attempt = 0
        while True:
            attempt += 1
            if self._clock.now() + cfg.call_timeout_seconds > window.deadline:
                self._metrics.count("BedrockRetriesExhausted", 1, Code="deadline")
                raise RetryableError("bedrock: no time left for a call")
            try:
                return operation()
            except AWS_ERRORS as exc:
                misconfigured = misconfiguration("bedrock", exc)
                if misconfigured is not None:
                    raise misconfigured from None
                error = translate("bedrock", exc)
                code = _dimension(error_code(exc))
                if not isinstance(error, RetryableError):
                    raise error from None
                ceiling = min(cfg.max_delay_seconds, cfg.base_delay_seconds * 2 ** (attempt - 1))
                delay = self._rng.uniform(0, ceiling)
                if attempt >= cfg.max_attempts or self._clock.now() + delay >= window.budget_end:
                    self._metrics.count("BedrockRetriesExhausted", 1, Code=code)
                    raise error from None
                self._metrics.count("BedrockRetry", 1, Code=code)
                self._sleep(delay)


def _uri(reference: dict[str, Any]) -> str:
    """Where a retrieved reference came from: S3 or web location, else the source-uri metadata."""
    location = reference.get("location") or {}
    return str(
        (location.get("s3Location") or {}).get("uri")
        or (location.get("webLocation") or {}).get("url")
        or (reference.get("metadata") or {}).get("x-amz-bedrock-kb-source-uri")
        or ""
    )
