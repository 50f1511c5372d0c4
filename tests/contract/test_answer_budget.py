"""One contract, two budgets: the global answer budget on DynamoDB (on moto) and in memory count alike.

What both must do (docs/exactly-once.md, the answer stage's budget grant): at most ``limit`` grants a
minute across all messages; a message granted once is recognised on every later try (never counted again,
never turned away, whatever the minute's count by then); a denial records nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.dynamodb import DynamoDBAnswerBudget, DynamoDBConversationStore
from assistant.errors import RetryableError
from assistant.fakes import FixedClock, InMemoryAnswerBudget, InMemoryConversationStore
from assistant.local import faults
from assistant.ports import AdmissionRequest, AnswerBudget, ConversationStore, Spend
from tests.worlds import STORE_LIMITS, create_table

MINUTE = 1_800_000_000 // 60
"""The minute FixedClock starts in (its first second)."""


@dataclass
class Subject:
    store: ConversationStore
    clock: FixedClock
    make: Callable[[int], AnswerBudget]
    count: Callable[[int], int]
    """The questions granted in one minute, as the budget recorded them."""

    def question(self, key: str) -> str:
        """A message admitted by the inbound stage and claimed by the answer stage, as the budget finds it."""
        self.store.admit(AdmissionRequest(key, f"user-{key}", 10, True, f"inbound-{key}"))
        assert self.store.claim_answer(key, f"answer-{key}", 150).granted
        return key


def _dynamodb(clock: FixedClock) -> Iterator[Subject]:
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)

        def count(minute: int) -> int:
            item = client.get_item(TableName="t", Key={"pk": {"S": f"budget#{minute}"}}).get("Item", {})
            return int(item.get("n", {}).get("N", 0))

        yield Subject(
            DynamoDBConversationStore(client, "t", STORE_LIMITS, clock),
            clock,
            lambda limit: DynamoDBAnswerBudget(client, "t", limit, clock),
            count,
        )


def _memory(clock: FixedClock) -> Iterator[Subject]:
    budgets: list[InMemoryAnswerBudget] = []

    def make(limit: int) -> AnswerBudget:
        budgets.append(InMemoryAnswerBudget(clock, limit))
        return budgets[-1]

    yield Subject(
        InMemoryConversationStore(clock, STORE_LIMITS),
        clock,
        make,
        lambda minute: sum(b.counts.get(minute, 0) for b in budgets),
    )


@pytest.fixture(params=["dynamodb", "memory"])
def s(request: pytest.FixtureRequest) -> Iterator[Subject]:
    clock = FixedClock()
    yield from (_dynamodb if request.param == "dynamodb" else _memory)(clock)


def test_a_minute_grants_up_to_its_limit_and_denies_the_rest(s: Subject) -> None:
    budget = s.make(3)
    spent = [budget.spend(s.question(f"m{n}")) for n in range(5)]
    assert spent == [Spend.GRANTED] * 3 + [Spend.DENIED] * 2
    assert s.count(MINUTE) == 3


def test_the_next_minute_grants_again(s: Subject) -> None:
    budget = s.make(1)
    assert budget.spend(s.question("a")) is Spend.GRANTED
    assert budget.spend(s.question("b")) is Spend.DENIED
    s.clock.advance(59)
    assert budget.spend(s.question("c")) is Spend.DENIED  # still the same minute
    s.clock.advance(1)
    assert budget.spend(s.question("d")) is Spend.GRANTED
    assert (s.count(MINUTE), s.count(MINUTE + 1)) == (1, 1)


def test_a_message_granted_before_is_recognised_and_not_counted_again(s: Subject) -> None:
    budget = s.make(2)
    key = s.question("a")
    assert budget.spend(key) is Spend.GRANTED
    assert budget.spend(key) is Spend.GRANTED_BEFORE
    assert s.count(MINUTE) == 1


def test_its_own_grant_is_recognised_even_when_the_minute_is_full_by_now(s: Subject) -> None:
    budget = s.make(2)
    key = s.question("a")
    budget.spend(key)
    budget.spend(s.question("b"))  # the minute is full, a's place among the two
    assert budget.spend(key) is Spend.GRANTED_BEFORE
    assert budget.spend(s.question("c")) is Spend.DENIED
    assert s.count(MINUTE) == 2


def test_its_own_grant_is_recognised_in_a_later_minute_and_counts_nothing_there(s: Subject) -> None:
    budget = s.make(1)
    key = s.question("a")
    budget.spend(key)
    s.clock.advance(720)  # SQS's retry of the answer stage, after its visibility timeout
    assert budget.spend(key) is Spend.GRANTED_BEFORE
    assert s.count(MINUTE + 12) == 0
    assert budget.spend(s.question("b")) is Spend.GRANTED  # that minute's place is still free


def test_a_denial_records_nothing_so_a_later_minute_may_grant_it(s: Subject) -> None:
    budget = s.make(1)
    budget.spend(s.question("a"))
    key = s.question("b")
    assert budget.spend(key) is Spend.DENIED
    assert budget.spend(key) is Spend.DENIED
    assert s.count(MINUTE) == 1
    s.clock.advance(60)
    assert budget.spend(key) is Spend.GRANTED
    assert budget.spend(key) is Spend.GRANTED_BEFORE


# -- DynamoDB alone: what is recorded, and a transaction whose answer was lost ------------------------------


@pytest.fixture
def ddb() -> Iterator[tuple[Subject, Any]]:
    clock = FixedClock()
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)
        subject = Subject(
            DynamoDBConversationStore(client, "t", STORE_LIMITS, clock),
            clock,
            lambda limit: DynamoDBAnswerBudget(client, "t", limit, clock),
            lambda minute: 0,
        )
        yield subject, client


def _item(client: Any, pk: str) -> dict[str, dict[str, str]]:
    item: dict[str, dict[str, str]] = client.get_item(TableName="t", Key={"pk": {"S": pk}}).get("Item", {})
    return item


def test_several_answer_functions_share_the_tables_budget(ddb: tuple[Subject, Any]) -> None:
    subject, _ = ddb
    first, second = subject.make(2), subject.make(2)
    assert first.spend(subject.question("a")) is Spend.GRANTED
    assert second.spend(subject.question("b")) is Spend.GRANTED
    assert second.spend(subject.question("c")) is Spend.DENIED
    assert first.spend(subject.question("d")) is Spend.DENIED


def test_the_grant_is_kept_on_the_marker_and_the_count_expires_after_its_minute(
    ddb: tuple[Subject, Any],
) -> None:
    subject, client = ddb
    subject.make(5).spend(subject.question("a"))
    assert _item(client, "msg#a")["budget_minute"] == {"N": str(MINUTE)}
    counter = _item(client, f"budget#{MINUTE}")
    assert counter["n"] == {"N": "1"}
    assert counter["expires_at"] == {"N": str((MINUTE + 2) * 60)}


def test_a_transaction_applied_whose_answer_was_lost_is_recognised_by_botocores_retry(
    ddb: tuple[Subject, Any],
) -> None:
    subject, client = ddb
    budget = subject.make(1)  # the lost transaction fills the minute: its retry must not be turned away
    plan = faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "TransactWriteItems"))])
    key = subject.question("a")
    with faults.injected(plan):
        assert budget.spend(key) in (Spend.GRANTED, Spend.GRANTED_BEFORE)
    assert plan.fired
    assert _item(client, f"budget#{MINUTE}")["n"] == {"N": "1"}


def test_a_message_without_a_marker_is_never_granted(ddb: tuple[Subject, Any]) -> None:
    subject, client = ddb
    with pytest.raises(RetryableError, match="marker"):
        subject.make(5).spend("never-admitted")
    assert _item(client, "msg#never-admitted") == {}
    assert _item(client, f"budget#{MINUTE}") == {}
