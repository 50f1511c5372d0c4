"""benchmarks/capacity.py's arithmetic: Little's law, the cost of calls at given prices, DynamoDB units, the
calls per question of a load test, and the binding constraint. Pure functions: no replay, no network."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("capacity", ROOT / "benchmarks" / "capacity.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["capacity"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


capacity = _load()


def deployment(**functions: object) -> object:
    return capacity.Deployment(functions=functions, parameters={}, generation={}, chunk_tokens=300, alarms=[])


def profile(*names: str) -> object:
    """A question making one call of each name (two WhatsApp sends: the read receipt and the reply)."""
    calls = {name: 1.0 for name in names} | {"socialmessaging.SendWhatsAppMessage": 2.0}
    return capacity.Profile(source="test", calls=calls, replies_sent=1.0, wru=40.0, rru=5.0)


RAG = "bedrock-agent-runtime.RetrieveAndGenerate"
PUBLISH = "sns.Publish"


def test_littles_law_concurrency_is_rate_times_duration() -> None:
    assert capacity.concurrency(10, 3) == 30
    assert capacity.rate_for(30, 3) == 10
    assert capacity.rate_for(30, 0) == math.inf
    # 500 questions a minute of 3 s answers keep 25 answer functions busy.
    assert capacity.concurrency(500 / 60, 3.0) == pytest.approx(25)


def test_cost_per_thousand_is_quantity_times_unit_price_times_a_thousand() -> None:
    prices = {
        "a": capacity.Price(0.06, 1e6, "token", "https://example.com/a"),
        "b": capacity.Price(0.15, 1000, "text unit", "https://example.com/b"),
    }
    lines = [
        capacity.Line("Model", "input", 2000, "a"),
        capacity.Line("Guard", "units", 4, "b"),
        capacity.Line("Model", "more input", 1000, "a"),
    ]
    costed = capacity.cost_per_thousand(lines, prices)
    assert [round(cost, 6) for _, cost in costed] == [0.12, 0.6, 0.06]
    assert capacity.by_service(costed) == pytest.approx({"Guard": 0.6, "Model": 0.18})
    assert list(capacity.by_service(costed)) == ["Guard", "Model"]  # the biggest first


def test_every_line_of_the_cost_model_has_a_price_with_its_source_and_date() -> None:
    a = capacity.Assumptions()
    lines = capacity.usage(profile(PUBLISH, RAG), a, deployment())
    assert {line.price for line in lines} <= set(capacity.PRICES)
    for price in [*capacity.PRICES.values(), *capacity.MONTHLY.values()]:
        assert price.source.startswith("https://")
        assert price.read == capacity.READ_ON
        assert price.per > 0


def test_a_question_brings_its_replys_statuses_through_the_inbound_path() -> None:
    a = capacity.Assumptions(statuses_per_reply=3)
    lines = {
        (line.service, line.item): line.quantity
        for line in capacity.usage(profile(PUBLISH, RAG), a, deployment())
    }
    assert lines[("Lambda", "requests")] == 4 + 1 + 1  # the message and 3 statuses, the answer, the category
    assert lines[("SQS", "requests (SNS delivery, receive, delete)")] == 3 * (4 + 1 + 1)
    assert lines[("SNS", "publishes (inbound events, processed messages)")] == 4 + 1
    assert (
        lines[("Bedrock Guardrails", "text units, denied topics")] == 2 * 2
    )  # answer and category, in and out


def test_dynamodb_units_of_transactions_writes_and_reads() -> None:
    def key(pk: str) -> dict[str, object]:
        return {"pk": {"S": pk}}

    transaction = {
        "TransactItems": [
            {"Put": {"Item": key("msg#1")}},
            {"Update": {"Key": key("stats#7")}},
            {"ConditionCheck": {"Key": key("user#u")}},
        ]
    }
    wru, rru, writes = capacity.dynamodb_units("TransactWriteItems", transaction)
    assert (wru, rru) == (6.0, 0.0)
    assert writes == [("msg#1", 2.0), ("stats#7", 2.0), ("user#u", 2.0)]
    big = {"Item": {"pk": {"S": "gaps#1"}, "text": {"S": "x" * 3000}}}
    assert capacity.dynamodb_units("PutItem", big)[0] == 3.0  # 3 KB: 3 WRU
    assert capacity.dynamodb_units("GetItem", {"ConsistentRead": True})[:2] == (0.0, 1.0)
    assert capacity.dynamodb_units("GetItem", {})[:2] == (0.0, 0.5)
    batch = {"RequestItems": {"t": {"Keys": [key("a"), key("b")], "ConsistentRead": True}}}
    assert capacity.dynamodb_units("BatchGetItem", batch)[:2] == (0.0, 2.0)


def test_shared_items_are_those_every_attendee_writes() -> None:
    writes = [
        ("stats#1234", 2.0),
        ("stats#1234", 2.0),
        ("stats#index", 2.0),
        ("users#2026-11-23#a", 2.0),
        ("msg#abc", 2.0),
        ("user#u", 1.0),
    ]
    assert capacity.shared_item_wru(writes) == {
        "stats#<n>": 4.0,
        "stats#index": 2.0,
        "users#<day>#<shard>": 2.0 / 16,
    }


def test_a_load_tests_calls_are_divided_by_its_questions() -> None:
    run = {
        "messages": 120,
        "valid": 110,
        "replies": 100,
        "static_replies": 20,
        "calls": {
            "dynamodb.TransactWriteItems": 400,
            "dynamodb.GetItem": 300,
            "bedrock-agent-runtime.RetrieveAndGenerate": 80,
            "sqs.ReceiveMessage": 999,
            "sns.Publish": 250,
        },
    }
    per_reply = capacity.profile_from_loadtest(run, items_per_transaction=3)
    assert per_reply.calls["dynamodb.TransactWriteItems"] == 4
    assert "sqs.ReceiveMessage" not in per_reply.calls  # the local poller's: Lambda's event sources on AWS
    assert per_reply.calls["sns.Publish"] == 1  # the inbound function's; the inbound topic is modelled
    assert per_reply.wru == 2 * 3 * 4
    assert per_reply.rru == 3
    per_answer = capacity.profile_from_loadtest(run, per="answers")
    assert per_answer.calls["bedrock-agent-runtime.RetrieveAndGenerate"] == 1  # 80 / (100 - 20)
    with pytest.raises(ValueError, match="--per"):
        capacity.profile_from_loadtest(run, per="seconds")
    with pytest.raises(ValueError, match="no questions"):
        capacity.per_question({"x": 1}, 0)


def test_the_binding_constraint_is_the_smallest_rate_and_shows_its_arithmetic() -> None:
    a = capacity.Assumptions(
        input_tokens=1800, output_tokens=200, categorizer_input_tokens=500, categorizer_output_tokens=30
    )
    p = profile(PUBLISH, RAG)
    us = capacity.limits(deployment(), a, p, capacity.QUOTAS["us-east-1"])
    bound = capacity.binding(us)
    assert bound.per_minute == pytest.approx(1000 / 2)  # 1,000 requests a minute, 2 model calls a question
    assert "1,000 RPM / 2 model calls" in bound.arithmetic
    eu = capacity.binding(capacity.limits(deployment(), a, p, capacity.QUOTAS["eu-west-1"]))
    assert eu.per_minute == pytest.approx(200_000 / (1800 + 200 + 500 + 30))  # tokens bind before requests
    assert [limit.per_minute for limit in us] == sorted(limit.per_minute for limit in us)


def test_an_answer_concurrency_cap_is_a_limit_of_its_own() -> None:
    answer = capacity.FunctionSettings(
        name="AnswerFunction",
        memory_mb=1024,
        timeout_s=120,
        batch_size=1,
        batching_window_s=0,
        reserved=None,
        max_concurrency=20,
        queue="AnswerQueue",
        visibility_s=720,
        max_receive=3,
    )
    a = capacity.Assumptions(answer_seconds=4.0)
    found = capacity.limits(deployment(AnswerFunction=answer), a, profile(RAG), capacity.QUOTAS["us-east-1"])
    cap = next(limit for limit in found if limit.name == "AnswerFunction's own concurrency cap")
    assert cap.per_minute == pytest.approx(20 / 4.0 * 60)  # Little's law, inverted
    assert capacity.binding(found) == cap


def test_the_readme_profile_counts_the_measured_calls() -> None:
    quick = capacity.profile_from_counts(
        capacity.README_CALLS, source="readme", replies_sent=1.0, items_per_transaction=4
    )
    assert sum(quick.calls.values()) == 17  # inbound 3, answer 7, the sent status 2, the categorizer 5
    assert quick.wru == 2 * 4 * 5 + 1 + 2
