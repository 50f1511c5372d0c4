"""The global answer budget (``BEDROCK_BUDGET_PER_MINUTE``) on the local twin: a flood of new users is
bounded per minute, each user still gets exactly one reply, and a budget grant is counted once whatever
fails (docs/exactly-once.md, the answer stage's budget grant).

The twin runs the template as deployed, with ``BedrockBudgetPerMinute`` set low (the parameter's default,
changed in a copy of template.yaml: the twin deploys with the defaults). Faults are injected into the
budget's ``TransactWriteItems``: applied with its answer lost (``ambiguous``), and the process dying right
after it (``crash_after``); SQS's retries come after the answer queue's visibility timeout, in virtual time.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from assistant.local import faults
from assistant.local.engine import KnowledgeBase
from assistant.local.runtime import LocalCloud
from assistant.local.template import load_template, parameter_values
from assistant.services import replies
from tests.conftest import load_fixture, text_envelope

ROOT = Path(__file__).resolve().parents[2]
BUDGET_REPLY = replies.say("budget")
QUESTIONS = (
    "Where is the opening keynote?",
    "Is there a quiet room?",
    "What's the Wi-Fi password?",
    "Where can I find the cloakroom?",
    "When does registration open?",
)


@pytest.fixture
def twin(
    tmp_path: Path, sample_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int], LocalCloud]]:
    """``twin(limit)``: the local twin deployed with ``BedrockBudgetPerMinute=limit``, its virtual clock at
    the start of a minute and held there: it moves only when the twin lets time pass (a visibility timeout,
    a backoff) or a test does, so a slow machine cannot carry a test's questions into the next minute."""
    with contextlib.ExitStack() as stack:

        def start(limit: int) -> LocalCloud:
            template = tmp_path / "template.yaml"
            text, replaced = re.subn(
                r"(\n  BedrockBudgetPerMinute:\n    Type: Number\n    Default: )\d+",
                rf"\g<1>{limit}",
                (ROOT / "template.yaml").read_text(encoding="utf-8"),
            )
            assert replaced == 1
            template.write_text(text, encoding="utf-8")
            assert parameter_values(load_template(template))["BedrockBudgetPerMinute"] == str(limit)
            cloud = stack.enter_context(
                LocalCloud(
                    tmp_path / "home",
                    template_path=template,
                    log_stream=io.StringIO(),
                    knowledge_base=sample_kb,
                )
            )
            # The twin's clock is real time plus what the twin let pass: hold its real part still.
            held = time.time()
            monkeypatch.setattr(cloud.clock, "_real_time", lambda: held)
            next_minute(cloud)
            return cloud

        yield start


def next_minute(cloud: LocalCloud) -> int:
    """Move the twin's clock to the start of the next minute; returns that minute's number."""
    minute = int(cloud.clock.now()) // 60 + 1
    cloud.clock.advance_to(minute * 60 + 0.5)
    return minute


def ask(cloud: LocalCloud, *envelopes: dict[str, Any], plan: faults.FaultPlan | None = None) -> None:
    """Each envelope through the pipeline, one after the other, as attendees' messages arrive."""
    with faults.injected(plan or faults.FaultPlan()):
        for envelope in envelopes:
            cloud.publish_inbound(json.dumps(envelope))
            cloud.drain()
    assert plan is None or plan.fired, "the fault never fired: the test proves nothing"


def sender(n: int) -> str:
    return f"1555010{n:04d}"


def new_user(n: int, text: str | None = None) -> dict[str, Any]:
    """A question from a user the assistant has not seen before (user ``n``, message ``wamid.B<n>``)."""
    return text_envelope(
        text or QUESTIONS[n % len(QUESTIONS)], wamid=f"wamid.B{n}", sender=sender(n), timestamp=1762828000 + n
    )


def replies_to(cloud: LocalCloud) -> dict[str, list[str]]:
    """The text replies sent, by the message they quote."""
    sent: dict[str, list[str]] = {}
    for message in cloud.social.sent():
        if message.get("type") == "text" and "context" in message:
            sent.setdefault(message["context"]["message_id"], []).append(message["text"]["body"])
    return sent


def budget_counts(cloud: LocalCloud) -> dict[int, int]:
    """The budget's counters in the conversation table: minute -> questions granted in it."""
    items = boto3.client("dynamodb").scan(TableName=cloud.table_name())["Items"]
    return {
        int(i["pk"]["S"].removeprefix("budget#")): int(i["n"]["N"])
        for i in items
        if i["pk"]["S"].startswith("budget#")
    }


def settled(cloud: LocalCloud) -> None:
    """No lease left behind, nothing dead-lettered."""
    items = boto3.client("dynamodb").scan(TableName=cloud.table_name())["Items"]
    assert [i["pk"]["S"] for i in items if i["pk"]["S"].startswith("user#") and "lease_owner" in i] == []
    assert set(cloud.dead_letters().values()) == {0}


def _budget_transaction(params: dict[str, Any]) -> bool:
    return any(
        item.get("Update", {}).get("Key", {}).get("pk", {}).get("S", "").startswith("budget#")
        for item in params["TransactItems"]
    )


BUDGET_TRANSACTION = faults.call("dynamodb", "TransactWriteItems", _budget_transaction)


def test_a_flood_of_new_users_in_one_minute_gets_one_reply_each_the_first_two_answered_the_rest_told_later(
    twin: Callable[[int], LocalCloud],
) -> None:
    cloud = twin(2)
    minute = int(cloud.clock.now()) // 60
    ask(cloud, *(new_user(n) for n in range(5)))
    sent = replies_to(cloud)
    assert {wamid: len(bodies) for wamid, bodies in sent.items()} == {f"wamid.B{n}": 1 for n in range(5)}
    assert [sent[f"wamid.B{n}"][0] == BUDGET_REPLY for n in range(5)] == [False, False, True, True, True]
    assert budget_counts(cloud) == {minute: 2}
    assert cloud.metrics["BudgetExceeded"] == 3
    assert cloud.metrics["Answered budget"] == 3
    assert cloud.metrics["BudgetGranted"] == 2
    settled(cloud)


def test_after_the_minute_passes_the_assistant_answers_again(twin: Callable[[int], LocalCloud]) -> None:
    cloud = twin(1)
    minute = int(cloud.clock.now()) // 60
    ask(cloud, new_user(0), new_user(1))
    assert replies_to(cloud)["wamid.B1"] == [BUDGET_REPLY]
    next_minute(cloud)
    # the user who was told to come back asks again, then a new one: the new minute's one place is the first's
    again = text_envelope(
        "Is there a quiet room?", wamid="wamid.B1-again", sender=sender(1), timestamp=1762828100
    )
    ask(cloud, again, new_user(2))
    sent = replies_to(cloud)
    assert sent["wamid.B1-again"] != [BUDGET_REPLY] and len(sent["wamid.B1-again"]) == 1
    assert sent["wamid.B2"] == [BUDGET_REPLY]
    next_minute(cloud)
    ask(cloud, new_user(3))
    assert replies_to(cloud)["wamid.B3"] != [BUDGET_REPLY]
    assert budget_counts(cloud) == {minute: 1, minute + 1: 1, minute + 2: 1}
    settled(cloud)


def test_small_talk_and_static_replies_spend_no_budget(twin: Callable[[int], LocalCloud]) -> None:
    cloud = twin(1)
    ask(
        cloud,
        new_user(0, "hi"),
        new_user(1, "gracias"),
        load_fixture("message__image.json"),
        new_user(2),
    )
    sent = replies_to(cloud)
    assert len(sent) == 4 and all(len(bodies) == 1 for bodies in sent.values())
    assert sent["wamid.B2"] != [BUDGET_REPLY]  # the one place went to the one question
    assert list(budget_counts(cloud).values()) == [1]
    assert cloud.metrics["BudgetExceeded"] == 0
    settled(cloud)


def test_an_ambiguous_budget_transaction_that_fills_the_budget_is_answered_once_and_counted_once(
    twin: Callable[[int], LocalCloud],
) -> None:
    cloud = twin(1)
    minute = int(cloud.clock.now()) // 60
    # The first grant is applied and its answer lost: botocore's retry finds the minute full, by this very
    # grant, and must take the grant as its own rather than turn its own question away.
    plan = faults.FaultPlan([faults.ambiguous(BUDGET_TRANSACTION)])
    ask(cloud, new_user(0), new_user(1), plan=plan)
    sent = replies_to(cloud)
    assert {wamid: len(bodies) for wamid, bodies in sent.items()} == {"wamid.B0": 1, "wamid.B1": 1}
    assert sent["wamid.B0"] != [BUDGET_REPLY]
    assert sent["wamid.B1"] == [BUDGET_REPLY]
    assert budget_counts(cloud) == {minute: 1}
    assert cloud.summary.get("AnswerFunction.retried", 0) == 0  # resolved inside the call: no SQS retry
    settled(cloud)


def test_a_crash_after_the_budget_grant_is_answered_once_by_the_retry_and_never_counted_twice(
    twin: Callable[[int], LocalCloud],
) -> None:
    cloud = twin(1)
    minute = int(cloud.clock.now()) // 60
    plan = faults.FaultPlan([faults.crash_after(BUDGET_TRANSACTION)])
    ask(cloud, new_user(0), plan=plan)
    assert any(i.crashed for i in cloud.invocations)
    # SQS's retry came 720 s later, in another minute: it found its grant, spent nothing there, answered
    assert cloud.summary["AnswerFunction.retried"] == 1
    sent = replies_to(cloud)
    assert {wamid: len(bodies) for wamid, bodies in sent.items()} == {"wamid.B0": 1}
    assert sent["wamid.B0"] != [BUDGET_REPLY]
    assert budget_counts(cloud) == {minute: 1}
    # and the minute it is in now still has its own place for someone else
    ask(cloud, new_user(1))
    assert replies_to(cloud)["wamid.B1"] != [BUDGET_REPLY]
    assert sum(budget_counts(cloud).values()) == 2
    settled(cloud)


def test_a_redelivered_question_over_the_budget_gets_nothing_more(twin: Callable[[int], LocalCloud]) -> None:
    cloud = twin(1)
    ask(cloud, new_user(0), new_user(1))
    next_minute(cloud)  # room again; the duplicate must still not be answered a second time
    ask(cloud, new_user(1))
    assert Counter({wamid: len(bodies) for wamid, bodies in replies_to(cloud).items()}) == Counter(
        {"wamid.B0": 1, "wamid.B1": 1}
    )
    assert replies_to(cloud)["wamid.B1"] == [BUDGET_REPLY]
    settled(cloud)
