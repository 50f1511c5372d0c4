"""The alarm Lambda end to end: an SNS event from CloudWatch -> template messages through the local
socialmessaging stand-in, with the claims in moto's DynamoDB and the numbers in moto's Secrets Manager."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant import bootstrap
from assistant.errors import RetryableError
from assistant.local.socialmessaging import SocialMessagingStandIn
from handlers import alarm
from tests.worlds import create_table

ADA, BOB = "15550001111", "15550002222"
PHONE_NUMBER_ARN = (
    "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef0123456789abcdef"
)
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:event-assistant-alarms"
ALARM = {
    "AlarmName": "event-assistant-InboundDLQNotEmpty",
    "AlarmDescription": "Messages in the inbound dead-letter queue",
    "AWSAccountId": "123456789012",
    "AlarmConfigurationUpdatedTimestamp": "2026-03-01T12:00:00.000+0000",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (11/03/26 08:59:00)]"
    " was greater than or equal to the threshold (1.0)",
    "StateChangeTime": "2026-03-11T09:00:00.123+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:event-assistant-InboundDLQNotEmpty",
    "OldStateValue": "OK",
    "OKActions": [],
    "AlarmActions": [TOPIC_ARN],
    "InsufficientDataActions": [],
    "Trigger": {
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Namespace": "AWS/SQS",
        "StatisticType": "Statistic",
        "Statistic": "MAXIMUM",
        "Unit": None,
        "Dimensions": [{"value": "event-assistant-InboundDLQ", "name": "QueueName"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1.0,
        "TreatMissingData": "missing",
    },
}


def sns_event(message: str) -> dict[str, Any]:
    """An SNS event, as Lambda receives it from a topic subscription."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC_ARN}:2f7a1c7e-8e3e-4a8e-9d4b-1c2d3e4f5a6b",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": TOPIC_ARN,
                    "Subject": 'ALARM: "event-assistant-InboundDLQNotEmpty" in US East (N. Virginia)',
                    "Message": message,
                    "Timestamp": "2026-03-11T09:00:00.456Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


class Context:
    function_name = "alarm"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:alarm"
    aws_request_id = "req-1"


@dataclass
class Stack:
    social: SocialMessagingStandIn
    dynamodb: Any

    def items(self) -> list[dict[str, Any]]:
        return list(self.dynamodb.scan(TableName="t")["Items"])


def configure(monkeypatch: pytest.MonkeyPatch, social: SocialMessagingStandIn, **changes: str) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    hash_key = secrets.create_secret(Name="hash-key", SecretString="k" * 32)["ARN"]
    on_call = secrets.create_secret(Name="on-call", SecretString=f"+1 555 000 1111, {BOB}")["ARN"]
    environment = {
        "TABLE_NAME": "t",
        "PROCESSED_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:processed",
        "HASH_KEY_SECRET_ARN": hash_key,
        "KNOWLEDGE_BASE_ID": "KB",
        "GENERATION_MODEL_ARN": "arn:aws:bedrock:us-east-1::foundation-model/m",
        "GUARDRAIL_ID": "g",
        "GUARDRAIL_VERSION": "1",
        "PHONE_NUMBER_ARN": PHONE_NUMBER_ARN,
        "ON_CALL_SECRET_ARN": on_call,
        "ALARM_TEMPLATE_NAME": "ops_alarm",
        "ALARM_TEMPLATE_LANGUAGE": "en_GB",
        "META_API_VERSION": "v20.0",
        "AWS_ENDPOINT_URL_SOCIALMESSAGING": social.endpoint,
        **changes,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    alarm.notifier.cache_clear()
    bootstrap.alarm_notifier.cache_clear()
    with SocialMessagingStandIn(statuses=False) as social, mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(dynamodb)
        configure(monkeypatch, social)
        yield Stack(social, dynamodb)
    alarm.notifier.cache_clear()
    bootstrap.alarm_notifier.cache_clear()


def invoke(message: str) -> None:
    alarm.handler(sns_event(message), Context())  # type: ignore[arg-type]


def template_to(number: str, text: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": number,
        "type": "template",
        "template": {
            "name": "ops_alarm",
            "language": {"code": "en_GB"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
        },
    }


def test_an_alarm_pages_every_on_call_organizer_once_even_when_redelivered(
    stack: Stack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    invoke(json.dumps(ALARM))
    invoke(json.dumps(ALARM))  # SNS's duplicate delivery, or Lambda's retry
    summary = "ALARM: event-assistant-InboundDLQNotEmpty (was OK)"
    assert stack.social.sent() == [template_to(ADA, summary), template_to(BOB, summary)]
    assert {c["originationPhoneNumberId"] for c in stack.social.calls} == {PHONE_NUMBER_ARN}
    assert {c["metaApiVersion"] for c in stack.social.calls} == {"v20.0"}

    items = stack.items()
    assert len(items) == 2 and {i["status"]["S"] for i in items} == {"sent"}
    stored = json.dumps(items)
    wamids = [c["messageId"] for c in stack.social.calls]
    for secret in (ADA, BOB, "555 000 1111", *wamids):
        assert secret not in stored, secret
    assert all(i["pk"]["S"].startswith("alarm#") and int(i["expires_at"]["N"]) > 0 for i in items)

    logged = capsys.readouterr().out + caplog.text
    assert "event-assistant-InboundDLQNotEmpty" in logged and "ALARM" in logged
    for secret in (ADA, BOB, "555 000 1111", "Threshold Crossed", *wamids):
        assert secret not in logged, secret
    assert '"AlarmNotified"' in logged  # the EMF metric, flushed by the handler


def test_an_organizer_not_paged_yet_fails_the_invocation_and_the_retry_pages_only_them(stack: Stack) -> None:
    stack.social.fail_next(code="TooManyRequestsException", status=429, when=lambda m: m.get("to") == BOB)
    with pytest.raises(RetryableError):
        invoke(json.dumps(ALARM))
    assert [m["to"] for m in stack.social.sent()] == [ADA]
    invoke(json.dumps(ALARM))  # Lambda's retry
    assert [m["to"] for m in stack.social.sent()] == [ADA, BOB]


def test_a_state_change_back_to_ok_is_a_page_of_its_own(stack: Stack) -> None:
    invoke(json.dumps(ALARM))
    ok = {
        **ALARM,
        "NewStateValue": "OK",
        "OldStateValue": "ALARM",
        "StateChangeTime": "2026-03-11T09:05:00.000+0000",
    }
    invoke(json.dumps(ok))
    texts = [m["template"]["components"][0]["parameters"][0]["text"] for m in stack.social.sent()]
    assert texts[2:] == ["OK: event-assistant-InboundDLQNotEmpty (was ALARM)"] * 2


def test_a_message_that_is_not_an_alarm_is_dropped_without_a_retry(stack: Stack) -> None:
    invoke("this is a test notification from the SNS console")
    alarm.handler({"Records": [{"Sns": "garbage"}]}, Context())  # type: ignore[arg-type]
    assert stack.social.sent() == [] and stack.items() == []


def test_without_an_on_call_secret_nothing_is_sent_and_the_log_says_so_once(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ON_CALL_SECRET_ARN", "")
    invoke(json.dumps(ALARM))
    invoke(json.dumps(ALARM))
    assert stack.social.sent() == [] and stack.items() == []
    logged = capsys.readouterr().out + caplog.text
    assert logged.count("WhatsApp alarms are off") == 1


def test_dynamodb_claims_follow_the_lease_rules(stack: Stack) -> None:
    from assistant.adapters.alerts import DynamoDBAlarmClaims
    from assistant.services.alerting import ClaimOutcome

    claims = DynamoDBAlarmClaims(stack.dynamodb, "t")

    def take(owner: str, now: int) -> ClaimOutcome:
        return claims.take("n1", "r1", owner=owner, now=now, until=now + 60, expires_at=now + 172800)

    assert take("a1", 1000) is ClaimOutcome.GRANTED
    assert take("a1", 1001) is ClaimOutcome.GRANTED  # botocore's retry of our own put (held to 1061 now)
    assert take("a2", 1061) is ClaimOutcome.HELD
    assert take("a2", 1062) is ClaimOutcome.RESUMED
    claims.release("n1", "r1", owner="a1")  # not a1's any more: kept
    assert take("a3", 1063) is ClaimOutcome.HELD
    claims.release("n1", "r1", owner="a2")
    assert take("a3", 1064) is ClaimOutcome.GRANTED
    claims.mark_sent("n1", "r1", message_key="m", now=1065, expires_at=1065 + 172800)
    assert take("a4", 5000) is ClaimOutcome.SENT
    claims.release("n1", "r1", owner="a3")  # sent: never given back
    assert take("a5", 5001) is ClaimOutcome.SENT
    (item,) = stack.items()
    assert item["pk"]["S"] == "alarm#n1#r1" and item["message_key"]["S"] == "m"
    assert "claim_until" not in item and item["expires_at"]["N"] == str(1065 + 172800)
