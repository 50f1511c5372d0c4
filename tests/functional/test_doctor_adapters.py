"""The doctor's adapters against what plays each service: the socialmessaging stand-in (linked accounts),
moto (SQS), and botocore's Stubber with the service models' own response shapes for CloudFormation and the
Bedrock control plane (moto plays neither: no SAM outputs, no model catalogue). Then the doctor over all of
them, linking an account with ``--link``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from assistant.adapters.aws import client
from assistant.adapters.bedrock_agent import BedrockIngestion
from assistant.adapters.doctor import (
    BedrockModelAccess,
    CloudFormationStack,
    SocialMessagingAccounts,
    SqsQueues,
)
from assistant.errors import RejectedByService, RetryableError
from assistant.fakes import FixedClock
from assistant.local.bedrock_agent import BedrockAgentStandIn
from assistant.local.socialmessaging import SocialMessagingStandIn
from assistant.services.doctor import Doctor, Level, LinkedAccount, QueueDepth, exit_code, render

REGION = "us-east-1"
ACCOUNT = "123456789012"
PHONE = f"arn:aws:social-messaging:{REGION}:{ACCOUNT}:phone-number-id/0123456789abcdef0123456789abcdef"
OTHER_PHONE = f"arn:aws:social-messaging:{REGION}:{ACCOUNT}:phone-number-id/fedcba9876543210fedcba9876543210"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:event-assistant-InboundTopic-AbC123"
MODEL_ID = "amazon.nova-lite-v1:0"
MODEL = f"arn:aws:bedrock:{REGION}::foundation-model/{MODEL_ID}"
PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/us.{MODEL_ID}"
T0 = 1_800_000_000.0


@pytest.fixture
def social() -> Iterator[SocialMessagingStandIn]:
    with SocialMessagingStandIn(statuses=False, clock=lambda: T0) as running:
        yield running


def accounts_at(social: SocialMessagingStandIn) -> SocialMessagingAccounts:
    return SocialMessagingAccounts(
        client("socialmessaging", attempts=1, endpoint_url=social.endpoint, region_name=REGION)
    )


# -- End User Messaging Social's linked accounts, against the stand-in --------------------------------------


def test_linked_accounts_are_read_page_by_page_with_their_numbers_and_destination(
    social: SocialMessagingStandIn,
) -> None:
    social.account_page_size = 1
    social.add_business_account("waba-1", "Event", [PHONE, OTHER_PHONE], TOPIC)
    social.add_business_account("waba-2", "Sales", [])
    social.add_business_account("waba-3", "", [OTHER_PHONE.replace("fedc", "0000")])
    assert accounts_at(social).linked() == [
        LinkedAccount("waba-1", "Event", (PHONE, OTHER_PHONE), TOPIC),
        LinkedAccount("waba-2", "Sales", (), None),
        LinkedAccount("waba-3", "", (OTHER_PHONE.replace("fedc", "0000"),), None),
    ]


def test_no_linked_account_is_an_empty_list(social: SocialMessagingStandIn) -> None:
    assert accounts_at(social).linked() == []


def test_link_sets_and_replaces_the_only_event_destination(social: SocialMessagingStandIn) -> None:
    social.add_business_account("waba-1", "Event", [PHONE])
    accounts = accounts_at(social)
    accounts.link("waba-1", TOPIC)
    assert social.event_destination("waba-1") == TOPIC
    other = TOPIC.replace("InboundTopic", "Other")
    accounts.link("waba-1", other)
    assert accounts.linked()[0].event_destination == other


def test_linking_an_unknown_account_is_rejected(social: SocialMessagingStandIn) -> None:
    with pytest.raises(RejectedByService) as raised:
        accounts_at(social).link("waba-404", TOPIC)
    assert raised.value.code == "InvalidParametersException"


def test_a_throttled_list_is_retryable() -> None:
    raw = boto3.client("socialmessaging", region_name=REGION)
    with Stubber(raw) as stub:
        stub.add_client_error(
            "list_linked_whatsapp_business_accounts", "ThrottledRequestException", http_status_code=429
        )
        with pytest.raises(RetryableError):
            SocialMessagingAccounts(raw).linked()


def test_sending_still_works_beside_the_account_operations(social: SocialMessagingStandIn) -> None:
    import json

    raw = client("socialmessaging", attempts=1, endpoint_url=social.endpoint, region_name=REGION)
    message = {"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}
    raw.send_whatsapp_message(
        originationPhoneNumberId="phone-number-id-1",
        metaApiVersion="v20.0",
        message=json.dumps(message).encode(),
    )
    assert social.sent() == [message]


# -- SQS, against moto --------------------------------------------------------------------------------------


def test_queue_depth_counts_waiting_and_in_flight_messages() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="event-assistant-AnswerDeadLetterQueue")["QueueUrl"]
        for n in range(3):
            sqs.send_message(QueueUrl=url, MessageBody=str(n))
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
        assert SqsQueues(sqs).depth(url) == QueueDepth(visible=2, in_flight=1, oldest_seconds=None)


def test_a_missing_queue_is_rejected() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        with pytest.raises(RejectedByService):
            SqsQueues(sqs).depth(f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/gone")


# -- CloudFormation, stubbed --------------------------------------------------------------------------------


def describe_stacks_response(status: str, outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/event-assistant/1b2c3d4e",
                "StackName": "event-assistant",
                "CreationTime": datetime(2026, 11, 1, tzinfo=UTC),
                "StackStatus": status,
                "Outputs": [
                    {"OutputKey": key, "OutputValue": value, "Description": "an output"}
                    for key, value in outputs.items()
                ],
            }
        ]
    }


def test_a_stack_is_described_once_for_its_status_and_outputs() -> None:
    raw = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(raw) as stub:
        stub.add_response(
            "describe_stacks",
            describe_stacks_response("UPDATE_COMPLETE", {"InboundTopicArn": TOPIC}),
            {"StackName": "event-assistant"},
        )
        stack = CloudFormationStack(raw, "event-assistant")
        assert (stack.name, stack.region) == ("event-assistant", "eu-west-1")
        assert stack.status() == "UPDATE_COMPLETE"
        assert stack.outputs() == {"InboundTopicArn": TOPIC}
        stub.assert_no_pending_responses()


def test_a_stack_that_does_not_exist_is_rejected_with_its_code() -> None:
    raw = boto3.client("cloudformation", region_name=REGION)
    with Stubber(raw) as stub:
        stub.add_client_error("describe_stacks", "ValidationException", "Stack with id nope does not exist")
        with pytest.raises(RejectedByService) as raised:
            CloudFormationStack(raw, "nope").status()
    assert raised.value.code == "ValidationException"


# -- Bedrock's model catalogue, stubbed ---------------------------------------------------------------------


def foundation_model(
    model_id: str = MODEL_ID, *, lifecycle: str = "ACTIVE", inference: tuple[str, ...] = ("ON_DEMAND",)
) -> dict[str, Any]:
    return {
        "modelDetails": {
            "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{model_id}",
            "modelId": model_id,
            "modelName": "Nova Lite",
            "providerName": "Amazon",
            "inputModalities": ["TEXT", "IMAGE"],
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "customizationsSupported": [],
            "inferenceTypesSupported": list(inference),
            "modelLifecycle": {"status": lifecycle},
        }
    }


def availability(
    model_id: str = MODEL_ID,
    *,
    authorization: str = "AUTHORIZED",
    entitlement: str = "AVAILABLE",
    region: str = "AVAILABLE",
    agreement: str = "AVAILABLE",
) -> dict[str, Any]:
    return {
        "modelId": model_id,
        "agreementAvailability": {"status": agreement},
        "authorizationStatus": authorization,
        "entitlementAvailability": entitlement,
        "regionAvailability": region,
    }


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    raw = boto3.client("bedrock", region_name=REGION)
    with Stubber(raw) as stub:
        yield raw, stub
        stub.assert_no_pending_responses()


def test_an_active_on_demand_authorized_model_is_usable(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_response("get_foundation_model", foundation_model(), {"modelIdentifier": MODEL_ID})
    stub.add_response("get_foundation_model_availability", availability(), {"modelId": MODEL_ID})
    assert BedrockModelAccess(raw).check(MODEL).usable


def test_a_model_without_on_demand_needs_its_inference_profile(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_response("get_foundation_model", foundation_model(inference=("PROVISIONED",)))
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable
    assert f"us.{MODEL_ID} / eu.{MODEL_ID} / apac.{MODEL_ID}" in state.fix
    assert f"sam deploy --parameter-overrides GenerationModelId=us.{MODEL_ID}" in state.fix


def test_a_legacy_model_is_not_usable(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_response("get_foundation_model", foundation_model(lifecycle="LEGACY"))
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable and "LEGACY" in state.problem


@pytest.mark.parametrize(
    "answer",
    [
        availability(authorization="NOT_AUTHORIZED"),
        availability(entitlement="NOT_AVAILABLE"),
        availability(agreement="PENDING"),
    ],
)
def test_a_model_without_access_points_at_the_model_access_page(
    bedrock: tuple[Any, Stubber], answer: dict[str, Any]
) -> None:
    raw, stub = bedrock
    stub.add_response("get_foundation_model", foundation_model())
    stub.add_response("get_foundation_model_availability", answer)
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable
    assert state.fix == f"enable model access in the Bedrock console (Model access) in {REGION}"


def test_a_model_not_offered_in_the_region_is_not_usable(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_response("get_foundation_model", foundation_model())
    stub.add_response("get_foundation_model_availability", availability(region="NOT_AVAILABLE"))
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable and REGION in state.problem


def test_an_inference_profile_checks_its_model_once(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_response(
        "get_inference_profile",
        {
            "inferenceProfileName": "US Nova Lite",
            "inferenceProfileArn": PROFILE,
            "inferenceProfileId": f"us.{MODEL_ID}",
            "models": [
                {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{MODEL_ID}"}
                for region in ("us-east-1", "us-east-2", "us-west-2")
            ],
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        },
        {"inferenceProfileIdentifier": PROFILE},
    )
    stub.add_response("get_foundation_model_availability", availability(), {"modelId": MODEL_ID})
    assert BedrockModelAccess(raw).check(PROFILE).usable


def test_access_denied_leaves_the_model_unchecked(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_client_error("get_foundation_model", "AccessDeniedException", http_status_code=403)
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable
    assert state.problem == "cannot check: AccessDeniedException"
    assert "bedrock:GetFoundationModel" in state.fix


def test_an_unknown_model_says_so(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_client_error("get_foundation_model", "ResourceNotFoundException", http_status_code=404)
    state = BedrockModelAccess(raw).check(MODEL)
    assert not state.usable and "list-foundation-models" in state.fix


def test_throttling_is_raised_as_retryable(bedrock: tuple[Any, Stubber]) -> None:
    raw, stub = bedrock
    stub.add_client_error("get_foundation_model", "ThrottlingException", http_status_code=429)
    with pytest.raises(RetryableError):
        BedrockModelAccess(raw).check(MODEL)


# -- the doctor over the real adapters ----------------------------------------------------------------------


def test_the_doctor_links_the_account_and_finds_the_dead_letters(social: SocialMessagingStandIn) -> None:
    social.add_business_account("waba-1", "Event", [PHONE])
    with mock_aws(), BedrockAgentStandIn("KB12345678", "DS12345678", clock=lambda: T0 - 3600) as agent:
        sqs = boto3.client("sqs", region_name=REGION)
        urls = {
            f"{role}{kind}QueueUrl": sqs.create_queue(QueueName=f"ea-{role}{kind}Queue")["QueueUrl"]
            for role in ("Inbound", "Answer", "Categorize", "Ingest")
            for kind in ("", "DeadLetter")
        }
        sqs.send_message(QueueUrl=urls["AnswerDeadLetterQueueUrl"], MessageBody="{}")
        agent.upload("s3://kb/agenda.md")
        agent.upload("s3://kb/venue.md")
        BedrockIngestion(
            client("bedrock-agent", endpoint_url=agent.endpoint), "KB12345678", "DS12345678"
        ).start("a" * 40)
        agent.finish()
        outputs = {
            **urls,
            "InboundTopicArn": TOPIC,
            "ConversationTableName": "ea-ConversationTable",
            "PhoneNumberArn": PHONE,
            "HashKeySecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:hash",
            "KnowledgeBaseId": "KB12345678",
            "KnowledgeDataSourceId": "DS12345678",
            "GenerationModelArn": MODEL,
        }
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        bedrock = boto3.client("bedrock", region_name=REGION)
        with Stubber(cloudformation) as stack_stub, Stubber(bedrock) as model_stub:
            stack_stub.add_response("describe_stacks", describe_stacks_response("CREATE_COMPLETE", outputs))
            model_stub.add_response("get_foundation_model", foundation_model())
            model_stub.add_response("get_foundation_model_availability", availability())
            doctor = Doctor(
                CloudFormationStack(cloudformation, "event-assistant"),
                accounts=accounts_at(social),
                models=BedrockModelAccess(bedrock),
                ingestion=lambda kb, ds: BedrockIngestion(
                    client("bedrock-agent", endpoint_url=agent.endpoint, region_name=REGION), kb, ds
                ),
                queues=SqsQueues(sqs),
                clock=FixedClock(T0),
                link=True,
            )
            findings = doctor.run()
    assert social.event_destination("waba-1") == TOPIC
    by_check = {f.check: f for f in findings if f.level is not Level.OK}
    assert set(by_check) == {"dead-letter"}, render(findings)
    assert by_check["dead-letter"].message == "1 message in ea-AnswerDeadLetterQueue"
    assert f"arn:aws:sqs:{REGION}:{ACCOUNT}:ea-AnswerDeadLetterQueue" in by_check["dead-letter"].fix
    assert any(f.message == "2 documents indexed, 60 min ago" for f in findings), render(findings)
    assert any(f.message.startswith("linked: Event (waba-1)") for f in findings)
    assert exit_code(findings) == 1
