"""The handlers and real adapters end to end on moto and the socialmessaging stand-in."""

from __future__ import annotations

import json
from typing import Any

import boto3

from assistant.local.runtime import LocalCloud
from assistant.services import replies
from assistant.services.language import detect
from tests.conftest import load_fixture, text_envelope, with_message


def run(cloud: LocalCloud, *envelopes: dict[str, Any]) -> list[dict[str, Any]]:
    before = len(cloud.social.calls)
    for envelope in envelopes:
        cloud.publish_inbound(json.dumps(envelope))
        cloud.drain()
    return [call["message"] for call in cloud.social.calls[before:]]


def is_read(message: dict[str, Any], *, typing: bool) -> bool:
    return message.get("status") == "read" and ("typing_indicator" in message) == typing


def test_text_message_gets_read_with_typing_then_one_quoted_reply(cloud: LocalCloud) -> None:
    sent = run(cloud, text_envelope("Where is the keynote?", wamid="wamid.K1"))
    assert len(sent) == 2
    assert sent[0] == {
        "messaging_product": "whatsapp",
        "message_id": "wamid.K1",
        "status": "read",
        "typing_indicator": {"type": "text"},
    }
    assert sent[1]["to"] == "15550001111"
    assert sent[1]["context"] == {"message_id": "wamid.K1"}
    assert sent[1]["type"] == "text" and sent[1]["text"]["body"]
    assert cloud.social.calls[0]["originationPhoneNumberId"].startswith("phone-number-id-")
    assert cloud.social.calls[0]["metaApiVersion"] == "v20.0"


def test_sample_fixtures_give_one_answer_or_explanation_each_and_nothing_for_statuses(
    cloud: LocalCloud,
) -> None:
    texts = [
        "message__text.json",
        "real_capture_text.json",
        "callback_button__button.json",
        "callback_selection__callback.json",
    ]
    voice = ["message__audio.json", "message__voice.json"]
    unsupported = [
        "message__image.json",
        "message__document.json",
        "message__static_sticker.json",
        "message__current_location.json",
        "message__contacts.json",
        "message__unsupported.json",
    ]
    for name in texts:
        sent = run(cloud, load_fixture(name))
        assert [is_read(m, typing=True) for m in sent] == [True, False], name
        assert sent[1]["type"] == "text"
    for name in unsupported:
        sent = run(cloud, load_fixture(name))
        assert [m.get("status") for m in sent] == ["read", None], name
        assert sent[1]["text"]["body"] == replies.say("unsupported_media")
    for name in voice:
        # Heard in the answer stage; the fixtures' media ids name no media this twin holds.
        sent = run(cloud, load_fixture(name))
        assert [is_read(m, typing=True) for m in sent] == [True, False], name
        assert sent[1]["text"]["body"] == replies.say("audio_unreadable")
    for name in ("sent", "delivered", "read", "failed"):
        assert run(cloud, load_fixture(f"message_status__{name}.json")) == []
    # repeated lines: nothing at all
    for name in texts + unsupported + voice:
        assert run(cloud, load_fixture(name)) == [], name
    assert cloud.metrics["MessageFailed 130472"] == 1
    assert cloud.dead_letters() == {
        "InboundDeadLetterQueue": 0,
        "AnswerDeadLetterQueue": 0,
        "CategorizeDeadLetterQueue": 0,
    }


def test_user_with_only_a_business_scoped_id_is_answered_by_that_id(cloud: LocalCloud) -> None:
    envelope = text_envelope("hello", wamid="wamid.U1")
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    value["contacts"] = [{"profile": {"name": "Grace"}, "user_id": "US.99887766554433221100"}]
    message = value["messages"][0]
    del message["from"]
    message["from_user_id"] = "US.99887766554433221100"
    sent = run(cloud, {**envelope, "whatsAppWebhookEntry": json.dumps(entry)})
    assert sent[1]["recipient"] == "US.99887766554433221100"
    assert "to" not in sent[1]


def test_malformed_record_is_dropped_without_failing_the_batch(cloud: LocalCloud) -> None:
    sqs = boto3.client("sqs")
    url = cloud.queue_url("InboundQueue")
    sqs.send_message(QueueUrl=url, MessageBody="{not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"context": {}, "whatsAppWebhookEntry": "[]"}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(text_envelope("hi", wamid="wamid.B1")))
    cloud.drain()
    assert len(cloud.social.calls) == 2
    assert cloud.metrics["MalformedPayload"] == 2
    assert cloud.summary["InboundFunction.retried"] == 0
    assert cloud.dead_letters()["InboundDeadLetterQueue"] == 0


def test_non_raw_sns_delivery_is_read_as_well(cloud: LocalCloud) -> None:
    notification = {
        "Type": "Notification",
        "MessageId": "b0d7c2a4-0000-4000-8000-000000000000",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:InboundTopic",
        "Message": json.dumps(text_envelope("hi", wamid="wamid.N1")),
    }
    boto3.client("sqs").send_message(
        QueueUrl=cloud.queue_url("InboundQueue"), MessageBody=json.dumps(notification)
    )
    cloud.drain()
    assert [m.get("status") for m in cloud.social.sent()] == ["read", None]


def test_throttled_reply_fails_only_its_record_and_is_sent_once_on_retry(cloud: LocalCloud) -> None:
    # More throttles than botocore's own retries absorb: the record fails and SQS redelivers it.
    cloud.social.fail_next(times=12, when=lambda message: message.get("type") == "text")
    sent = run(cloud, load_fixture("message__image.json"))
    bodies = [m["text"]["body"] for m in sent if m.get("type") == "text"]
    assert bodies == [replies.say("unsupported_media")]
    assert cloud.summary["InboundFunction.retried"] >= 1
    assert cloud.dead_letters()["InboundDeadLetterQueue"] == 0


def test_record_failing_past_max_receive_count_lands_in_the_dead_letter_queue(cloud: LocalCloud) -> None:
    cloud.social.fail_next(times=200, when=lambda message: message.get("type") == "text")
    run(cloud, load_fixture("message__image.json"))
    assert cloud.dead_letters()["InboundDeadLetterQueue"] == 1
    cloud.social.clear()


def test_rejected_typing_indicator_falls_back_to_a_plain_read_receipt(cloud: LocalCloud) -> None:
    cloud.social.reject_typing_indicator = True
    sent = run(cloud, text_envelope("hi", wamid="wamid.F1"))
    assert [is_read(m, typing=False) for m in sent] == [True, False]
    assert len(cloud.social.rejected) == 1


def test_redelivered_processed_event_is_answered_once(cloud: LocalCloud) -> None:
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    # Listen on the processed-messages topic beside the answer stage, to redeliver a real event.
    capture = sqs.create_queue(QueueName="Capture")["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":ProcessedTopic")
    )
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=capture_arn, Attributes={"RawMessageDelivery": "true"}
    )
    first = run(cloud, text_envelope("where is the opening keynote?", wamid="wamid.R1"))
    assert [m.get("type", "read") for m in first] == ["read", "text"]
    (event,) = sqs.receive_message(QueueUrl=capture, MaxNumberOfMessages=10)["Messages"]
    assert "15550001111" not in json.loads(event["Body"])["user_key"]
    sqs.send_message(QueueUrl=cloud.queue_url("AnswerQueue"), MessageBody=event["Body"])
    before = len(cloud.social.calls)
    cloud.drain()
    assert cloud.social.calls[before:] == []
    assert cloud.metrics["DuplicateAnswerSkipped"] == 1


def test_same_envelope_twice_in_one_batch_is_answered_once(cloud: LocalCloud) -> None:
    sqs = boto3.client("sqs")
    body = json.dumps(text_envelope("hi", wamid="wamid.D1"))
    for _ in range(3):
        sqs.send_message(QueueUrl=cloud.queue_url("InboundQueue"), MessageBody=body)
    cloud.drain()
    assert [m.get("type", "read") for m in cloud.social.sent()] == ["read", "text"]


def test_several_messages_in_one_entry_are_each_handled(cloud: LocalCloud) -> None:
    envelope = text_envelope("first", wamid="wamid.M1")
    entry = json.loads(envelope["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    value["contacts"].append({"profile": {"name": "Bob"}, "wa_id": "15550004444"})
    value["messages"].append(
        {
            "from": "15550004444",
            "id": "wamid.M2",
            "timestamp": "1762827870",
            "type": "text",
            "text": {"body": "second"},
        }
    )
    sent = run(cloud, {**envelope, "whatsAppWebhookEntry": json.dumps(entry)})
    assert sorted(m["to"] for m in sent if m.get("type") == "text") == ["15550001111", "15550004444"]


def test_state_survives_between_runs_in_the_same_home(tmp_path: Any, sample_kb: Any) -> None:
    import io

    envelope = with_message(load_fixture("message__text.json"), id="wamid.S1")
    with LocalCloud(tmp_path, log_stream=io.StringIO(), knowledge_base=sample_kb) as first:
        assert len(run(first, envelope)) == 2
    with LocalCloud(tmp_path, log_stream=io.StringIO(), knowledge_base=sample_kb) as second:
        assert run(second, envelope) == []


def test_a_throttled_send_is_retried_by_the_messenger_and_delivered_once(cloud: LocalCloud) -> None:
    cloud.social.fail_next(times=2, when=lambda message: message.get("type") == "text")
    sent = run(cloud, load_fixture("message__image.json"))
    assert [m["text"]["body"] for m in sent if m.get("type") == "text"] == [replies.say("unsupported_media")]
    assert cloud.summary["InboundFunction.retried"] == 0


def test_a_send_that_fails_after_the_service_took_it_is_not_repeated_by_the_sdk(cloud: LocalCloud) -> None:
    # An internal error may come after the message went out: no immediate retry of the same send.
    cloud.social.fail_next(
        code="InternalServiceException", status=500, times=1, when=lambda m: m.get("type") == "text"
    )
    run(cloud, load_fixture("message__image.json"))
    assert len(cloud.social.rejected) == 1
    assert cloud.summary["InboundFunction.retried"] == 1


def test_small_talk_and_a_foreign_question_are_answered_in_their_language(cloud: LocalCloud) -> None:
    sent = run(cloud, text_envelope("Hola!", wamid="wamid.ST1"))
    assert sent[-1]["text"]["body"] == replies.say("greeting", "es")
    sent = run(
        cloud, text_envelope("¿Dónde puedo rezar durante el evento?", wamid="wamid.ST2", timestamp=1762827999)
    )
    # The local engine finds the English passage and can only quote it: the words around it are Spanish.
    body = sent[-1]["text"]["body"]
    assert detect(body.splitlines()[0]) == "es"
