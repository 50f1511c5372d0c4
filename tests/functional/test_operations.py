"""Operating a deployment: a Bedrock configuration error is retried, dead-lettered and alarmed (never
apologised away one attendee at a time); the allow list holds HMACs computed by `assistant allow-list`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import boto3
import pytest

from assistant.adapters.system import HmacHasher
from assistant.cli import main
from assistant.local import faults
from assistant.local.runtime import LocalCloud, local_hash_key
from assistant.services.inbound import allow_key
from tests.conftest import text_envelope

NOT_ENABLED = (
    "Invocation of model ID amazon.nova-lite-v1:0 with on-demand throughput isn't supported. Retry your"
    " request with the ID or ARN of an inference profile that contains this model."
)


def texts_quoting(cloud: LocalCloud) -> Counter[str]:
    return Counter(
        m["context"]["message_id"] for m in cloud.social.sent() if m.get("type") == "text" and "context" in m
    )


def redrive(queue: str, target: str) -> int:
    """What `aws sqs start-message-move-task` does for the README's redrive step, message by message."""
    sqs = boto3.client("sqs")
    source, destination = sqs.get_queue_url(QueueName=queue)["QueueUrl"], sqs.get_queue_url(QueueName=target)
    moved = 0
    for message in sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", []):
        sqs.send_message(QueueUrl=destination["QueueUrl"], MessageBody=message["Body"])
        sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    return moved


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        ("ValidationException", NOT_ENABLED),
    ],
)
def test_a_misconfigured_model_is_retried_dead_lettered_and_alarmed_then_answered_after_redrive(
    cloud: LocalCloud, code: str, message: str
) -> None:
    refused = faults.refusing(
        faults.call("bedrock-agent-runtime", "RetrieveAndGenerate"), code, message, times=3
    )
    with faults.injected(faults.FaultPlan([refused])) as plan:
        cloud.publish_inbound(json.dumps(text_envelope("Where is the opening keynote?", wamid="wamid.M1")))
        cloud.drain()
    assert len(plan.fired) == 3, "each of the queue's three receives asked Bedrock once"
    assert texts_quoting(cloud) == Counter(), "no apology: the attendee is answered once the stack is fixed"
    assert cloud.dead_letters()["AnswerDeadLetterQueue"] == 1
    assert cloud.metrics[f"BedrockMisconfigured {code}"] == 3
    assert not [name for name in cloud.metrics if name.startswith("AnswerError")]

    # The operator fixes the model and redrives the dead-letter queue: answered, once.
    assert redrive("AnswerDeadLetterQueue", "AnswerQueue") == 1
    cloud.drain()
    assert texts_quoting(cloud) == Counter({"wamid.M1": 1})
    assert cloud.dead_letters()["AnswerDeadLetterQueue"] == 0


def test_a_question_the_model_refuses_is_still_apologised_for_at_once(cloud: LocalCloud) -> None:
    """A ValidationException about the question, not the deployment: one polite reply, no dead letter."""
    refused = faults.refusing(
        faults.call("bedrock-agent-runtime", "RetrieveAndGenerate"),
        "ValidationException",
        "Input is too long",
    )
    with faults.injected(faults.FaultPlan([refused])):
        cloud.publish_inbound(json.dumps(text_envelope("Where is the opening keynote?", wamid="wamid.M2")))
        cloud.drain()
    assert texts_quoting(cloud) == Counter({"wamid.M2": 1})
    assert cloud.dead_letters()["AnswerDeadLetterQueue"] == 0
    assert not [name for name in cloud.metrics if name.startswith("BedrockMisconfigured")]


def test_allow_list_prints_the_hmacs_the_pipeline_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    assert main(["allow-list", "+15550001111", "US.1349", "--home", str(home)]) == 0
    printed = capsys.readouterr().out.strip().split(",")
    hasher = HmacHasher(local_hash_key(home).encode())
    assert printed == [allow_key(hasher, "15550001111"), allow_key(hasher, "US.1349")]
    assert all("1555" not in entry for entry in printed)


def test_allow_list_refuses_no_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", _Empty())
    assert main(["allow-list", "--home", str(tmp_path)]) == 2


class _Empty:
    def read(self) -> str:
        return ""
