"""Exactly one reply per message, with faults injected into the local twin (docs/exactly-once.md).

Each scenario was reproduced on the main of before this change, where it sent a second reply, or none, or
left a lease behind. The faults: a call that takes effect and whose answer is lost (a botocore read
timeout, or a 5xx from the socialmessaging stand-in after it sent), a call that fails, and a process that
dies on a line (``SimulatedCrash``). SQS's retries come after the visibility timeout, in virtual time.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3

from assistant.local import faults
from assistant.local.runtime import LocalCloud
from assistant.services import replies
from tests.conftest import load_fixture, text_envelope


def run(cloud: LocalCloud, *envelopes: dict[str, Any], plan: faults.FaultPlan | None = None) -> None:
    with faults.injected(plan or faults.FaultPlan()):
        for envelope in envelopes:
            cloud.publish_inbound(json.dumps(envelope))
            cloud.drain()
    assert not plan or plan.fired, "the fault never fired: the test proves nothing"


def replies_to(cloud: LocalCloud) -> Counter[str]:
    """Text messages sent, by the message they quote."""
    return Counter(
        m["context"]["message_id"] for m in cloud.social.sent() if m.get("type") == "text" and "context" in m
    )


def reads_of(cloud: LocalCloud) -> Counter[str]:
    return Counter(m["message_id"] for m in cloud.social.sent() if m.get("status") == "read")


def leases_left(cloud: LocalCloud) -> list[str]:
    ddb = boto3.client("dynamodb")
    (name,) = ddb.list_tables()["TableNames"]
    items = ddb.scan(TableName=name)["Items"]
    return [i["pk"]["S"] for i in items if i["pk"]["S"].startswith("user#") and "lease_owner" in i]


def settled(cloud: LocalCloud) -> None:
    assert leases_left(cloud) == []
    assert cloud.dead_letters() == {
        "InboundDeadLetterQueue": 0,
        "AnswerDeadLetterQueue": 0,
        "CategorizeDeadLetterQueue": 0,
    }


def is_text(message: dict[str, Any]) -> bool:
    return message.get("type") == "text"


def question(wamid: str, body: str = "Where is the opening keynote?", **kw: Any) -> dict[str, Any]:
    return text_envelope(body, wamid=wamid, **kw)


def _admission(params: dict[str, Any]) -> bool:
    return any("Put" in item for item in params["TransactItems"])


def _completion(params: dict[str, Any]) -> bool:
    return any(
        "answered_at" in item.get("Update", {}).get("UpdateExpression", "")
        for item in params["TransactItems"]
    )


def _claim(params: dict[str, Any]) -> bool:
    return "claim_until = :until" in params.get("UpdateExpression", "")


def _processed(params: dict[str, Any]) -> bool:
    return str(params["TopicArn"]).endswith(":ProcessedTopic")


def _send_text(params: dict[str, Any]) -> bool:
    """A text message (a reply), not a read receipt (whose typing indicator also says "text")."""
    return bool(json.loads(params["message"]).get("type") == "text")


def test_an_admission_applied_whose_answer_was_lost_is_answered_once(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "TransactWriteItems", _admission))])
    run(cloud, question("wamid.A1"), plan=plan)
    assert replies_to(cloud) == {"wamid.A1": 1}
    assert reads_of(cloud) == {"wamid.A1": 1}
    settled(cloud)
    # and the user's next question is answered, not told "still working"
    run(cloud, question("wamid.A2", "Is there a quiet room?", timestamp=1762827999))
    assert replies_to(cloud)["wamid.A2"] == 1
    assert replies.say("busy") not in [m["text"]["body"] for m in cloud.social.sent() if is_text(m)]


def test_a_claim_applied_whose_answer_was_lost_is_still_answered(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan([faults.ambiguous(faults.call("dynamodb", "UpdateItem", _claim))])
    run(cloud, question("wamid.C1"), plan=plan)
    assert replies_to(cloud) == {"wamid.C1": 1}
    settled(cloud)


def test_an_answer_sent_whose_answer_was_lost_to_a_read_timeout_is_not_sent_again(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan(
        [faults.ambiguous(faults.call("socialmessaging", "SendWhatsAppMessage", _send_text))]
    )
    run(cloud, question("wamid.S1"), plan=plan)
    assert replies_to(cloud) == {"wamid.S1": 1}
    assert cloud.metrics["AmbiguousSendDeferred"] + cloud.metrics["AmbiguousSendConfirmed"] == 1
    settled(cloud)


def test_an_answer_sent_whose_answer_was_a_5xx_is_not_sent_again(cloud: LocalCloud) -> None:
    cloud.social.fail_next("InternalServerException", 500, applied=True, when=is_text)
    run(cloud, question("wamid.S2"))
    assert replies_to(cloud) == {"wamid.S2": 1}
    settled(cloud)


def test_an_answer_whose_status_comes_late_is_sent_once_and_late_not_twice(
    cloud: LocalCloud, monkeypatch: Any
) -> None:
    cloud.social.fail_next("InternalServerException", 500, applied=True, when=is_text)
    cloud.social.hold_statuses = True  # the status is slower than the answer stage's 10 s wait
    advance_to = cloud.clock.advance_to

    def status_arrives_before_sqs_retries(when: float) -> None:
        if cloud.social.hold_statuses:
            cloud.social.hold_statuses = False
            cloud.social.release_statuses()
        advance_to(when)

    monkeypatch.setattr(cloud.clock, "advance_to", status_arrives_before_sqs_retries)
    run(cloud, question("wamid.S3"))
    assert replies_to(cloud) == {"wamid.S3": 1}
    assert cloud.summary["AnswerFunction.retried"] == 1  # deferred to SQS's retry, which found the status
    settled(cloud)


def test_a_send_that_failed_without_effect_is_answered_by_the_retry(cloud: LocalCloud) -> None:
    cloud.social.fail_next("InternalServerException", 500, applied=False, when=is_text)
    run(cloud, question("wamid.S4"))
    assert replies_to(cloud) == {"wamid.S4": 1}
    settled(cloud)


def test_a_static_reply_sent_whose_answer_was_lost_is_not_sent_again_nor_read_twice(
    cloud: LocalCloud,
) -> None:
    cloud.social.fail_next("InternalServerException", 500, applied=True, when=is_text)
    run(cloud, load_fixture("message__image.json"))
    assert replies_to(cloud) == {"wamid.xyzxyz": 1}
    assert reads_of(cloud) == {"wamid.xyzxyz": 1}
    settled(cloud)


def test_completion_and_release_failing_after_the_reply_never_send_it_again(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan(
        [
            faults.failing(faults.call("dynamodb", "TransactWriteItems", _completion), times=3),
            faults.failing(
                faults.call(
                    "dynamodb", "UpdateItem", lambda p: "REMOVE lease_owner" in p["UpdateExpression"]
                ),
                times=3,
            ),
        ]
    )
    run(cloud, question("wamid.M1"), plan=plan)
    assert replies_to(cloud) == {"wamid.M1": 1}
    assert cloud.summary.get("AnswerFunction.retried", 0) == 0  # the record did not fail
    # a redelivery of the same event, after the claim lapsed, finds the reply's status: nothing more
    cloud.clock.advance(200)
    run(cloud, question("wamid.M1"))
    assert replies_to(cloud) == {"wamid.M1": 1}


def test_a_crash_after_the_reply_and_before_it_is_marked_answered_never_answers_again(
    cloud: LocalCloud,
) -> None:
    plan = faults.FaultPlan([faults.crash_before(faults.call("dynamodb", "TransactWriteItems", _completion))])
    run(cloud, question("wamid.X1"), plan=plan)
    assert replies_to(cloud) == {"wamid.X1": 1}
    assert any(i.crashed for i in cloud.invocations)
    settled(cloud)


def test_a_crash_after_admission_before_publishing_is_resumed_by_the_redelivery(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan([faults.crash_before(faults.call("sns", "Publish", _processed))])
    run(cloud, question("wamid.X2"), plan=plan)
    assert replies_to(cloud) == {"wamid.X2": 1}
    settled(cloud)


def test_a_crash_between_a_static_reply_and_its_record_never_sends_it_again(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan(
        [
            faults.crash_before(
                faults.call("dynamodb", "UpdateItem", lambda p: "SET done" in p["UpdateExpression"])
            )
        ]
    )
    run(cloud, load_fixture("message__image.json"), plan=plan)
    assert replies_to(cloud) == {"wamid.xyzxyz": 1}
    settled(cloud)


def _entry_with(envelope: dict[str, Any], *extra: dict[str, Any]) -> dict[str, Any]:
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    entry["changes"][0]["value"]["messages"].extend(extra)
    return {**envelope, "whatsAppWebhookEntry": json.dumps(entry)}


def _message(wamid: str, sender: str, type_: str, body: Any, timestamp: int = 1762827900) -> dict[str, Any]:
    return {"from": sender, "id": wamid, "timestamp": str(timestamp), "type": type_, type_: body}


def test_a_lone_surrogate_in_a_text_loses_neither_it_nor_the_valid_messages_beside_it(
    cloud: LocalCloud,
) -> None:
    raw = json.dumps(question("wamid.V1"))
    hostile = _message("wamid.H1", "15550002222", "text", {"body": "PLACEHOLDER"})
    envelope = _entry_with(json.loads(raw), hostile)
    line = json.dumps(envelope).replace("PLACEHOLDER", "hi \\\\ud83d")
    assert "\\\\ud83d" in line
    cloud.publish_inbound(line)
    cloud.drain()
    assert replies_to(cloud) == {"wamid.V1": 1, "wamid.H1": 1}
    settled(cloud)


def test_a_huge_integer_latitude_gets_a_polite_reply_and_spares_its_neighbours(cloud: LocalCloud) -> None:
    location = _message("wamid.L1", "15550003333", "location", {"latitude": 10**400, "longitude": 1})
    run(cloud, _entry_with(question("wamid.V2"), location))
    assert replies_to(cloud) == {"wamid.V2": 1, "wamid.L1": 1}
    unsupported = [m for m in cloud.social.sent() if is_text(m) and m["context"]["message_id"] == "wamid.L1"]
    assert unsupported[0]["text"]["body"] == replies.say("unsupported_media")
    settled(cloud)


def test_one_refused_typing_indicator_does_not_switch_typing_off(cloud: LocalCloud) -> None:
    cloud.social.fail_next("ValidationException", 400, when=lambda m: "typing_indicator" in m)
    run(cloud, question("wamid.T1"), question("wamid.T2", "Is there a quiet room?", timestamp=1762827999))
    typing = {m["message_id"] for m in cloud.social.sent() if "typing_indicator" in m}
    assert "wamid.T2" in typing
    assert reads_of(cloud)["wamid.T1"] == 1  # the first fell back to a plain receipt
    settled(cloud)


def test_a_flood_of_duplicates_and_redeliveries_still_gets_one_reply_each(cloud: LocalCloud) -> None:
    envelopes = [question(f"wamid.F{n}", f"Question {n}?", sender=f"1555000{n:04d}") for n in range(4)]
    plan = faults.FaultPlan(
        [
            faults.ambiguous(faults.call("dynamodb", "TransactWriteItems"), times=3),
            faults.ambiguous(faults.call("socialmessaging", "SendWhatsAppMessage", _send_text), times=2),
            faults.ambiguous(faults.call("sns", "Publish", _processed), times=2),
        ]
    )
    run(cloud, *envelopes, *envelopes, plan=plan)
    assert replies_to(cloud) == {f"wamid.F{n}": 1 for n in range(4)}
    settled(cloud)
