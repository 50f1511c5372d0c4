"""The global answer budget (BEDROCK_BUDGET_PER_MINUTE): what the answer stage decides, with fakes; the
adapter's handling of a contended counter; the setting; and the template's parameter, alarms and widget.

The same rule on DynamoDB (moto) and in memory: tests/contract/test_answer_budget.py. On the local twin, with
faults: tests/functional/test_bedrock_budget.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from assistant import bootstrap
from assistant.adapters.dynamodb import DynamoDBAnswerBudget
from assistant.config import ConfigurationError, Settings
from assistant.errors import RetryableError
from assistant.fakes import FixedClock, InMemoryAnswerBudget, ScriptedAnswerEngine
from assistant.local.template import LOCAL_PARAMETERS, resolver
from assistant.ports import ProcessedMessage, Recipient, Spend
from assistant.services import replies
from assistant.services.delivery import reply_callback
from tests.unit.test_voice_service import VoiceWorld, voice_question
from tests.worlds import World

ANSWER_VISIBILITY_SECONDS = 720


class BudgetWorld(World):
    """The answer stage over fakes, with an in-memory budget of ``limit`` questions a minute."""

    def __init__(self, limit: int = 2, **changes: Any) -> None:
        super().__init__(**changes)
        self.budget = InMemoryAnswerBudget(self.clock, limit)
        core = bootstrap.build_core(
            self.settings,
            clock=self.clock,
            store=self.store,
            messenger=self.messenger,
            metrics=self.metrics,
            budget=self.budget,
        )
        self.answer = bootstrap.build_answer(core, engine=self.engine)

    def ask(self, key: str, text: str = "Where is the keynote?") -> str:
        """A new user's question, admitted by the inbound stage, then answered."""
        self.admit(key, user=f"user-{key}")
        return self.answer.handle(question(key, text))

    def bodies(self) -> dict[str, str]:
        return {t["quote"]: t["body"] for t in self.messenger.texts}


def question(key: str, text: str = "Where is the keynote?") -> ProcessedMessage:
    return ProcessedMessage(
        message_key=key,
        user_key=f"user-{key}",
        kind="text",
        text=text,
        message_id=f"wamid.{key}",
        recipient=Recipient(wa_id="15550001111", user_id=None),
        origination_phone_number_id="phone-number-id-abc",
        meta_phone_number_id="123",
        received_at=1,
    )


# -- the answer stage's decision ----------------------------------------------------------------------------


def test_questions_within_the_budget_are_answered_and_the_rest_told_to_ask_again() -> None:
    world = BudgetWorld(limit=2)
    assert [world.ask(key) for key in ("a", "b", "c", "d")] == ["answered"] * 4
    assert world.engine.asked == ["a", "b"]
    assert world.bodies() == {
        "wamid.a": "An answer.",
        "wamid.b": "An answer.",
        "wamid.c": replies.say("budget"),
        "wamid.d": replies.say("budget"),
    }
    assert world.metrics.counts["Answered knowledge_base"] == 2
    assert world.metrics.counts["Answered budget"] == 2
    assert world.metrics.counts["BudgetExceeded"] == 2
    assert world.metrics.counts["BudgetGranted"] == 2
    # each user got exactly one reply and their lease back
    assert all(world.store.holder(f"user-{key}") is None for key in "abcd")


def test_the_budget_reply_goes_through_the_normal_reply_path() -> None:
    world = BudgetWorld(limit=1)
    world.ask("a")
    world.ask("b")
    budget_reply = world.messenger.texts[1]
    assert budget_reply == {
        "to": "15550001111",
        "body": replies.say("budget"),
        "quote": "wamid.b",
        "callback": reply_callback("b", 0),
    }
    assert world.store.markers["b"]["answered_at"]
    assert world.answer.handle(question("b")) == "duplicate"
    assert len(world.messenger.texts) == 2


def test_the_budget_reply_is_in_the_questions_language() -> None:
    world = BudgetWorld(limit=1)
    world.ask("a")
    world.ask("b", "¿Dónde está la charla inaugural de mañana?")
    assert world.bodies()["wamid.b"] == replies.say("budget", "es")


def test_a_conversation_reset_is_still_told_with_the_budget_reply() -> None:
    world = BudgetWorld(limit=1)
    world.ask("a")
    world.admit("b", user="user-b")
    world.answer.handle(replace(question("b"), conversation_reset=True))
    assert world.bodies()["wamid.b"] == f"{replies.say('conversation_reset')}\n\n{replies.say('budget')}"


def test_the_budget_reply_exists_in_every_language_and_says_to_ask_again() -> None:
    texts = {
        language: replies.say("budget", language) for language in ("en", "es", "pt", "fr", "de", "tr", "ar")
    }
    assert len(set(texts.values())) == 7
    assert "minute" in texts["en"] and "again" in texts["en"]


def test_the_next_minute_has_a_budget_of_its_own() -> None:
    world = BudgetWorld(limit=1)
    world.ask("a")
    world.ask("b")
    world.clock.advance(60)
    world.ask("c")
    assert world.engine.asked == ["a", "c"]
    assert world.budget.counts == {30_000_000: 1, 30_000_001: 1}


def test_small_talk_spends_no_budget() -> None:
    world = BudgetWorld(limit=1)
    world.ask("hi", "hi")
    world.ask("thanks", "gracias")
    world.ask("a")
    assert world.engine.asked == ["a"]
    assert world.metrics.counts["Answered smalltalk"] == 2
    assert world.budget.counts == {30_000_000: 1}
    assert "BudgetExceeded" not in world.metrics.counts


def test_a_grant_whose_answer_was_lost_is_recognised_by_the_retry_and_counted_once() -> None:
    world = BudgetWorld(limit=1)
    world.admit("a", user="user-a")
    world.budget.lose_answers = 1  # the grant is recorded, the answer lost (after botocore's retries)
    with pytest.raises(RetryableError):
        world.answer.handle(question("a"))
    assert world.store.holder("user-a") is None  # the lease went back; the claim too
    assert world.messenger.texts == []
    # SQS's retry: the minute the grant filled is over by now, and a later one is full too: still answered
    world.clock.advance(ANSWER_VISIBILITY_SECONDS)
    world.ask("b")
    assert world.answer.handle(question("a")) == "answered"
    assert world.bodies() == {"wamid.a": "An answer.", "wamid.b": "An answer."}
    assert sum(world.budget.counts.values()) == 2  # a once, b once
    assert (
        world.metrics.counts["BudgetGranted"] == 1
    )  # b's; a's grant was emitted by nobody (its answer lost)


def test_a_retry_after_a_crash_finds_its_grant_even_when_the_minute_is_full() -> None:
    world = BudgetWorld(limit=1)
    world.admit("a", user="user-a")
    # an earlier attempt was granted a's place, then died before sending anything
    assert world.budget.spend("a") is Spend.GRANTED
    world.clock.advance(200)  # its claim (150 s) lapsed; same minute or not, the place is a's
    assert world.answer.handle(question("a")) == "answered"
    assert world.bodies() == {"wamid.a": "An answer."}
    assert world.budget.counts == {30_000_000: 1}


def test_a_denied_question_whose_reply_failed_may_be_answered_by_a_retry_in_a_later_minute() -> None:
    world = BudgetWorld(limit=1)
    world.ask("a")
    world.admit("b", user="user-b")
    world.messenger.fail_with = [RetryableError("socialmessaging: ThrottledRequestException")]
    with pytest.raises(RetryableError):
        world.answer.handle(question("b"))
    world.clock.advance(ANSWER_VISIBILITY_SECONDS)
    assert world.answer.handle(question("b")) == "answered"
    assert world.bodies()["wamid.b"] == "An answer."  # a denial recorded nothing: one reply, an answer
    assert len(world.messenger.texts) == 2


def test_a_budget_store_failure_gives_the_claim_and_lease_back_and_fails_the_record() -> None:
    world = BudgetWorld(limit=1)
    world.admit("a", user="user-a")

    class Unavailable:
        def spend(self, message_key: str) -> Spend:
            raise RetryableError("dynamodb: ProvisionedThroughputExceededException")

    world.answer._budget = Unavailable()
    with pytest.raises(RetryableError):
        world.answer.handle(question("a"))
    assert world.store.holder("user-a") is None
    assert "claim_owner" not in world.store.markers["a"]
    assert world.engine.asked == [] and world.messenger.texts == []


def test_without_a_budget_every_question_reaches_the_engine() -> None:
    world = World()
    for key in "abc":
        world.admit(key, user=f"user-{key}")
        world.answer.handle(question(key))
    assert world.engine.asked == ["a", "b", "c"]


def test_a_voice_note_spends_the_budget_only_when_its_transcript_goes_to_the_engine(tmp_path: Path) -> None:
    world = VoiceWorld(tmp_path)
    budget = InMemoryAnswerBudget(world.clock, 1)
    core = bootstrap.build_core(
        world.settings,
        clock=world.clock,
        store=world.store,
        messenger=world.messenger,
        metrics=world.metrics,
        budget=budget,
    )
    world.answer = bootstrap.build_answer(core, engine=world.engine, voice=world.voice)
    # nothing intelligible: a polite reply, no budget spent
    world.transcriber.text = ""
    world.admit("v0", user="u0")
    world.answer.handle(voice_question("v0"))
    assert budget.counts == {}
    # heard: spends the one place
    world.transcriber.text = "where is the opening keynote?"
    world.admit("v1", user="u1")
    world.answer.handle(voice_question("v1"))
    assert budget.counts == {30_000_000: 1}
    # heard, over the budget: what was heard, then the budget reply in the language heard
    world.transcriber.text, world.transcriber.language = "¿dónde está la charla inaugural?", "es"
    world.admit("v2", user="u2")
    world.answer.handle(voice_question("v2"))
    assert world.messenger.texts[-1]["body"] == (
        f"{replies.HEARD.format(text='¿dónde está la charla inaugural?')}\n\n{replies.say('budget', 'es')}"
    )
    assert world.engine.asked == ["v1"]
    assert world.metrics.counts["Answered budget"] == 1


# -- the DynamoDB adapter under contention ---------------------------------------------------------------


class _ContendedDynamoDB:
    """``transact_write_items`` that loses ``conflicts`` races for the minute's counter, then succeeds."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.calls: list[dict[str, Any]] = []

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if self.conflicts:
            self.conflicts -= 1
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "TransactWriteItems",
            )
        return {}


def test_a_lost_race_for_the_counter_is_tried_again_with_a_token_of_its_own() -> None:
    client = _ContendedDynamoDB(conflicts=3)
    budget = DynamoDBAnswerBudget(client, "t", 10, FixedClock())
    assert budget.spend("a") is Spend.GRANTED
    assert len(client.calls) == 4
    assert len({call["ClientRequestToken"] for call in client.calls}) == 4
    (grant, count) = client.calls[0]["TransactItems"]
    assert grant["Update"]["Key"] == {"pk": {"S": "msg#a"}}
    assert count["Update"]["Key"] == {"pk": {"S": "budget#30000000"}}
    assert count["Update"]["ExpressionAttributeValues"][":expires"] == {"N": str(30_000_002 * 60)}


def test_a_counter_that_stays_contended_fails_the_record_for_a_retry() -> None:
    budget = DynamoDBAnswerBudget(_ContendedDynamoDB(conflicts=100), "t", 10, FixedClock())
    with pytest.raises(RetryableError, match="contended"):
        budget.spend("a")


def test_a_budget_of_zero_is_not_a_budget() -> None:
    with pytest.raises(ValueError, match="no budget"):
        InMemoryAnswerBudget(FixedClock(), 0)
    with pytest.raises(ValueError, match="no budget"):
        DynamoDBAnswerBudget(object(), "t", 0, FixedClock())


# -- the setting and its wiring ---------------------------------------------------------------------------

REQUIRED = {
    "TABLE_NAME": "t",
    "PROCESSED_TOPIC_ARN": "arn:topic",
    "HASH_KEY_SECRET_ARN": "arn:secret",
    "KNOWLEDGE_BASE_ID": "KB",
    "GENERATION_MODEL_ARN": "arn:model",
    "GUARDRAIL_ID": "g",
    "GUARDRAIL_VERSION": "1",
}


def test_the_budget_defaults_to_600_a_minute_and_0_means_no_bound() -> None:
    assert Settings.from_env(REQUIRED).bedrock_budget_per_minute == 600
    assert Settings.from_env(REQUIRED | {"BEDROCK_BUDGET_PER_MINUTE": "0"}).bedrock_budget_per_minute == 0
    for bad in ("-1", "lots"):
        with pytest.raises(ConfigurationError, match="BEDROCK_BUDGET_PER_MINUTE"):
            Settings.from_env(REQUIRED | {"BEDROCK_BUDGET_PER_MINUTE": bad})


def test_the_composition_root_wires_the_dynamodb_budget_unless_it_is_0() -> None:
    settings = Settings.from_env(REQUIRED)
    assert isinstance(bootstrap.build_core(settings).budget, DynamoDBAnswerBudget)
    unbounded = Settings.from_env(REQUIRED | {"BEDROCK_BUDGET_PER_MINUTE": "0"})
    assert bootstrap.build_core(unbounded).budget is None
    engine = ScriptedAnswerEngine()
    assert bootstrap.build_answer(bootstrap.build_core(unbounded), engine=engine)._budget is None


# -- the template -------------------------------------------------------------------------------------------


def test_the_template_passes_the_budget_parameter_to_every_function(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["BedrockBudgetPerMinute"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 600, 0)
    assert "per minute across all users" in parameter["Description"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["BEDROCK_BUDGET_PER_MINUTE"] == {"Ref": "BedrockBudgetPerMinute"}


def test_an_alarm_fires_when_the_budget_is_reached_and_another_when_it_is_near(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    reached = resources["BedrockBudgetReachedAlarm"]["Properties"]
    assert (reached["Namespace"], reached["MetricName"]) == ("EventAssistant", "BudgetExceeded")
    assert reached["Dimensions"] == [{"Name": "service", "Value": "event-assistant"}]
    assert (reached["Statistic"], reached["Period"], reached["Threshold"]) == ("Sum", 60, 1)
    assert reached["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    near = resources["BedrockBudgetNearAlarm"]["Properties"]
    granted, used = near["Metrics"]
    assert granted["MetricStat"]["Metric"]["MetricName"] == "BudgetGranted"
    assert (granted["MetricStat"]["Period"], granted["MetricStat"]["Stat"]) == (60, "Sum")
    assert granted["ReturnData"] is False and used["ReturnData"] is True
    expression = resolver(template, {}, {}, {**LOCAL_PARAMETERS, "BedrockBudgetPerMinute": "50"})(
        used["Expression"]
    )
    assert expression == "100 * granted / 50"
    assert (near["Threshold"], near["ComparisonOperator"]) == (80, "GreaterThanOrEqualToThreshold")
    for alarm in (reached, near):
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["TreatMissingData"] == "notBreaching"
    # No budget, nothing to reach: both alarms go with it.
    assert resources["BedrockBudgetReachedAlarm"]["Condition"] == "HasBedrockBudget"
    assert resources["BedrockBudgetNearAlarm"]["Condition"] == "HasBedrockBudget"
    holds = resolver(template, {}, {}, {**LOCAL_PARAMETERS, "BedrockBudgetPerMinute": "0"})
    assert holds({"Condition": "HasBedrockBudget"}) is False
    assert resolver(template, {}, {})({"Condition": "HasBedrockBudget"}) is True


def test_the_operations_dashboard_draws_the_budget_against_its_limit(template: dict[str, Any]) -> None:
    resolve = resolver(template, {}, {}, {**LOCAL_PARAMETERS, "BedrockBudgetPerMinute": "250"})
    body = json.loads(resolve(template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]))
    (widget,) = [w for w in body["widgets"] if "budget" in w["properties"]["title"].lower()]
    drawn = {metric[1] for metric in widget["properties"]["metrics"]}
    assert drawn == {"BudgetGranted", "BudgetExceeded"}
    assert widget["properties"]["annotations"]["horizontal"][0]["value"] == 250


def test_the_readme_documents_the_budget() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `BEDROCK_BUDGET_PER_MINUTE`")]
    assert "| `600` " in row and "`0`: no bound" in row
