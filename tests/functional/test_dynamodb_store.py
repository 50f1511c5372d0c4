"""DynamoDBConversationStore on moto: the one-write admission, the lease, the rate window, the counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.dynamodb import DynamoDBConversationStore, StoreLimits
from assistant.fakes import FixedClock
from assistant.ports import AdmissionRequest, Outcome

LIMITS = StoreLimits(
    lease_seconds=120,
    rate_limit=100,
    rate_window_seconds=60,
    conversation_max_messages=3,
    conversation_max_chars=1000,
    conversation_idle_seconds=600,
    dedupe_ttl_seconds=3600,
)


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
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield CountingClient(client)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def store(db: CountingClient, clock: FixedClock, limits: StoreLimits = LIMITS) -> DynamoDBConversationStore:
    return DynamoDBConversationStore(db, "t", limits, clock)


def ask(key: str, user: str = "u", chars: int = 10, lease: bool = True) -> AdmissionRequest:
    return AdmissionRequest(message_key=key, user_key=user, chars=chars, take_lease=lease)


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


def test_duplicate_is_detected_and_changes_nothing(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    before = item(db, "user#u")
    assert s.admit(ask("m1")).outcome is Outcome.DUPLICATE
    assert item(db, "user#u") == before


def test_busy_user_gets_busy_and_the_marker_is_written(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    assert s.admit(ask("m2")).outcome is Outcome.BUSY
    assert item(db, "msg#m2")
    assert s.admit(ask("m2")).outcome is Outcome.DUPLICATE
    assert item(db, "user#u")["lease_owner"] == {"S": "m1"}


def test_expired_lease_is_taken_over(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    clock.advance(121)
    assert s.admit(ask("m2")).outcome is Outcome.ACCEPTED
    assert item(db, "user#u")["lease_owner"] == {"S": "m2"}


def test_release_only_frees_the_owners_lease(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.release("u", owner="someone-else")
    assert item(db, "user#u")["lease_owner"] == {"S": "m1"}
    s.release("u", owner="m1")
    assert "lease_owner" not in item(db, "user#u")


def test_rate_limit_in_a_window_and_first_over_is_flagged(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock, replace(LIMITS, rate_limit=3))
    outcomes = [s.admit(ask(f"s{n}", lease=False)) for n in range(5)]
    assert [a.outcome for a in outcomes] == [Outcome.ACCEPTED] * 3 + [Outcome.RATE_LIMITED] * 2
    assert [a.first_over_limit for a in outcomes[3:]] == [True, False]
    clock.advance(60)
    assert s.admit(ask("s9", lease=False)).outcome is Outcome.ACCEPTED


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


def test_character_budget_counts_too(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1", chars=900))
    s.release("u", "m1")
    admission = s.admit(ask("m2", chars=200))
    assert admission.outcome is Outcome.ACCEPTED and admission.conversation_reset


def test_idle_conversation_restarts_without_notice(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.release("u", "m1")
    clock.advance(601)
    admission = s.admit(ask("m2"))
    assert admission.outcome is Outcome.ACCEPTED and not admission.conversation_reset


def test_forget_undoes_an_admission(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.forget("m1", "u")
    assert s.admit(ask("m1")).outcome is Outcome.ACCEPTED


def test_answer_claim_is_granted_once(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    assert s.claim_answer("m1", 60)
    assert not s.claim_answer("m1", 60)
    s.abandon_answer("m1")
    assert s.claim_answer("m1", 60)
    s.complete_answer("m1")
    clock.advance(61)
    assert not s.claim_answer("m1", 60)
    assert not s.claim_answer("never-admitted", 60)


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
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
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
    s.claim_answer("m1", 60)
    db.calls.clear()
    s.complete_answer("m1", owner_of="u")
    assert db.calls == ["transact_write_items"]
    assert "lease_owner" not in item(db, "user#u")
    assert "answered_at" in item(db, "msg#m1")


def test_completing_after_the_lease_moved_on_marks_answered_and_keeps_the_new_lease(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    s.claim_answer("m1", 600)
    clock.advance(121)
    s.admit(ask("m2"))
    s.complete_answer("m1", owner_of="u")
    assert item(db, "user#u")["lease_owner"] == {"S": "m2"}
    assert "answered_at" in item(db, "msg#m1")


def test_rate_limit_applies_while_the_user_is_busy(db: CountingClient, clock: FixedClock) -> None:
    s = store(db, clock, replace(LIMITS, rate_limit=3))
    outcomes = [s.admit(ask(f"m{n}")).outcome for n in range(6)]
    assert outcomes == [Outcome.ACCEPTED, Outcome.BUSY, Outcome.BUSY] + [Outcome.RATE_LIMITED] * 3


def test_a_retry_of_the_lease_holder_itself_is_admitted_not_busy(
    db: CountingClient, clock: FixedClock
) -> None:
    s = store(db, clock)
    s.admit(ask("m1"))
    # a partly undone admission: the marker is gone, the lease is still the message's own
    db._client.delete_item(TableName="t", Key={"pk": {"S": "msg#m1"}})
    assert s.admit(ask("m1")).outcome is Outcome.ACCEPTED


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
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return real(**kwargs)

    db._client.transact_write_items = conflicting
    assert s.admit(ask("m2")).outcome is Outcome.BUSY
