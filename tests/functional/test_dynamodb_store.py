"""DynamoDBConversationStore on moto: what only DynamoDB has (call counts, item shapes, races, lost answers).

The decisions themselves are pinned for both stores by tests/contract/test_conversation_store.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.dynamodb import DynamoDBConversationStore
from assistant.fakes import FixedClock
from assistant.local import faults
from assistant.ports import AdmissionRequest, Outcome
from assistant.services.admission import AdmissionLimits
from tests.worlds import STORE_LIMITS, create_table

LIMITS = STORE_LIMITS


class CountingClient:
    """Wraps the real client and counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if callable(attribute):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attribute(*args, **kwargs)

            return counted
        return attribute


@pytest.fixture
def db() -> Iterator[CountingClient]:
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)
        yield CountingClient(client)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def store(
    db: CountingClient, clock: FixedClock, limits: AdmissionLimits = LIMITS
) -> DynamoDBConversationStore:
    return DynamoDBConversationStore(db, "t", limits, clock)


def ask(key: str, user: str = "u", chars: int = 10, lease: bool = True) -> AdmissionRequest:
    return AdmissionRequest(key, user, chars, lease, attempt=f"attempt-of-{key}")


def item(db: CountingClient, pk: str) -> dict[str, Any]:
    return db._client.get_item(TableName="t", Key={"pk": {"S": pk}}).get("Item", {})


def test_accepted_question_costs_exactly_one_call(db: CountingClient, clock: FixedClock) -> None:
    assert store(db, clock).admit(ask("m1")).outcome is Outcome.ACCEPTED
    assert db.calls == ["transact_write_items"]
    marker, user = item(db, "msg#m1"), item(db, "user#u")
    assert marker["expires_at"] == {"N": str(int(clock.now()) + 3600)}  # a Number TTL
    assert user["lease_owner"] == {"S": "m1"}
    assert user["conv_msgs"] == {"N": "1"} and user["conv_chars"] == {"N": "10"}


def test_warm_user_question_still_costs_one_call(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.release("u", "m1")
    db.calls.clear()
    assert s.admit(ask("m2")).outcome is Outcome.ACCEPTED
    assert db.calls == ["transact_write_items"]


def test_conversation_budget_resets_counters_and_says_so(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    for n in range(3):
        assert s.admit(ask(f"m{n}")).outcome is Outcome.ACCEPTED
        s.release("u", f"m{n}")
        clock.advance(1)
    db.calls.clear()
    admission = s.admit(ask("m3"))
    assert admission.outcome is Outcome.ACCEPTED and admission.conversation_reset
    assert db.calls == ["transact_write_items", "transact_write_items"]
    assert item(db, "user#u")["conv_msgs"] == {"N": "1"}


@pytest.fixture
def serialized_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB serializes the writes to an item; moto does not (no lock around a conditional write).

    Holding a lock around moto's write operations restores what the real service guarantees, so the test
    checks our conditions under real concurrency, not moto's race.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()  # transact_write_items calls the others
    for name in ("transact_write_items", "put_item", "update_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.mark.usefixtures("serialized_moto")
def test_two_threads_racing_for_one_users_lease_have_exactly_one_winner(clock: FixedClock) -> None:
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)
        for round_ in range(20):
            barrier = threading.Barrier(2)
            results: list[Outcome] = []

            def contend(
                key: str,
                round_: int = round_,
                barrier: threading.Barrier = barrier,
                results: list[Outcome] = results,
            ) -> None:
                s = DynamoDBConversationStore(boto3.client("dynamodb"), "t", LIMITS, clock)
                barrier.wait()
                results.append(s.admit(ask(key, user=f"user{round_}")).outcome)

            threads = [threading.Thread(target=contend, args=(f"r{round_}-{n}",)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(results) == sorted([Outcome.ACCEPTED, Outcome.BUSY]), results


def test_completing_an_answer_releases_the_lease_in_the_same_call(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.claim_answer("m1", "a", 150)
    db.calls.clear()
    s.complete_answer("m1", "a", lease_of="u")
    assert db.calls == ["transact_write_items"]
    assert "lease_owner" not in item(db, "user#u")
    assert "answered_at" in item(db, "msg#m1")


def test_a_transaction_conflict_is_tried_again_at_once(db: CountingClient, clock: FixedClock) -> None:
    """Real DynamoDB cancels the loser of a race with TransactionConflict (moto never does)."""
    from botocore.exceptions import ClientError

    s = store(db, clock)
    s.admit(ask("m1"))
    real = db._client.transact_write_items
    calls = {"n": 0}

    def conflicting(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [
                        {"Code": "None"},
                        {"Code": "None"},
                        {"Code": "TransactionConflict"},
                    ],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    db._client.transact_write_items = conflicting
    assert s.admit(ask("m2")).outcome is Outcome.BUSY


def test_the_user_item_has_a_fixed_set_of_attributes_however_long_the_user_stays(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    for n in range(30):
        s.admit(ask(f"m{n}"))
        s.release("u", f"m{n}")
        clock.advance(3600)  # a new rate window (and conversation) every time
    fixed = {"pk", "lease_owner", "lease_until", "conv_msgs", "conv_chars", "conv_until", "session_id"}
    assert set(item(db, "user#u")) <= fixed | {"expires_at"}
    rate = item(db, f"rate#u#{int(clock.now()) // 60 - 60}")
    assert int(rate["expires_at"]["N"]) < clock.now()  # old windows expire by TTL


def test_an_admission_applied_whose_answer_was_lost_is_recognised_by_botocores_retry(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    plan = faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "TransactWriteItems"))])
    with faults.injected(plan):
        assert s.admit(ask("m1")).outcome is Outcome.ACCEPTED  # not DUPLICATE
    assert plan.fired  # the fault did fire
    assert item(db, "user#u")["conv_msgs"] == {"N": "1"}  # and nothing was counted twice
    assert item(db, f"rate#u#{int(clock.now()) // 60}")["n"] == {"N": "1"}


def test_a_claim_and_a_completion_applied_whose_answers_were_lost_are_their_own(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    with faults.injected(faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "UpdateItem"))])):
        assert s.claim_answer("m1", "a", 150).granted
    with faults.injected(faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "TransactWriteItems"))])):
        s.complete_answer("m1", "a", lease_of="u")
    assert "answered_at" in item(db, "msg#m1")
    assert "lease_owner" not in item(db, "user#u")
