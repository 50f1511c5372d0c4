"""Local wire-level stand-ins for ``bedrock-agent-runtime`` and ``bedrock-runtime``, answered by the local
knowledge base and a simple local guardrail.

Reached through ``AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME`` and ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, so the
production ``BedrockKnowledgeBaseEngine`` runs unchanged. The "model" is extractive: it answers with the
best-supported sentences of the retrieved passages, or says it cannot help below a calibrated threshold.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.local.engine import DEFAULT_THRESHOLD, Hit, KnowledgeBase, Passage, answer
from assistant.local.wire import RestJsonServer, ServiceError
from assistant.services.language import detect, points_back
from assistant.services.replies import say
from assistant.services.schedule_questions import Catalog, ToolCall, interpret, render

DOCUMENTS_LANGUAGE = "en"
"""The sample events' documents' language: a question in it needs no words around the quote."""
FOCUS_CHARS = 300
"""A message longer than this is read for the question it asks (see ``_focus``)."""
RETRIEVE_AND_GENERATE_LIMIT = 1000
RETRIEVE_LIMIT = 20000
NO_RESULTS_TEXT = "Sorry, I am unable to assist you with this request."

_PROMPT_ATTACKS = (
    "ignore previous instructions",
    "ignore all previous",
    "ignore the above",
    "disregard your instructions",
    "reveal your system prompt",
    "system prompt",
    "you are now",
    "developer mode",
    "jailbreak",
    # The assistant's other languages (es, pt, fr, de, tr, ar): what the deployed guardrail's prompt-attack
    # filter stands for, as phrases.
    "ignora las instrucciones",
    "instrucciones anteriores",
    "prompt del sistema",
    "a partir de ahora eres",
    "ignore as instruções",
    "instruções anteriores",
    "prompt de sistema",
    "prompt do sistema",
    "a partir de agora você é",
    "ignore les instructions",
    "instructions précédentes",
    "prompt système",
    "désormais tu es",
    "ignoriere alle",
    "vorherigen anweisungen",
    "systemprompt",
    "ab jetzt bist du",
    "önceki talimatları",
    "talimatları yok say",
    "sistem istemini",
    "sistem istemi",
    "تجاهل التعليمات",
    "التعليمات السابقة",
    "موجه النظام",
    "أنت الآن",
)


@dataclass
class LocalGuardrail:
    """Denied topics (by trigger phrases), denied words, prompt-attack phrases; in outputs, phone and card
    numbers masked unless the event's own documents publish them (the deployed guardrail masks attendees'
    numbers on the way in instead, so the model never sees them; see template.yaml)."""

    guardrail_id: str
    version: str
    denied_topics: dict[str, list[str]] = field(
        default_factory=lambda: {
            "Investment advice": [
                "invest in",
                "stock tip",
                "which stocks",
                "crypto",
                "bitcoin",
                "shares to buy",
                "index fund",
                "acciones debo comprar",
                "invertir en",
                "ações devo comprar",
                "investir em",
                "actions dois-je acheter",
                "investir dans",
                "aktien soll ich",
                "investieren in",
                "hisseleri almalıyım",
                "yatırım yapmalı",
                "الأسهم التي يجب",
                "أستثمر في",
            ],
            "Medical diagnosis": [
                "diagnose",
                "my symptoms",
                "what medication",
                "dosage",
                "what medicine",
                "chest pain",
                "painkillers",
                "qué medicamento",
                "que remédio",
                "qual remédio",
                "quel médicament",
                "welches medikament",
                "hangi ilacı",
                "ما الدواء",
            ],
        }
    )
    denied_words: list[str] = field(default_factory=lambda: ["idiot", "stupid bot"])
    blocked_message: str = (
        "Sorry, I can't help with that. I can answer questions about the event: sessions, speakers, "
        "rooms and the venue."
    )

    @classmethod
    def load(cls, path: Path, guardrail_id: str, version: str) -> LocalGuardrail:
        """Read the editable policy from ``path``, writing the defaults there the first time."""
        guardrail = cls(guardrail_id, version)
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            guardrail.denied_topics = dict(data.get("denied_topics", guardrail.denied_topics))
            guardrail.denied_words = list(data.get("denied_words", guardrail.denied_words))
            guardrail.blocked_message = str(data.get("blocked_message", guardrail.blocked_message))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            policy = {
                "denied_topics": guardrail.denied_topics,
                "denied_words": guardrail.denied_words,
                "blocked_message": guardrail.blocked_message,
            }
            path.write_text(json.dumps(policy, indent=2), encoding="utf-8")
        return guardrail

    def intervenes(self, text: str) -> bool:
        lowered = " ".join(text.lower().split())
        phrases = (
            [p for ps in self.denied_topics.values() for p in ps] + self.denied_words + list(_PROMPT_ATTACKS)
        )
        return any(re.search(rf"(?<!\w){re.escape(p.lower())}(?!\w)", lowered) for p in phrases)

    @staticmethod
    def mask(text: str, published: str = "") -> str:
        """Anonymize phone and card numbers in an output, except those ``published`` (the cited passages):
        the guardrail protects attendees, not the event's own hotline."""
        known = {_digits(m) for m in re.findall(r"\+?\d[\d ()-]{7,}\d", published)}

        def unless_published(label: str) -> Callable[[re.Match[str]], str]:
            return lambda match: match.group(0) if _digits(match.group(0)) in known else label

        text = re.sub(r"(?<!\w)\+?\d[\d ()-]{7,}\d(?!\w)", unless_published("{PHONE}"), text)
        return re.sub(
            r"(?<!\d)(?:\d[ -]?){13,16}(?!\d)", unless_published("{CREDIT_DEBIT_CARD_NUMBER}"), text
        )


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _reference(hit_or_passage: Hit | Passage, score: float | None = None) -> dict[str, Any]:
    passage = hit_or_passage.passage if isinstance(hit_or_passage, Hit) else hit_or_passage
    reference: dict[str, Any] = {
        "content": {"text": passage.text, "type": "TEXT"},
        "location": {"type": "S3", "s3Location": {"uri": passage.uri}},
        "metadata": {
            "x-amz-bedrock-kb-source-uri": passage.uri,
            "x-amz-bedrock-kb-chunk-id": passage.passage_id,
            "title": passage.title,
        },
    }
    if score is not None:
        reference["score"] = score
    return reference


SCRIPTED_ANSWER = "The keynote is in Hall A at 09:00; the quiet room is Room 1.4, next to the cloakroom."
SCRIPTED_SOURCE = "s3://local-knowledgebucket/venue-guide.md"


class Scripted:
    """The scripted engine (``assistant loadtest --engine scripted``): the same wire, the same guardrail,
    but a fixed answer with one citation after ``latency`` seconds, instead of the local model's work. It
    measures the pipeline apart from the model's CPU; ``latency`` stands for a real model's time.
    ``peak``: the most answers it was working on at once (the concurrency the pipeline reached)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.peak = 0
        self._working = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            self._working += 1
            self.peak = max(self.peak, self._working)
        try:
            if self.latency > 0:
                time.sleep(self.latency)  # real time: a worker waits on the network, others run
        finally:
            with self._lock:
                self._working -= 1

    def retrieve_and_generate(self, session: str) -> dict[str, Any]:
        self.wait()
        reference = {
            "content": {"text": SCRIPTED_ANSWER},
            "location": {"type": "S3", "s3Location": {"uri": SCRIPTED_SOURCE}},
            "metadata": {"x-amz-bedrock-kb-source-uri": SCRIPTED_SOURCE},
        }
        return {
            "output": {"text": SCRIPTED_ANSWER},
            "citations": [
                {
                    "generatedResponsePart": {"textResponsePart": {"text": SCRIPTED_ANSWER}},
                    "retrievedReferences": [reference],
                }
            ],
            "sessionId": session,
            "guardrailAction": "NONE",
        }

    def retrieve(self) -> dict[str, Any]:
        reference = {
            "content": {"text": SCRIPTED_ANSWER},
            "location": {"type": "S3", "s3Location": {"uri": SCRIPTED_SOURCE}},
            "score": 1.0,
        }
        return {"retrievalResults": [reference]}

    def converse(self, request: dict[str, Any]) -> dict[str, Any]:
        self.wait()
        choice = ((request.get("toolConfig") or {}).get("toolChoice") or {}).get("tool") or {}
        if choice.get("name"):
            # The categorizer's forced tool: the first category its prompt lists.
            system = " ".join(str(part.get("text", "")) for part in request.get("system") or [])
            listed = re.findall(r"^- (.+)$", system.split("Call the", 1)[0], re.MULTILINE)
            category = listed[0].strip() if listed else "Other"
            return {
                "output": {
                    "message": {
                        "role": "assistant",
                        "content": [
                            {
                                "toolUse": {
                                    "toolUseId": "scripted",
                                    "name": choice["name"],
                                    "input": {"category": category},
                                }
                            }
                        ],
                    }
                },
                "stopReason": "tool_use",
                "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
                "metrics": {"latencyMs": int(self.latency * 1000)},
            }
        return _converse_reply(SCRIPTED_ANSWER, "end_turn")


class BedrockStandIn:
    """Both Bedrock runtimes, locally. ``calls`` records operations in order; ``fail_next`` injects faults."""

    def __init__(
        self,
        knowledge_base: KnowledgeBase,
        guardrail: LocalGuardrail,
        *,
        knowledge_base_id: str,
        threshold: float = DEFAULT_THRESHOLD,
        catalog: Catalog | None = None,
        scripted: Scripted | None = None,
    ) -> None:
        self.scripted = scripted
        """When set, the scripted engine answers instead of the local model (after the guardrail)."""
        self.catalog = catalog
        """What the local "model" knows of the agenda's names (rooms, speakers, days) to call its tools."""
        self.knowledge_base = knowledge_base
        self.guardrail = guardrail
        self.knowledge_base_id = knowledge_base_id
        self.threshold = threshold
        self.calls: list[str] = []
        self._faults: deque[tuple[str, int]] = deque()
        self._sessions: dict[str, tuple[str, tuple[Passage, ...]]] = {}
        """Bedrock's sessions: each one's previous question, the conversation a follow-up leans on."""
        self._lock = threading.Lock()
        self.agent_runtime = RestJsonServer("bedrock-agent-runtime")
        self.agent_runtime.route("/retrieveAndGenerate", self._retrieve_and_generate)
        self.agent_runtime.route(r"/knowledgebases/(?P<kb>[^/]+)/retrieve", self._retrieve)
        self.runtime = RestJsonServer("bedrock-runtime")
        self.runtime.route(r"/model/(?P<model>.+)/converse", self._converse)

    def start(self) -> BedrockStandIn:
        self.agent_runtime.start()
        self.runtime.start()
        return self

    def stop(self) -> None:
        self.agent_runtime.stop()
        self.runtime.stop()

    def __enter__(self) -> BedrockStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, code: str = "ThrottlingException", status: int = 429, times: int = 1) -> None:
        with self._lock:
            self._faults.extend((code, status) for _ in range(times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _enter(self, operation: str) -> None:
        with self._lock:
            self.calls.append(operation)
            if self._faults:
                code, status = self._faults.popleft()
                raise ServiceError(code, status, "injected fault")

    # -- operations -----------------------------------------------------------------------------------------

    def _retrieve_and_generate(self, request: dict[str, Any], _: dict[str, str]) -> dict[str, Any]:
        self._enter("RetrieveAndGenerate")
        text = str((request.get("input") or {}).get("text") or "")
        if not text:
            raise ServiceError("ValidationException", 400, "input.text is required")
        if len(text) > RETRIEVE_AND_GENERATE_LIMIT:
            raise ServiceError("ValidationException", 400, "input.text exceeds 1000 characters")
        config = (request.get("retrieveAndGenerateConfiguration") or {}).get(
            "knowledgeBaseConfiguration"
        ) or {}
        self._check_knowledge_base(str(config.get("knowledgeBaseId") or ""))
        if not config.get("modelArn"):
            raise ServiceError("ValidationException", 400, "modelArn is required")
        generation = config.get("generationConfiguration") or {}
        template = ((generation.get("promptTemplate") or {}).get("textPromptTemplate")) or "$search_results$"
        if "$search_results$" not in template:
            raise ServiceError(
                "ValidationException", 400, "the prompt template must contain $search_results$"
            )
        guardrail = generation.get("guardrailConfiguration")
        session = self._session(request.get("sessionId"))
        if guardrail:
            self._check_guardrail(guardrail.get("guardrailId"), guardrail.get("guardrailVersion"))
            if self.guardrail.intervenes(text):
                return {
                    "output": {"text": self.guardrail.blocked_message},
                    "citations": [],
                    "guardrailAction": "INTERVENED",
                    "sessionId": session,
                }
        if self.scripted is not None:
            return self.scripted.retrieve_and_generate(session)
        vector = (config.get("retrievalConfiguration") or {}).get("vectorSearchConfiguration") or {}
        asked = text
        text, earlier = self._in_context(session, text)
        result = None
        if earlier:
            # A follow-up is first about what the previous answer quoted ("and where is that?").
            quoted = [Hit(p, 1.0) for p in earlier]
            result = answer(
                text,
                quoted,
                self.knowledge_base,
                threshold=self.threshold,
                vocabulary=self.knowledge_base.vocabulary,
            )
        if result is None or result.text is None:
            hits = self.knowledge_base.search(text, k=int(vector.get("numberOfResults") or 5))
            result = answer(
                text,
                hits,
                self.knowledge_base,
                threshold=self.threshold,
                vocabulary=self.knowledge_base.vocabulary,
            )
        # The question as asked is remembered, not as read: a conversation does not pile questions up.
        self._remember(session, asked, tuple(c.passage for c in result.citations))
        if result.text is None:
            return {"output": {"text": NO_RESULTS_TEXT}, "citations": [], "sessionId": session}
        published = " ".join(c.passage.text for c in result.citations)
        output = self.guardrail.mask(result.text, published) if guardrail else result.text
        output = _in_their_language(output, asked)
        citations = [
            {
                "generatedResponsePart": {"textResponsePart": {"text": " ".join(c.sentences)}},
                "retrievedReferences": [_reference(c.passage)],
            }
            for c in result.citations
        ]
        response: dict[str, Any] = {"output": {"text": output}, "citations": citations, "sessionId": session}
        if guardrail:
            response["guardrailAction"] = "NONE"
        return response

    def _retrieve(self, request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        self._enter("Retrieve")
        self._check_knowledge_base(params["kb"])
        text = str((request.get("retrievalQuery") or {}).get("text") or "")
        if not text or len(text) > RETRIEVE_LIMIT:
            raise ServiceError("ValidationException", 400, "retrievalQuery.text must be 1-20000 characters")
        if self.scripted is not None:
            return self.scripted.retrieve()
        vector = (request.get("retrievalConfiguration") or {}).get("vectorSearchConfiguration") or {}
        # A long message is searched by the question it asks (the local index embeds one short text well).
        hits = self.knowledge_base.search(_focus(text), k=int(vector.get("numberOfResults") or 5))
        return {"retrievalResults": [_reference(hit, hit.score) for hit in hits]}

    def _converse(self, request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """A grounded "model": answers the question from the documents inside the user's message."""
        self._enter("Converse")
        messages = request.get("messages") or []
        if not messages:
            raise ServiceError("ValidationException", 400, "messages is required")
        parts = [part for part in (messages[-1].get("content") or []) if isinstance(part, dict)]
        prompt = "".join(str(part.get("text", "")) for part in parts)
        guarded = " ".join(
            str(((part.get("guardContent") or {}).get("text") or {}).get("text", "")) for part in parts
        ).strip()
        # With guardContent, the guardrail reads only that part (the question); without, the whole message.
        question = _focus(guarded or prompt.rsplit("Question:", 1)[-1].strip())
        if request.get("toolConfig") and guarded:
            question = guarded  # a short question to the tools is read whole ("I like data. What...?")
        guardrail = request.get("guardrailConfig")
        if guardrail:
            self._check_guardrail(guardrail.get("guardrailIdentifier"), guardrail.get("guardrailVersion"))
            if self.guardrail.intervenes(question):
                return _converse_reply(self.guardrail.blocked_message, "guardrail_intervened")
        if self.scripted is not None:
            return self.scripted.converse(request)
        if request.get("toolConfig"):
            return self._use_tools(messages, question)
        # A model reads a retrieved passage with what it knows of documents; the extractive stand-in needs
        # its headings, which the knowledge base still holds for the text it returned.
        held = {p.text.strip(): p for p in self.knowledge_base.passages}
        passages = [
            held.get(body.strip())
            or Passage(
                passage_id=f"prompt-{n}",
                doc_id=source,
                title=source,
                uri=source,
                section="",
                text=body.strip(),
            )
            for n, (source, body) in enumerate(
                re.findall(r"<document index=\d+ source=([^>]*)>\n(.*?)\n</document>", prompt, re.DOTALL)
            )
        ]
        if not passages:
            return _converse_reply("NO_ANSWER", "end_turn")
        # The documents arrive in retrieval order: keep it as the ranking.
        hits = [Hit(passage=p, score=1.0 / (n + 1)) for n, p in enumerate(passages)]
        result = answer(
            question,
            hits,
            self.knowledge_base,
            threshold=self.threshold,
            vocabulary=self.knowledge_base.vocabulary,
        )
        if result.text is None:
            return _converse_reply("NO_ANSWER", "end_turn")
        published = " ".join(p.text for p in passages)
        text = self.guardrail.mask(result.text, published) if guardrail else result.text
        return _converse_reply(_in_their_language(text, question), "end_turn")

    def _use_tools(self, messages: list[dict[str, Any]], question: str) -> dict[str, Any]:
        """The local "model" with tools: it reads the question into a tool call, then writes the tool's
        result as the reply, in the question's language. A follow-up it cannot read into a call of its own
        ("who's giving it?") is answered from the earlier results the conversation carries."""
        last = [part for part in messages[-1].get("content") or [] if isinstance(part, dict)]
        results = [part["toolResult"] for part in last if isinstance(part.get("toolResult"), dict)]
        new_question = any("guardContent" in part for part in last)
        if new_question or not results:
            call = interpret(question, self.catalog) if self.catalog is not None else None
            if call is not None:
                return _tool_use(call)
            if not results:
                return _converse_reply("NO_ANSWER", "end_turn")
        asked = next(
            (
                part["toolUse"]
                for message in reversed(messages)
                if message.get("role") == "assistant"
                for part in message.get("content") or []
                if isinstance(part, dict) and isinstance(part.get("toolUse"), dict)
            ),
            None,
        )
        content = (results[0].get("content") or [{}])[0]
        result = content.get("json") if isinstance(content, dict) else None
        if asked is None or not isinstance(result, dict):
            return _converse_reply("NO_ANSWER", "end_turn")
        call = ToolCall(str(asked.get("name", "")), dict(asked.get("input") or {}))
        text = render(call, result, language=detect(_latest_question(messages) or question))
        return _converse_reply(text or "NO_ANSWER", "end_turn")

    # -- checks ---------------------------------------------------------------------------------------------

    def _check_knowledge_base(self, knowledge_base_id: str) -> None:
        if knowledge_base_id != self.knowledge_base_id:
            raise ServiceError("ResourceNotFoundException", 404, "no such knowledge base")

    def _check_guardrail(self, guardrail_id: object, version: object) -> None:
        if guardrail_id != self.guardrail.guardrail_id or str(version) != self.guardrail.version:
            raise ServiceError("ValidationException", 400, "unknown guardrail or version")

    def _session(self, requested: object) -> str:
        with self._lock:
            if requested is None:
                session = str(uuid.uuid4())
                self._sessions[session] = ("", ())
                return session
            if requested not in self._sessions:
                raise ServiceError("ValidationException", 400, "session not found or expired")
            return str(requested)

    def _in_context(self, session: str, question: str) -> tuple[str, tuple[Passage, ...]]:
        """The question as the conversation so far reads it, and for a follow-up the passages the previous
        answer quoted: a short question that points back ("and where is that?") is searched together with
        the previous question and answered first from what was quoted, as a model with the session would."""
        with self._lock:
            previous, quoted = self._sessions.get(session, ("", ()))
            if not (previous and points_back(question)):
                return question, ()
            return f"{previous} {question}", quoted

    def _remember(self, session: str, understood: str, quoted: tuple[Passage, ...]) -> None:
        with self._lock:
            self._sessions[session] = (understood, quoted)


def _in_their_language(quote: str, question: str) -> str:
    """An extractive model can only quote the documents: the words around the quote are the question's
    language's (a generating model answers in it outright)."""
    language = detect(question)
    if language in (None, DOCUMENTS_LANGUAGE) or language == detect(quote):
        return quote
    return f"{say('quoted', language)}\n{quote}"


def _focus(message: str) -> str:
    """The question a long message asks: its last sentence ending in "?" (a model reads the whole message;
    the extractive stand-in needs the question itself)."""
    if len(message) <= FOCUS_CHARS:
        return message
    # Sentences end at ".", "!" or "?", but not at the dot of "Room 2.1".
    questions: list[str] = [q.strip() for q in re.findall(r"(?:[^.!?\n]|\.(?=\d))*\?", message) if q.strip()]
    if not questions:
        return message
    # "But first: where is the keynote?" asks what follows its colon.
    asked = questions[-1].rsplit(":", 1)[-1].strip()
    return asked if len(asked.split()) >= 3 else questions[-1]


def _latest_question(messages: list[dict[str, Any]]) -> str:
    """The attendee's latest question in a Converse conversation: the last guarded text a user sent."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        for part in message.get("content") or []:
            if isinstance(part, dict) and isinstance(part.get("guardContent"), dict):
                return str(((part["guardContent"].get("text") or {}).get("text")) or "")
    return ""


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": f"tooluse_{uuid.uuid4().hex[:20]}",
                            "name": call.name,
                            "input": call.input,
                        }
                    }
                ],
            }
        },
        "stopReason": "tool_use",
        "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
        "metrics": {"latencyMs": 1},
    }


def _converse_reply(text: str, stop_reason: str) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop_reason,
        "usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0},
        "metrics": {"latencyMs": 1},
    }
