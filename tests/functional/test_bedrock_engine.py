"""BedrockKnowledgeBaseEngine against scripted wire-level fakes of bedrock-agent-runtime and bedrock-runtime:
the real boto3 clients, the real HTTP and rest-json error format, scripted responses."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.adapters.aws import client
from assistant.adapters.bedrock import (
    PROMPT_TEMPLATE,
    BedrockConfig,
    BedrockKnowledgeBaseEngine,
    title_of,
)
from assistant.bootstrap import limits_of
from assistant.errors import Misconfigured
from assistant.fakes import FixedClock, InMemoryConversationStore, RecordingMetrics
from assistant.local.wire import RestJsonServer, ServiceError
from assistant.ports import AdmissionRequest, ProcessedMessage, Recipient, Verdict
from tests.worlds import settings

Reply = dict[str, Any] | ServiceError


class Scripted:
    """A rest-json server answering each operation from a script; it records every request."""

    def __init__(self, name: str, routes: dict[str, str]) -> None:
        self.server = RestJsonServer(name)
        self.script: dict[str, deque[Reply]] = {op: deque() for op in routes}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        for op, pattern in routes.items():
            self.server.route(pattern, self._handler(op))

    def _handler(self, op: str) -> Any:
        def handle(request: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
            self.requests.append((op, request | {"_params": params}))
            reply = self.script[op].popleft()
            if isinstance(reply, ServiceError):
                raise reply
            return reply

        return handle


THROTTLED = ServiceError("ThrottlingException", 429, "Rate exceeded")
CONFIG = BedrockConfig(
    knowledge_base_id="KB12345678",
    model_arn="arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    guardrail_id="gr-1",
    guardrail_version="3",
    retrieval_results=4,
    time_budget_seconds=10,
    base_delay_seconds=1,
)


def question(text: str = "Where is the opening keynote?") -> ProcessedMessage:
    return ProcessedMessage(
        message_key="m1",
        user_key="u1",
        kind="text",
        text=text,
        message_id="wamid.X",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-1",
        meta_phone_number_id="1",
        received_at=1,
    )


def cited(text: str, uri: str = "s3://kb-bucket/agenda.md", title: str | None = None) -> dict[str, Any]:
    metadata = {"title": title} if title else {}
    return {
        "output": {"text": text},
        "sessionId": "session-1",
        "citations": [
            {
                "generatedResponsePart": {"textResponsePart": {"text": text}},
                "retrievedReferences": [
                    {
                        "content": {"text": "passage"},
                        "location": {"type": "S3", "s3Location": {"uri": uri}},
                        "metadata": metadata,
                    }
                ],
            }
        ],
        "guardrailAction": "NONE",
    }


class World:
    def __init__(self, agent: Scripted, runtime: Scripted) -> None:
        self.agent, self.runtime = agent, runtime
        self.clock = FixedClock()
        self.store = InMemoryConversationStore(self.clock, limits_of(settings()))
        self.store.admit(AdmissionRequest("m1", "u1", 10, take_lease=True, attempt="a"))
        self.metrics = RecordingMetrics()
        self.sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.clock.advance(seconds)

        self.engine = BedrockKnowledgeBaseEngine(
            client("bedrock-agent-runtime", attempts=1, endpoint_url=agent.server.endpoint),
            client("bedrock-runtime", attempts=1, endpoint_url=runtime.server.endpoint),
            self.store,
            CONFIG,
            self.metrics,
            clock=self.clock,
            sleep=sleep,
        )


@pytest.fixture
def world() -> Iterator[World]:
    agent = Scripted(
        "bedrock-agent-runtime",
        {
            "RetrieveAndGenerate": "/retrieveAndGenerate",
            "Retrieve": r"/knowledgebases/(?P<kb>[^/]+)/retrieve",
        },
    )
    runtime = Scripted("bedrock-runtime", {"Converse": r"/model/(?P<model>.+)/converse"})
    agent.server.start()
    runtime.server.start()
    try:
        yield World(agent, runtime)
    finally:
        agent.server.stop()
        runtime.server.stop()


def test_cited_answer_comes_from_the_knowledge_base_with_its_sources(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(
        cited("It is in **Auditorium A** at 09:00.", title="Agenda")
    )
    answer = world.engine.answer(question())
    assert answer.source == "knowledge_base"
    assert answer.text == "It is in **Auditorium A** at 09:00."
    assert [(s.title, s.uri) for s in answer.sources] == [("Agenda", "s3://kb-bucket/agenda.md")]
    ((_, request),) = world.agent.requests
    config = request["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]
    assert config["knowledgeBaseId"] == "KB12345678"
    assert config["generationConfiguration"]["guardrailConfiguration"] == {
        "guardrailId": "gr-1",
        "guardrailVersion": "3",
    }
    assert "$search_results$" in config["generationConfiguration"]["promptTemplate"]["textPromptTemplate"]
    assert config["retrievalConfiguration"]["vectorSearchConfiguration"]["numberOfResults"] == 4
    assert "sessionId" not in request  # cannot be chosen on the first call


def test_bedrocks_session_is_kept_for_the_next_question_of_the_user(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].extend([cited("A."), cited("B.")])
    world.engine.answer(question())
    world.engine.answer(question("And the closing one?"))
    assert world.agent.requests[1][1]["sessionId"] == "session-1"


def test_expired_session_is_dropped_and_the_question_still_answered(world: World) -> None:
    world.store.save_session("u1", "old-session")
    world.agent.script["RetrieveAndGenerate"].extend(
        [ServiceError("ValidationException", 400, "Session expired"), cited("Fresh.")]
    )
    assert world.engine.answer(question()).source == "knowledge_base"
    assert "sessionId" not in world.agent.requests[1][1]
    assert world.store.get_session("u1") == "session-1"


def test_no_citations_means_no_answer_never_an_ungrounded_one(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(
        {"output": {"text": "The keynote is probably somewhere."}, "sessionId": "s", "citations": []}
    )
    answer = world.engine.answer(question())
    assert answer.verdict is Verdict.NO_ANSWER
    assert answer.text == ""  # the model's guess is not passed on


def test_model_saying_it_has_no_answer_is_i_dont_know(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(cited("NO_ANSWER"))
    assert world.engine.answer(question()).source == "no_answer"


def test_guardrail_intervention_is_reported_as_such(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(
        {
            "output": {"text": "Sorry, I can't help with that."},
            "sessionId": "s",
            "citations": [],
            "guardrailAction": "INTERVENED",
        }
    )
    answer = world.engine.answer(question("Which stocks should I buy?"))
    assert answer.verdict is Verdict.INTERVENED


def test_throttled_then_recovered_answers_after_backoff(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].extend([THROTTLED, THROTTLED, cited("Auditorium A.")])
    answer = world.engine.answer(question())
    assert answer.source == "knowledge_base"
    assert len(world.sleeps) == 2
    assert all(0 <= s <= 2 for s in world.sleeps)  # full jitter under 1 s, then 2 s
    assert world.metrics.counts["BedrockRetry ThrottlingException"] == 2


def test_throttled_past_the_budget_is_a_failure(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].extend([THROTTLED] * 10)
    answer = world.engine.answer(question())
    assert answer.verdict is Verdict.FAILED
    assert len(world.agent.requests) <= CONFIG.max_attempts
    assert world.clock.now() - 1_800_000_000.0 <= CONFIG.time_budget_seconds


def test_rejected_request_is_not_retried_and_gives_an_apology(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(
        ServiceError("ValidationException", 400, "Input too long")
    )
    assert world.engine.answer(question()).source == "error"
    assert len(world.agent.requests) == 1


def test_a_refused_configuration_is_raised_for_the_queue_to_retry_not_apologised_for(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].append(ServiceError("AccessDeniedException", 403, "no"))
    with pytest.raises(Misconfigured):
        world.engine.answer(question())
    assert len(world.agent.requests) == 1, "not retried inside the call: the deployment, not the moment"


def test_a_response_with_missing_fields_is_i_dont_know_not_a_crash(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].extend(
        [{}, {"citations": [{}]}, {"output": {}, "citations": [{"retrievedReferences": [{}]}]}]
    )
    for _ in range(3):
        assert world.engine.answer(question()).source == "no_answer"


def test_long_message_goes_through_retrieve_then_converse_with_the_guardrail(world: World) -> None:
    long_question = "Please help. " * 90 + "Where is the opening keynote?"
    assert len(long_question) > 1000
    world.agent.script["Retrieve"].append(
        {
            "retrievalResults": [
                {
                    "content": {"text": "Opening keynote, 09:00, Auditorium A."},
                    "location": {"type": "S3", "s3Location": {"uri": "s3://b/agenda.md"}},
                    "score": 0.9,
                }
            ]
        }
    )
    world.runtime.script["Converse"].append(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Auditorium A at 09:00."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        }
    )
    answer = world.engine.answer(question(long_question))
    assert answer.source == "knowledge_base"
    assert [s.uri for s in answer.sources] == ["s3://b/agenda.md"]
    assert [op for op, _ in world.agent.requests] == ["Retrieve"]
    ((_, converse),) = world.runtime.requests
    assert converse["guardrailConfig"] == {"guardrailIdentifier": "gr-1", "guardrailVersion": "3"}
    assert "Opening keynote, 09:00, Auditorium A." in converse["messages"][0]["content"][0]["text"]


def test_long_message_intervened_by_the_guardrail(world: World) -> None:
    world.agent.script["Retrieve"].append({"retrievalResults": [{"content": {"text": "x"}, "location": {}}]})
    world.runtime.script["Converse"].append(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Blocked."}]}},
            "stopReason": "guardrail_intervened",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        }
    )
    assert world.engine.answer(question("x" * 1500)).source == "guardrail"


def test_long_message_with_nothing_retrieved_is_i_dont_know(world: World) -> None:
    world.agent.script["Retrieve"].append({"retrievalResults": []})
    assert world.engine.answer(question("y" * 1200)).source == "no_answer"
    assert world.runtime.requests == []


def test_prompt_template_asks_for_grounded_short_answers_in_the_users_language() -> None:
    assert "$search_results$" in PROMPT_TEMPLATE
    assert "language of the question" in PROMPT_TEMPLATE
    assert "NO_ANSWER" in PROMPT_TEMPLATE


@pytest.mark.parametrize(
    ("uri", "metadata", "title"),
    [
        ("s3://b/venue-guide.md", None, "Venue guide"),
        ("s3://b/docs/FAQ%20v2.txt", None, "Faq v2"),
        ("s3://b/x.pdf", {"title": "Floor plan"}, "Floor plan"),
    ],
)
def test_source_titles_are_readable(uri: str, metadata: dict[str, Any] | None, title: str) -> None:
    assert title_of(uri, metadata) == title


def test_guardrail_masking_a_cited_answer_keeps_the_answer_and_its_sources(world: World) -> None:
    masked = cited("Call the venue at {PHONE}.") | {"guardrailAction": "INTERVENED"}
    world.agent.script["RetrieveAndGenerate"].append(masked)
    answer = world.engine.answer(question("What is the venue's phone number?"))
    assert answer.source == "knowledge_base"
    assert answer.text == "Call the venue at {PHONE}."
    assert world.metrics.counts["GuardrailMasked"] == 1


def test_converse_guards_only_the_question_not_the_documents(world: World) -> None:
    world.agent.script["Retrieve"].append(
        {"retrievalResults": [{"content": {"text": "First aid room: ground floor."}, "location": {}}]}
    )
    world.runtime.script["Converse"].append(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Ground floor."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        }
    )
    long_question = "Where is first aid? " * 60
    world.engine.answer(question(long_question))
    ((_, converse),) = world.runtime.requests
    content = converse["messages"][0]["content"]
    assert content[1] == {"guardContent": {"text": {"text": long_question}}}
    assert "guardContent" not in content[0]


def test_the_default_retry_budget_is_spent_in_full_not_cut_short_by_an_attempt_count(world: World) -> None:
    import random
    from dataclasses import replace

    world.engine._config = replace(CONFIG, time_budget_seconds=60.0, base_delay_seconds=0.5)
    world.engine._rng = random.Random(7)  # the jitter, made repeatable
    world.agent.script["RetrieveAndGenerate"].extend([THROTTLED] * 40)
    assert world.engine.answer(question()).source == "error"
    spent = world.clock.now() - 1_800_000_000.0
    # The README says 60 s: the retries go on close to it (the old 5 attempts stopped at about 7.5 s)...
    assert spent > 45
    assert spent <= 60  # ...and never past it


def test_no_call_starts_that_could_outlive_the_callers_deadline(world: World) -> None:
    world.agent.script["RetrieveAndGenerate"].extend([THROTTLED] * 40)
    started: list[float] = []
    call = world.engine._agent.retrieve_and_generate

    def timed(**kwargs: Any) -> Any:
        started.append(world.clock.now())
        return call(**kwargs)

    world.engine._agent.retrieve_and_generate = timed
    deadline = world.clock.now() + CONFIG.call_timeout_seconds + 5
    assert world.engine.answer(question(), deadline=deadline).source == "error"
    assert len(started) >= 2  # it did retry inside the window...
    assert all(t + CONFIG.call_timeout_seconds <= deadline for t in started)  # ...and never past it


def test_a_deadline_too_near_for_any_call_is_an_apology_without_a_call(world: World) -> None:
    answer = world.engine.answer(question(), deadline=world.clock.now() + 5)
    assert answer.source == "error"
    assert world.agent.requests == []


def test_the_prompt_asks_for_the_events_languages_with_its_fallback() -> None:
    from assistant.adapters.bedrock import language_rule

    assert language_rule(()) == "Answer in the language of the question"
    assert language_rule(("fr",)) == "Answer in French"
    assert language_rule(("es", "en")) == (
        "Answer in the language of the question if it is one of Spanish, English; otherwise answer in Spanish"
    )


def test_the_events_languages_reach_the_models_prompt(world: World) -> None:
    from dataclasses import replace

    engine = BedrockKnowledgeBaseEngine(
        client("bedrock-agent-runtime", attempts=1, endpoint_url=world.agent.server.endpoint),
        client("bedrock-runtime", attempts=1, endpoint_url=world.runtime.server.endpoint),
        world.store,
        replace(CONFIG, languages=("es", "en")),
        world.metrics,
        clock=world.clock,
    )
    world.agent.script["RetrieveAndGenerate"].append(cited("Sí."))
    engine.answer(question())
    ((_, request),) = world.agent.requests
    generation = request["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"][
        "generationConfiguration"
    ]
    assert "otherwise answer in Spanish" in generation["promptTemplate"]["textPromptTemplate"]
