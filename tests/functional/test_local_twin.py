"""The local twin itself: virtual time, SQS visibility timeouts, dead Lambda processes, status events."""

from __future__ import annotations

import io
import itertools
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from assistant.local import faults
from assistant.local.clock import VirtualClock
from assistant.local.engine import KnowledgeBase
from assistant.local.runtime import Invocation, LocalCloud
from assistant.local.socialmessaging import SocialMessagingStandIn
from assistant.models.envelope import parse_envelope
from assistant.services import replies
from tests.conftest import load_fixture, text_envelope

INBOUND_VISIBILITY = 360  # template.yaml: InboundQueue
ANSWER_VISIBILITY = 720  # template.yaml: AnswerQueue
INBOUND_MAX_RECEIVES = 5


def run(cloud: LocalCloud, envelope: dict[str, Any]) -> list[dict[str, Any]]:
    before = len(cloud.social.calls)
    cloud.publish_inbound(json.dumps(envelope))
    cloud.drain()
    return [call["message"] for call in cloud.social.calls[before:]]


def is_text(message: dict[str, Any]) -> bool:
    return message.get("type") == "text"


def attempts_of_first_failed_record(cloud: LocalCloud, function: str) -> list[Invocation]:
    """Every invocation that carried the first record of ``function`` that failed or died."""
    first = next(i for i in cloud.invocations if i.function == function and i.failed)
    record = first.failed[0]
    return [i for i in cloud.invocations if record in i.message_ids]


# -- the clock -------------------------------------------------------------------------------------------


def test_virtual_clock_sleeps_by_moving_forward_without_waiting() -> None:
    clock = VirtualClock()
    started, real = clock.now(), time.monotonic()
    clock.sleep(3600)
    clock.advance(60)
    assert clock.now() - started >= 3660
    assert time.monotonic() - real < 1
    assert clock.offset == 3660


def test_virtual_clock_is_real_time_plus_an_offset_that_never_goes_back() -> None:
    real = [1000.0]
    clock = VirtualClock(real_time=lambda: real[0])
    real[0] += 5
    assert clock.now() == 1005
    clock.advance_to(900)
    clock.sleep(-5)
    assert clock.now() == 1005
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    clock.advance_to(1035)
    assert clock.now() == 1035 and clock.offset == 30


def test_functions_run_on_the_twins_virtual_clock(cloud: LocalCloud) -> None:
    month = 30 * 86400
    cloud.clock.advance(month)
    run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.V1"))
    ddb = boto3.client("dynamodb")
    items = [item for table in ddb.list_tables()["TableNames"] for item in ddb.scan(TableName=table)["Items"]]
    expiries = [float(item["expires_at"]["N"]) for item in items if "expires_at" in item]
    # Everything the functions wrote expires after *their* now, a month ahead of the real one.
    assert expiries and min(expiries) > time.time() + month


def test_virtual_time_goes_on_from_the_state_saved_in_the_home(
    tmp_path: Path, sample_kb: KnowledgeBase
) -> None:
    # Leases and claims saved by a run that let an hour pass must not look held for an hour of real time.
    with LocalCloud(tmp_path, log_stream=io.StringIO(), knowledge_base=sample_kb) as first:
        first.clock.advance(3600)
    with LocalCloud(tmp_path, log_stream=io.StringIO(), knowledge_base=sample_kb) as second:
        assert second.clock.offset > 3590


# -- visibility timeouts -----------------------------------------------------------------------------------


def test_failed_record_comes_back_only_after_the_queues_visibility_timeout(cloud: LocalCloud) -> None:
    # More throttles than the messenger absorbs: the static reply fails its record once.
    cloud.social.fail_next(times=3, when=is_text)
    started, real = cloud.clock.now(), time.monotonic()
    sent = run(cloud, load_fixture("message__image.json"))
    assert [m["text"]["body"] for m in sent if is_text(m)] == [replies.say("unsupported_media")]
    first, retry = attempts_of_first_failed_record(cloud, "InboundFunction")
    assert retry.at - first.at >= INBOUND_VISIBILITY  # not one attempt in between
    assert not retry.failed
    assert cloud.clock.now() - started >= INBOUND_VISIBILITY
    assert time.monotonic() - real < 30  # virtual time: the timeout is not waited for


def test_record_failing_every_time_is_dead_lettered_after_max_receive_count(cloud: LocalCloud) -> None:
    cloud.social.fail_next(times=200, when=is_text)
    started = cloud.clock.now()
    run(cloud, load_fixture("message__image.json"))
    attempts = attempts_of_first_failed_record(cloud, "InboundFunction")
    assert len(attempts) == INBOUND_MAX_RECEIVES
    assert all(b.at - a.at >= INBOUND_VISIBILITY for a, b in itertools.pairwise(attempts))
    assert cloud.clock.now() - started >= (INBOUND_MAX_RECEIVES - 1) * INBOUND_VISIBILITY
    assert cloud.dead_letters()["InboundDeadLetterQueue"] == 1
    cloud.social.clear()


def test_dead_inbound_process_leaves_its_batch_for_redelivery_after_the_timeout(cloud: LocalCloud) -> None:
    plan = faults.FaultPlan([faults.crash_before(faults.call("dynamodb", "TransactWriteItems"))])
    with faults.injected(plan):
        sent = run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.C1"))
    assert plan.fired == [("crash_before", "dynamodb", "TransactWriteItems")]
    first, retry = attempts_of_first_failed_record(cloud, "InboundFunction")
    assert first.crashed and not retry.crashed
    assert retry.at - first.at >= INBOUND_VISIBILITY
    assert [m.get("type", "read") for m in sent] == ["read", "text"]


def test_dead_answer_process_is_answered_once_its_claim_has_expired(cloud: LocalCloud) -> None:
    # The crash leaves the message claimed: retried at once, the retry would find it "being answered" and
    # skip it. On AWS it comes back after the visibility timeout, when the claim has long expired.
    plan = faults.FaultPlan(
        [faults.crash_before(faults.call("bedrock-agent-runtime", "RetrieveAndGenerate"))]
    )
    with faults.injected(plan):
        sent = run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.C2"))
    assert plan.fired
    first, retry = attempts_of_first_failed_record(cloud, "AnswerFunction")
    assert first.crashed
    assert retry.at - first.at >= ANSWER_VISIBILITY
    replies_sent = [m for m in sent if is_text(m)]
    assert len(replies_sent) == 1
    assert "Auditorium A" in replies_sent[0]["text"]["body"]
    assert cloud.metrics["DuplicateAnswerSkipped"] == 0


# -- status events -----------------------------------------------------------------------------------------


def test_every_message_sent_but_a_read_receipt_gets_a_sent_status_back(cloud: LocalCloud) -> None:
    cloud.social.hold_statuses = True
    sent = run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.S1"))
    (reply,) = [m for m in sent if is_text(m)]
    (held,) = cloud.social.held_statuses  # one: the read receipt has no status of its own
    assert cloud.metrics["MessageStatus sent"] == 0
    (status,) = parse_envelope(held).statuses
    assert status.status == "sent"
    assert status.message_id.startswith("wamid.HBgL")
    assert status.callback_data == reply["biz_opaque_callback_data"]
    assert status.route.origination_phone_number_id == cloud.social.calls[-1]["originationPhoneNumberId"]
    raw = json.loads(held["whatsAppWebhookEntry"])["changes"][0]["value"]["statuses"][0]
    assert raw["recipient_id"] == reply["to"]
    assert abs(int(raw["timestamp"]) - cloud.clock.now()) < 5

    assert cloud.social.release_statuses() == 1
    cloud.drain()
    assert cloud.metrics["MessageStatus sent"] == 1
    assert cloud.social.held_statuses == []


def test_status_names_the_number_the_question_came_to(cloud: LocalCloud) -> None:
    envelope = load_fixture("message__text.json")
    cloud.social.hold_statuses = True
    run(cloud, envelope)
    (held,) = cloud.social.held_statuses
    assert held["context"]["MetaPhoneNumberIds"] == envelope["context"]["MetaPhoneNumberIds"]
    metadata = json.loads(held["whatsAppWebhookEntry"])["changes"][0]["value"]["metadata"]
    assert metadata["phone_number_id"] == envelope["context"]["MetaPhoneNumberIds"][0]["metaPhoneNumberId"]


def test_held_statuses_go_out_oldest_first_as_released(cloud: LocalCloud) -> None:
    cloud.social.hold_statuses = True
    run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.H1", sender="15550002222"))
    run(cloud, text_envelope("When is lunch on day 1?", wamid="wamid.H2", sender="15550003333"))
    assert len(cloud.social.held_statuses) == 2
    assert cloud.social.release_statuses(1) == 1
    (ready,) = cloud.social.take_statuses()
    assert "15550002222" in ready["whatsAppWebhookEntry"]
    assert len(cloud.social.held_statuses) == 1


def test_statuses_can_be_turned_off(cloud: LocalCloud) -> None:
    cloud.social.statuses = False
    run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.O1"))
    assert cloud.social.held_statuses == [] and cloud.social.take_statuses() == []
    assert cloud.metrics["MessageStatus sent"] == 0


# -- the stand-in on its own ---------------------------------------------------------------------------------


def send(client: Any, message: dict[str, Any]) -> str:
    response = client.send_whatsapp_message(
        originationPhoneNumberId="phone-number-id-0123456789abcdef0123456789abcdef",
        metaApiVersion="v20.0",
        message=json.dumps(message).encode(),
    )
    return str(response["messageId"])


@pytest.fixture
def stand_in() -> Any:
    with SocialMessagingStandIn() as running:
        client = boto3.client(
            "socialmessaging",
            endpoint_url=running.endpoint,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        yield running, client


REPLY = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "15550001111",
    "type": "text",
    "text": {"preview_url": False, "body": "hello"},
    "biz_opaque_callback_data": "msg-key-1",
}


def test_stand_in_answers_with_wamid_shaped_ids(stand_in: Any) -> None:
    social, client = stand_in
    message_id = send(client, REPLY)
    assert message_id.startswith("wamid.HBgL")
    (status,) = parse_envelope(social.take_statuses()[0]).statuses
    assert status.message_id == message_id
    assert status.callback_data == "msg-key-1"


def test_read_receipt_gets_no_status_event(stand_in: Any) -> None:
    social, client = stand_in
    send(client, {"messaging_product": "whatsapp", "message_id": "wamid.X", "status": "read"})
    assert social.take_statuses() == []


def test_applied_fault_sends_the_message_and_still_fails_the_call(stand_in: Any) -> None:
    social, client = stand_in
    social.fail_next(code="InternalServerException", status=500, applied=True)
    with pytest.raises(ClientError) as raised:
        send(client, REPLY)
    assert raised.value.response["Error"]["Code"] == "InternalServerException"
    assert social.sent() == [REPLY]
    assert social.rejected == []
    (status,) = parse_envelope(social.take_statuses()[0]).statuses
    assert status.callback_data == "msg-key-1"
    send(client, REPLY)  # one fault, one call
    assert len(social.sent()) == 2


def test_plain_fault_sends_nothing(stand_in: Any) -> None:
    social, client = stand_in
    social.fail_next(code="InternalServerException", status=500)
    with pytest.raises(ClientError):
        send(client, REPLY)
    assert social.sent() == [] and social.take_statuses() == []
