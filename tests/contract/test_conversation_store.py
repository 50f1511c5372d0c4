"""One contract, two stores: DynamoDB (on moto) and the in-memory fake must decide and record alike.

Both run ``services.admission.decide``; these tests pin what each records, so a store that drifts from the
rule, or from docs/exactly-once.md, fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import boto3
import pytest
from moto import mock_aws

from assistant.adapters.dynamodb import DynamoDBConversationStore
from assistant.fakes import FixedClock, InMemoryConversationStore
from assistant.ports import AdmissionRequest, ConversationStore, Outcome
from assistant.services.admission import AdmissionLimits
from tests.worlds import STORE_LIMITS, create_table

LIMITS = STORE_LIMITS


@dataclass
class Subject:
    store: ConversationStore
    clock: FixedClock
    holder: Callable[[str], str | None]
    make: Callable[[AdmissionLimits], ConversationStore]


def _dynamodb(clock: FixedClock) -> Iterator[Subject]:
    with mock_aws():
        client = boto3.client("dynamodb")
        create_table(client)

        def holder(user: str) -> str | None:
            item = client.get_item(TableName="t", Key={"pk": {"S": f"user#{user}"}}).get("Item", {})
            return item.get("lease_owner", {}).get("S")

        def make(limits: AdmissionLimits) -> ConversationStore:
            return DynamoDBConversationStore(client, "t", limits, clock)

        yield Subject(make(LIMITS), clock, holder, make)


def _memory(clock: FixedClock) -> Iterator[Subject]:
    stores: list[InMemoryConversationStore] = []

    def make(limits: AdmissionLimits) -> ConversationStore:
        stores.append(InMemoryConversationStore(clock, limits))
        return stores[-1]

    first = make(LIMITS)
    yield Subject(first, clock, lambda user: stores[-1].holder(user), make)


@pytest.fixture(params=["dynamodb", "memory"])
def s(request: pytest.FixtureRequest) -> Iterator[Subject]:
    clock = FixedClock()
    yield from (_dynamodb if request.param == "dynamodb" else _memory)(clock)


def ask(
    key: str, user: str = "u", chars: int = 10, lease: bool = True, attempt: str = ""
) -> AdmissionRequest:
    return AdmissionRequest(key, user, chars, lease, attempt or f"attempt-of-{key}")


def test_a_new_question_is_accepted_and_takes_the_lease(s: Subject) -> None:
    assert s.store.admit(ask("m1")).outcome is Outcome.ACCEPTED
    assert s.holder("u") == "m1"


def test_a_redelivery_from_another_attempt_is_a_duplicate_and_changes_nothing(s: Subject) -> None:
    s.store.admit(ask("m1"))
    assert s.store.admit(ask("m1", attempt="second")).outcome is Outcome.DUPLICATE
    s.clock.advance(91)
    s.store.claim_answer("m1", "answerer", 150)
    assert s.store.admit(ask("m1", attempt="third")).outcome is Outcome.DUPLICATE


def test_a_retry_of_the_same_attempt_gets_its_own_decision_back(s: Subject) -> None:
    s.store.admit(ask("m1"))
    again = s.store.admit(ask("m1"))
    assert again.outcome is Outcome.ACCEPTED and not again.resumed
    s.store.admit(ask("m2"))
    assert s.store.admit(ask("m2")).outcome is Outcome.BUSY


def test_an_abandoned_admission_is_resumed_after_its_attempt_lapsed(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.clock.advance(91)
    resumed = s.store.admit(ask("m1", attempt="redelivery"))
    assert resumed.outcome is Outcome.ACCEPTED and resumed.resumed
    # and only one redelivery resumes it
    assert s.store.admit(ask("m1", attempt="another")).outcome is Outcome.DUPLICATE


def test_a_resumed_static_reply_knows_whether_its_status_proved_it_sent(s: Subject) -> None:
    s.store.admit(ask("s1", lease=False))
    s.store.confirm_delivery("s1", 0)
    s.clock.advance(91)
    resumed = s.store.admit(ask("s1", lease=False, attempt="redelivery"))
    assert resumed.resumed and resumed.reply_sent
    s.store.finish_reply("s1")
    s.clock.advance(91)
    assert s.store.admit(ask("s1", lease=False, attempt="third")).outcome is Outcome.DUPLICATE


def test_a_quiet_rate_limit_is_final_at_once(s: Subject) -> None:
    store = s.make(replace(LIMITS, rate_limit=1))
    store.admit(ask("a", lease=False))
    store.admit(ask("b", lease=False))  # the first over: told
    assert store.admit(ask("c", lease=False)).outcome is Outcome.RATE_LIMITED
    s.clock.advance(91)
    assert store.admit(ask("c", lease=False, attempt="again")).outcome is Outcome.DUPLICATE
    assert store.admit(ask("b", lease=False, attempt="again")).resumed  # b's reply was never recorded


def test_busy_user_gets_busy_and_a_redelivery_of_it_is_a_duplicate(s: Subject) -> None:
    s.store.admit(ask("m1"))
    assert s.store.admit(ask("m2")).outcome is Outcome.BUSY
    assert s.store.admit(ask("m2", attempt="other")).outcome is Outcome.DUPLICATE
    assert s.holder("u") == "m1"


def test_an_expired_lease_is_taken_over(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.clock.advance(181)
    assert s.store.admit(ask("m2")).outcome is Outcome.ACCEPTED
    assert s.holder("u") == "m2"


def test_release_only_frees_the_owners_lease(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.release("u", owner="someone-else")
    assert s.holder("u") == "m1"
    s.store.release("u", owner="m1")
    assert s.holder("u") is None


def test_rate_limit_in_a_window_flags_the_first_over_and_resets_next_window(s: Subject) -> None:
    store = s.make(replace(LIMITS, rate_limit=3))
    outcomes = [store.admit(ask(f"s{n}", lease=False)) for n in range(5)]
    assert [a.outcome for a in outcomes] == [Outcome.ACCEPTED] * 3 + [Outcome.RATE_LIMITED] * 2
    assert [a.first_over_limit for a in outcomes[3:]] == [True, False]
    s.clock.advance(60)
    assert store.admit(ask("s9", lease=False)).outcome is Outcome.ACCEPTED


def test_rate_limit_comes_before_busy(s: Subject) -> None:
    store = s.make(replace(LIMITS, rate_limit=3))
    outcomes = [store.admit(ask(f"m{n}")).outcome for n in range(6)]
    assert outcomes == [Outcome.ACCEPTED, Outcome.BUSY, Outcome.BUSY] + [Outcome.RATE_LIMITED] * 3


def test_conversation_budget_resets_and_says_so_but_idleness_resets_silently(s: Subject) -> None:
    for n in range(3):
        assert s.store.admit(ask(f"m{n}")).outcome is Outcome.ACCEPTED
        s.store.release("u", f"m{n}")
    admission = s.store.admit(ask("m3"))
    assert admission.outcome is Outcome.ACCEPTED and admission.conversation_reset
    s.store.release("u", "m3")
    s.clock.advance(601)
    admission = s.store.admit(ask("m4"))
    assert admission.outcome is Outcome.ACCEPTED and not admission.conversation_reset


def test_character_budget_counts_too(s: Subject) -> None:
    s.store.admit(ask("m1", chars=900))
    s.store.release("u", "m1")
    admission = s.store.admit(ask("m2", chars=200))
    assert admission.outcome is Outcome.ACCEPTED and admission.conversation_reset


def test_an_answer_claim_is_granted_once_and_to_its_own_retry(s: Subject) -> None:
    s.store.admit(ask("m1"))
    assert s.store.claim_answer("m1", "a", 150).granted
    assert s.store.claim_answer("m1", "a", 150).granted
    assert not s.store.claim_answer("m1", "b", 150).granted
    s.store.abandon_answer("m1", "a")
    assert s.store.claim_answer("m1", "b", 150).granted
    s.store.complete_answer("m1", "b")
    s.clock.advance(151)
    refused = s.store.claim_answer("m1", "c", 150)
    assert not refused.granted and refused.answered
    assert not s.store.claim_answer("never-admitted", "c", 150).granted


def test_a_lapsed_claim_is_taken_over_with_what_its_owner_sent(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.claim_answer("m1", "a", 150)
    s.store.record_progress("m1", "a", parts_sent=1, parts=3)
    s.store.confirm_delivery("m1", 1)
    s.clock.advance(151)
    claim = s.store.claim_answer("m1", "b", 150)
    assert claim.granted and claim.taken_over
    assert (claim.parts_sent, claim.parts) == (2, 3)


def test_progress_is_recorded_only_by_the_claims_owner(s: Subject) -> None:
    from assistant.errors import RetryableError

    s.store.admit(ask("m1"))
    s.store.claim_answer("m1", "a", 150)
    with pytest.raises(RetryableError):
        s.store.record_progress("m1", "b", parts_sent=1, parts=2)


def test_completing_releases_the_lease_unless_it_moved_on(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.claim_answer("m1", "a", 150)
    s.store.complete_answer("m1", "a", lease_of="u")
    assert s.holder("u") is None
    s.store.admit(ask("m2"))
    s.store.claim_answer("m2", "b", 600)
    s.clock.advance(181)
    s.store.admit(ask("m3"))
    s.store.complete_answer("m2", "b", lease_of="u")
    assert s.holder("u") == "m3"
    assert not s.store.claim_answer("m2", "c", 150).granted


def test_delivery_confirmations_are_idempotent_and_ignore_unknown_messages(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.confirm_delivery("m1", 0)
    s.store.confirm_delivery("m1", 0)
    s.store.confirm_delivery("unknown", 0)
    assert s.store.reply_confirmed("m1", 0)
    assert not s.store.reply_confirmed("m1", 1)
    assert not s.store.reply_confirmed("unknown", 0)


def test_sessions_belong_to_their_conversation(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.save_session("u", "bedrock-session")
    assert s.store.get_session("u") == "bedrock-session"
    s.clock.advance(601)
    assert s.store.get_session("u") is None


def test_agenda_calls_serve_only_the_question_right_after_their_answer(s: Subject) -> None:
    s.store.admit(ask("m1"))
    assert s.store.get_agenda_calls("u") is None
    s.store.save_agenda_calls("u", '[{"name": "find_sessions", "input": {"topic": "kafka"}}]')
    s.store.release("u", owner="m1")
    s.store.admit(ask("m2"))  # the follow-up
    assert s.store.get_agenda_calls("u") == '[{"name": "find_sessions", "input": {"topic": "kafka"}}]'
    s.store.release("u", owner="m2")
    s.store.admit(ask("m3"))  # m2 was answered otherwise: m1's calls are no longer the last answer's
    assert s.store.get_agenda_calls("u") is None
    s.store.save_agenda_calls("u", "[]")
    s.store.save_agenda_calls("u", None)
    assert s.store.get_agenda_calls("u") is None


def test_agenda_calls_belong_to_their_conversation(s: Subject) -> None:
    s.store.admit(ask("m1"))
    s.store.save_agenda_calls("u", "[]")
    s.store.release("u", owner="m1")
    s.clock.advance(601)
    s.store.admit(ask("m2"))  # a new conversation
    assert s.store.get_agenda_calls("u") is None
