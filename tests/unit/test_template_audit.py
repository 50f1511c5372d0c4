"""An audit of ``template.yaml`` as it is deployed (after the SAM transform): least privilege, encryption,
TLS, models and Regions, the names' lengths, the inbound filter, and the operations it is watched by.

Every IAM or resource-policy statement that grants a wildcard (an action or a resource holding ``*``) must be
one of ``ALLOWED_WILDCARDS`` below, each with the reason it cannot be narrower.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from assistant.local import envelopes
from assistant.local import template as local_template
from assistant.local.template import LOCAL_PARAMETERS, filter_policy, load_template, resolver
from tests.conftest import text_envelope
from tests.unit.conftest import as_list as _as_list

ROOT = Path(__file__).resolve().parents[2]
KEY_REF = {"Ref": "EncryptionKey"}
KEY_ARN = {"Fn::GetAtt": ["EncryptionKey", "Arn"]}
THE_KEY = frozenset({"EncryptionKey"})
PROFILE_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")
# A stack's name may be 128 characters long (letters, digits, hyphens, two in a row included).
LONGEST_STACK_NAME = "E" + "vent--assistant" * 8 + "-abcdef"
LONGEST_STACK_ID = (
    "arn:aws:cloudformation:eu-south-2:123456789012:stack/{}/01234567-89ab-4def-8123-456789abcdef"
)
CUSTOM_METRICS = {
    "Answered",
    "BudgetExceeded",
    "BudgetGranted",
    "AnswerLatency",
    "AnswerError",
    "BedrockMisconfigured",
    "BedrockRetry",
    "BedrockRetriesExhausted",
    "GuardrailMasked",
    "MessageStatus",
    "MessageAccepted",
    "StaticReply",
    "RateLimited",
    "UserBusy",
    "DuplicateMessage",
    "ReplyRejected",
    "ReadReceiptFailed",
    "VoiceTranscribed",
    "VoiceRefused",
    "TranscriptionTime",
    "QuestionCategorized",
    "IngestionStarted",
    "IngestionDocumentsFailed",
    "AlarmNotified",
    "AlarmNotifyFailed",
}


@pytest.fixture(scope="module")
def deployed() -> dict[str, Any]:
    """The template as CloudFormation receives it: after `sam build` (code in S3) and the SAM transform."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    document = load_template(ROOT / "template.yaml")
    document["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    document["Resources"]["FfmpegLayer"]["Properties"]["ContentUri"] = "s3://bucket/ffmpeg.zip"
    parameters = {"AWS::Region": "us-east-1", **LOCAL_PARAMETERS}
    transformed: dict[str, Any] = transform(document, parameters, NoManagedPolicies())
    return transformed


def _of_type(document: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in document["Resources"].items() if r["Type"] == type_}


# -- least privilege ---------------------------------------------------------------------------------------


def test_no_managed_policy_is_attached_anywhere(deployed: dict[str, Any]) -> None:
    # SAM's generated roles attach AWS managed policies that grant "*" (logs, sqs, X-Ray): there are none.
    assert "ManagedPolicyArns" not in json.dumps(deployed)
    assert not _of_type(deployed, "AWS::IAM::ManagedPolicy")
    assert not _of_type(deployed, "AWS::IAM::Policy")


def test_every_function_has_a_role_of_its_own_that_only_lambda_of_this_account_assumes(
    deployed: dict[str, Any],
) -> None:
    functions = _of_type(deployed, "AWS::Lambda::Function")
    roles = [f["Properties"]["Role"] for f in functions.values()]
    assert all(set(role) == {"Fn::GetAtt"} for role in roles)
    assert len({role["Fn::GetAtt"][0] for role in roles}) == len(functions)
    for name, function in functions.items():
        role = deployed["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert role["Type"] == "AWS::IAM::Role", name
        assert role.get("Condition") == function.get("Condition"), name
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}, name
        assert trust["Action"] == "sts:AssumeRole", name
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}, name


def test_every_function_writes_only_its_own_log_group_and_reads_only_its_own_queue(
    deployed: dict[str, Any],
) -> None:
    mappings = _of_type(deployed, "AWS::Lambda::EventSourceMapping").values()
    queue_of = {m["Properties"]["FunctionName"]["Ref"]: m["Properties"]["EventSourceArn"] for m in mappings}
    for name, function in _of_type(deployed, "AWS::Lambda::Function").items():
        logs = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert deployed["Resources"][logs]["Type"] == "AWS::Logs::LogGroup", name
        statements = list(_role_statements(deployed, function["Properties"]["Role"]["Fn::GetAtt"][0]))
        writes = [s for s, _ in statements if "logs:PutLogEvents" in _as_list(s["Action"])]
        assert [s["Resource"] for s in writes] == [
            [
                {
                    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                    + f"${{{logs}}}"
                },
                {"Fn::GetAtt": [logs, "Arn"]},
            ]
        ], name
        reads = [s for s, _ in statements if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
        if name in queue_of:
            (read,) = reads
            assert read["Resource"] == queue_of[name], name
            assert set(read["Action"]) == {
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            }
        else:
            assert not reads, name


def test_the_key_is_granted_to_functions_on_the_key_alone(deployed: dict[str, Any]) -> None:
    for name in _of_type(deployed, "AWS::IAM::Role"):
        for statement, _ in _role_statements(deployed, name):
            actions = _as_list(statement["Action"])
            if any(a.startswith("kms:") for a in actions):
                assert statement["Resource"] == KEY_ARN, name
                assert set(actions) <= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}, name


@dataclass(frozen=True)
class Wildcard:
    """A statement allowed to grant a wildcard, and why."""

    owners: frozenset[str] | None
    """The resources whose policy may hold it (``None``: any function's role)."""
    actions: frozenset[str]
    reason: str
    check: Callable[[dict[str, Any]], bool] = lambda statement: True
    """What else must hold of the statement (its resource, its condition)."""


def _condition(statement: dict[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = statement.get("Condition") or {}
    return condition


SOURCE_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
TLS_ONLY = {"Bool": {"aws:SecureTransport": "false"}}
ALLOWED_WILDCARDS = (
    Wildcard(
        THE_KEY,
        frozenset({"kms:*"}),
        "a key policy's Resource * is the key itself; the account administers it (and IAM policies grant it)",
        lambda s: s["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
    ),
    Wildcard(
        THE_KEY,
        frozenset({"kms:GenerateDataKey*", "kms:Decrypt"}),
        "End User Messaging Social, SNS and S3 encrypt what they send to this account's topics and queues",
        lambda s: (
            s["Principal"]["Service"]
            in ("social-messaging.amazonaws.com", "sns.amazonaws.com", "s3.amazonaws.com")
            and _condition(s) == SOURCE_ACCOUNT
        ),
    ),
    Wildcard(
        THE_KEY,
        frozenset({"kms:GenerateDataKey*", "kms:Decrypt"}),
        "alarms publish to the encrypted alarm topic (its default policy admits this account's alarms only)",
        lambda s: s["Principal"] == {"Service": "cloudwatch.amazonaws.com"},
    ),
    Wildcard(
        THE_KEY,
        frozenset(
            {"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"}
        ),
        "CloudWatch Logs encrypts log groups, only those of this account and Region (the encryption context)",
        lambda s: (
            _condition(s)
            == {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": {
                        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                    }
                }
            }
        ),
    ),
    Wildcard(
        frozenset({"KnowledgeBucketPolicy", "MediaBucketPolicy"}),
        frozenset({"s3:*"}),
        "a Deny: no request without TLS, by anyone, on the bucket or its objects",
        lambda s: s["Effect"] == "Deny" and s["Principal"] == "*" and _condition(s) == TLS_ONLY,
    ),
    Wildcard(
        frozenset({"VectorBucketPolicy"}),
        frozenset({"s3vectors:*"}),
        "a Deny: no request without TLS, by anyone, on the vector bucket or its indexes",
        lambda s: s["Effect"] == "Deny" and s["Principal"] == "*" and _condition(s) == TLS_ONLY,
    ),
    Wildcard(
        frozenset({"KnowledgeBaseRole"}),
        frozenset({"s3:GetObject"}),
        "Bedrock reads every document of the knowledge bucket (and nothing of another account's)",
        lambda s: s["Resource"] == {"Fn::Sub": "${KnowledgeBucket.Arn}/*"},
    ),
    Wildcard(
        None,
        frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}),
        "a log group's ARN attribute ends in :* (its streams); the function's own log group only",
        lambda s: len(s["Resource"]) == 2 and s["Resource"][1]["Fn::GetAtt"][1] == "Arn",
    ),
    Wildcard(
        None,
        frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}),
        "X-Ray's trace actions have no resource type: * is the only resource they take",
        lambda s: s["Resource"] == "*",
    ),
    Wildcard(
        frozenset({"AnswerFunctionRole"}),
        frozenset({"bedrock:RetrieveAndGenerate"}),
        "no resource-level permission: Retrieve (the knowledge base), InvokeModel and ApplyGuardrail gate it",
        lambda s: s["Resource"] == "*",
    ),
    Wildcard(
        frozenset({"AnswerFunctionRole"}),
        frozenset({"transcribe:StartTranscriptionJob"}),
        "no resource type; held by its condition keys to transcripts written into the media bucket's voice/",
        lambda s: (
            _condition(s)
            == {
                "StringEquals": {"transcribe:OutputBucketName": {"Ref": "MediaBucket"}},
                "StringLike": {"transcribe:OutputKey": "voice/*"},
            }
        ),
    ),
    Wildcard(
        frozenset({"AnswerFunctionRole"}),
        frozenset({"transcribe:GetTranscriptionJob", "transcribe:DeleteTranscriptionJob"}),
        "the jobs it starts, all named event-assistant-<job>",
        lambda s: "transcription-job/event-assistant-*" in s["Resource"]["Fn::Sub"],
    ),
    Wildcard(
        frozenset({"AnswerFunctionRole"}),
        frozenset({"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}),
        "a voice note's objects, under voice/ of the media bucket only",
        lambda s: s["Resource"] == {"Fn::Sub": "${MediaBucket.Arn}/voice/*"},
    ),
    Wildcard(
        frozenset({"AnswerFunctionRole", "CategorizeFunctionRole"}),
        frozenset({"bedrock:InvokeModel"}),
        "an inference profile sends the call to its model in a Region of AWS's choosing: any Region, but "
        "only the profile's model and only through the profile (bedrock:InferenceProfileArn)",
        lambda s: (
            s["Resource"]["Fn::Sub"][0]
            == "arn:${AWS::Partition}:bedrock:*::foundation-model/${Provider}.${Model}"
            and set(_condition(s)) == {"StringEquals"}
            and set(_condition(s)["StringEquals"]) == {"bedrock:InferenceProfileArn"}
            and ":inference-profile/${Id}"
            in _condition(s)["StringEquals"]["bedrock:InferenceProfileArn"]["Fn::Sub"][0]
        ),
    ),
)


def _policies(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document of the deployed template, with the resource that holds it."""
    for name, resource in document["Resources"].items():
        props = resource.get("Properties") or {}
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif resource["Type"] == "AWS::KMS::Key":
            yield name, props["KeyPolicy"]
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            yield name, props["PolicyDocument"]
        elif resource["Type"] == "AWS::S3Vectors::VectorBucketPolicy":
            yield name, props["Policy"]


def _branches(statement: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str | None]]:
    if "Fn::If" in statement:
        condition, when_true, when_false = statement["Fn::If"]
        for branch in (when_true, when_false):
            if branch != {"Ref": "AWS::NoValue"}:
                yield branch, condition
    else:
        yield statement, None


def _role_statements(document: dict[str, Any], role: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    for policy in document["Resources"][role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            yield from _branches(statement)


def _has_wildcard(value: Any, log_groups: set[str]) -> bool:
    # A log group's Arn attribute is "arn:...:log-group:NAME:*": a wildcard, though not written as one.
    if isinstance(value, dict) and value.get("Fn::GetAtt", [None])[0] in log_groups:
        return True
    if isinstance(value, dict):
        return any(_has_wildcard(v, log_groups) for v in value.values())
    if isinstance(value, list):
        return any(_has_wildcard(v, log_groups) for v in value)
    return isinstance(value, str) and "*" in value


def test_every_wildcard_grant_is_one_the_audit_allows_and_explains(deployed: dict[str, Any]) -> None:
    log_groups = set(_of_type(deployed, "AWS::Logs::LogGroup"))
    function_roles = {
        f["Properties"]["Role"]["Fn::GetAtt"][0] for f in _of_type(deployed, "AWS::Lambda::Function").values()
    }
    used: set[Wildcard] = set()
    for owner, document in _policies(deployed):
        for written in document["Statement"]:
            for statement, _ in _branches(written):
                wildcard = _has_wildcard(statement.get("Action"), log_groups) or _has_wildcard(
                    statement.get("Resource"), log_groups
                )
                if not wildcard:
                    continue
                actions = frozenset(_as_list(statement["Action"]))
                matching = [
                    allowed
                    for allowed in ALLOWED_WILDCARDS
                    if allowed.actions == actions
                    and (owner in function_roles if allowed.owners is None else owner in allowed.owners)
                    and allowed.check(statement)
                ]
                assert matching, f"{owner}: a wildcard the audit does not allow: {statement}"
                used.update(matching)
    # Every allowance is in use: one no longer needed is taken out, not left to cover a future grant.
    assert used == set(ALLOWED_WILDCARDS)


def test_a_profiles_foundation_model_grant_exists_only_with_the_profile(template: dict[str, Any]) -> None:
    for role, condition in (
        ("AnswerFunctionRole", "GenerationIsProfile"),
        ("CategorizeFunctionRole", "CategorizerIsProfile"),
    ):
        wide = [
            (s, c)
            for s, c in _role_statements(template, role)
            if "bedrock:*::" in json.dumps(s.get("Resource"))
        ]
        assert [c for _, c in wide] == [condition], role


# -- encryption and TLS ------------------------------------------------------------------------------------


def test_every_queue_topic_table_and_log_group_is_encrypted_with_the_stacks_key(
    deployed: dict[str, Any],
) -> None:
    queues = _of_type(deployed, "AWS::SQS::Queue")
    assert len(queues) == 8
    for name, queue in queues.items():
        assert queue["Properties"]["KmsMasterKeyId"] == KEY_REF, name
        assert queue["Properties"]["KmsDataKeyReusePeriodSeconds"] == 300, name
        assert "SqsManagedSseEnabled" not in queue["Properties"], name
    topics = _of_type(deployed, "AWS::SNS::Topic")
    assert set(topics) == {"InboundTopic", "ProcessedTopic", "AlarmTopic"}
    assert all(t["Properties"]["KmsMasterKeyId"] == KEY_REF for t in topics.values())
    for table in _of_type(deployed, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KEY_REF,
        }
    log_groups = _of_type(deployed, "AWS::Logs::LogGroup")
    assert len(log_groups) == len(_of_type(deployed, "AWS::Lambda::Function"))
    for name, group in log_groups.items():
        assert group["Properties"]["KmsKeyId"] == KEY_ARN, name
        assert group["Properties"]["RetentionInDays"] == 30, name
    assert deployed["Resources"]["OnCallSecret"]["Properties"]["KmsKeyId"] == KEY_REF


def test_the_key_policy_lets_each_service_use_the_key_for_what_it_encrypts(template: dict[str, Any]) -> None:
    statements = template["Resources"]["EncryptionKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert all(s["Resource"] == "*" for s in statements)
    services = {json.dumps(s["Principal"].get("Service")) for s in statements if "Service" in s["Principal"]}
    assert services == {
        '"social-messaging.amazonaws.com"',
        '"sns.amazonaws.com"',
        '"s3.amazonaws.com"',
        '"cloudwatch.amazonaws.com"',
        json.dumps({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}),
    }


def test_every_bucket_refuses_requests_without_tls(deployed: dict[str, Any]) -> None:
    def denies_plain_http(document: dict[str, Any], arn: Any, objects: Any, action: str) -> bool:
        return any(
            s["Effect"] == "Deny"
            and s["Principal"] == "*"
            and s["Action"] == action
            and s["Condition"] == TLS_ONLY
            and s["Resource"] == [arn, objects]
            for s in document["Statement"]
        )

    policies = _of_type(deployed, "AWS::S3::BucketPolicy").values()
    for bucket in _of_type(deployed, "AWS::S3::Bucket"):
        mine = [
            p["Properties"]["PolicyDocument"]
            for p in policies
            if p["Properties"]["Bucket"] == {"Ref": bucket}
        ]
        arn, objects = {"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}
        assert [d for d in mine if denies_plain_http(d, arn, objects, "s3:*")], bucket
    vector_policies = _of_type(deployed, "AWS::S3Vectors::VectorBucketPolicy").values()
    for bucket in _of_type(deployed, "AWS::S3Vectors::VectorBucket"):
        arn = {"Fn::GetAtt": [bucket, "VectorBucketArn"]}
        indexes = {"Fn::Sub": f"${{{bucket}.VectorBucketArn}}/*"}
        mine = [
            p["Properties"]["Policy"] for p in vector_policies if p["Properties"]["VectorBucketArn"] == arn
        ]
        assert [d for d in mine if denies_plain_http(d, arn, indexes, "s3vectors:*")], bucket


def test_every_function_traces_with_x_ray(template: dict[str, Any], deployed: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Tracing"] == "Active"
    for name, function in _of_type(deployed, "AWS::Lambda::Function").items():
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}, name


# -- models and Regions ------------------------------------------------------------------------------------


def _resolve_in(
    region: str, parameters: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[Any], Any]:
    monkeypatch.setitem(local_template.PSEUDO_PARAMETERS, "AWS::Region", region)
    return resolver(load_template(ROOT / "template.yaml"), {}, {}, {**LOCAL_PARAMETERS, **parameters})


def test_region_defaults_hold_a_bare_foundation_model_in_us_east_1_alone(template: dict[str, Any]) -> None:
    defaults = template["Mappings"]["RegionDefaults"]
    # Where End User Messaging Social, Bedrock knowledge bases and S3 Vectors all are.
    assert len(defaults) >= 20
    pattern = re.compile(template["Parameters"]["GenerationModelId"]["AllowedPattern"])
    for region, models in defaults.items():
        assert pattern.fullmatch(models["Generation"]), region
        assert (models["Generation"].split(".")[0] in PROFILE_PREFIXES) == (region != "us-east-1"), region
        assert models["Embedding"] == "amazon.titan-embed-text-v2:0", region
    # RegionDefaultIsProfile decides on the Region, not the map: the two must agree.
    assert template["Conditions"]["RegionDefaultIsProfile"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]
    }


@pytest.mark.parametrize(
    ("region", "parameters", "generation", "categorizer"),
    [
        (
            "us-east-1",
            {},
            "::foundation-model/amazon.nova-lite-v1:0",
            "::foundation-model/amazon.nova-lite-v1:0",
        ),
        (
            "eu-west-1",
            {},
            ":123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
            ":123456789012:inference-profile/eu.amazon.nova-lite-v1:0",
        ),
        (
            "eu-west-1",
            {
                "GenerationModelId": "amazon.nova-pro-v1:0",
                "CategorizationModelId": "eu.amazon.nova-micro-v1:0",
            },
            "::foundation-model/amazon.nova-pro-v1:0",
            ":123456789012:inference-profile/eu.amazon.nova-micro-v1:0",
        ),
        (
            "us-east-1",
            {"GenerationModelId": "global.anthropic.claude-haiku-4-5-20251001-v1:0"},
            ":123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0",
            ":123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0",
        ),
    ],
)
def test_model_arns_are_a_profiles_or_a_foundation_models_as_the_id_says(
    region: str,
    parameters: dict[str, str],
    generation: str,
    categorizer: str,
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resolve = _resolve_in(region, parameters, monkeypatch)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    outputs = template["Outputs"]
    assert resolve(env["GENERATION_MODEL_ARN"]) == f"arn:aws:bedrock:{region}{generation}"
    assert resolve(outputs["GenerationModelArn"]["Value"]) == f"arn:aws:bedrock:{region}{generation}"
    assert resolve(env["CATEGORIZER_MODEL_ARN"]) == f"arn:aws:bedrock:{region}{categorizer}"
    assert resolve(outputs["CategorizerModelArn"]["Value"]) == f"arn:aws:bedrock:{region}{categorizer}"
    # Each function may invoke the model it calls: the ARN it is given and, for a profile, the profile's model
    # in any Region, only through the profile.
    for role, variable in (
        ("AnswerFunctionRole", "GENERATION_MODEL_ARN"),
        ("CategorizeFunctionRole", "CATEGORIZER_MODEL_ARN"),
    ):
        arn = resolve(env[variable])
        (policy,) = template["Resources"][role]["Properties"]["Policies"]
        statements = resolve(policy["PolicyDocument"]["Statement"])
        invoke = [s for s in statements if s["Action"] == "bedrock:InvokeModel"]
        if ":inference-profile/" in arn:
            model = arn.split("/", 1)[1].split(".", 1)[1]
            assert [s["Resource"] for s in invoke] == [arn, f"arn:aws:bedrock:*::foundation-model/{model}"], (
                role
            )
            assert invoke[1]["Condition"] == {"StringEquals": {"bedrock:InferenceProfileArn": arn}}, role
        else:
            assert [s["Resource"] for s in invoke] == [arn], role
            assert "Condition" not in invoke[0], role


def test_the_embedding_model_is_the_regions_unless_given(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    embedding = template["Outputs"]["EmbeddingModelArn"]["Value"]
    configured = template["Resources"]["KnowledgeBase"]["Properties"]["KnowledgeBaseConfiguration"]
    in_kb = configured["VectorKnowledgeBaseConfiguration"]["EmbeddingModelArn"]
    resolve = _resolve_in("ap-northeast-3", {}, monkeypatch)
    assert (
        resolve(embedding)
        == resolve(in_kb)
        == "arn:aws:bedrock:ap-northeast-3::foundation-model/amazon.titan-embed-text-v2:0"
    )
    resolve = _resolve_in("ap-northeast-3", {"EmbeddingModelId": "cohere.embed-multilingual-v3"}, monkeypatch)
    assert resolve(embedding).endswith("::foundation-model/cohere.embed-multilingual-v3")
    assert template["Parameters"]["EmbeddingDimensions"]["AllowedValues"] == [256, 512, 1024]


def test_model_ids_with_a_dot_inside_a_part_are_refused(template: dict[str, Any]) -> None:
    # The template splits ids on dots: a part holding one would name the wrong model.
    for name in ("GenerationModelId", "CategorizationModelId"):
        pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
        for good in (
            "",
            "amazon.nova-lite-v1:0",
            "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
            "apac.amazon.nova-pro-v1:0",
        ):
            assert pattern.fullmatch(good), (name, good)
        for bad in (
            "us.amazon.nova.lite-v1:0",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "nova",
        ):
            assert not pattern.fullmatch(bad), (name, bad)


# -- names and versions ------------------------------------------------------------------------------------


NAME_LIMITS = {
    ("Guardrail", "Name"): 50,
    ("Guardrail", "Description"): 200,
    ("KnowledgeBase", "Name"): 100,
    ("KnowledgeBase", "Description"): 200,
    ("KnowledgeDataSource", "Name"): 100,
    ("KnowledgeDataSource", "Description"): 200,
    ("OrganizerUserPool", "UserPoolName"): 128,
    ("DashboardApi", "Name"): 128,
    ("FfmpegLayer", "LayerName"): 140,
    ("OperationsDashboard", "DashboardName"): 255,
}


def test_names_fit_their_services_limits_for_the_longest_stack_name(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(LONGEST_STACK_NAME) == 128
    monkeypatch.setitem(local_template.PSEUDO_PARAMETERS, "AWS::StackName", LONGEST_STACK_NAME)
    monkeypatch.setitem(
        local_template.PSEUDO_PARAMETERS, "AWS::StackId", LONGEST_STACK_ID.format(LONGEST_STACK_NAME)
    )
    resolve = resolver(template, {}, {})
    for (resource, prop), limit in NAME_LIMITS.items():
        value = resolve(template["Resources"][resource]["Properties"][prop])
        assert 0 < len(value) <= limit, (resource, prop, len(value))
    # Bedrock's names: letters and digits, single hyphens between them.
    for resource in ("KnowledgeBase", "KnowledgeDataSource", "Guardrail"):
        assert re.fullmatch(
            r"([0-9a-zA-Z][_-]?){1,100}", resolve(template["Resources"][resource]["Properties"]["Name"])
        )
    for name, alarm in template["Resources"].items():
        if alarm["Type"] == "AWS::CloudWatch::Alarm":
            assert len(resolve(alarm["Properties"]["AlarmName"])) <= 255, name
        if alarm["Type"] == "AWS::Logs::LogGroup":
            assert len(resolve(alarm["Properties"]["LogGroupName"])) <= 512, name


def test_a_changed_guardrail_publishes_a_new_version(template: dict[str, Any]) -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    description = template["Resources"]["GuardrailVersion"]["Properties"]["Description"]["Fn::Sub"]
    assert "${Guardrail.UpdatedAt}" in description
    # UpdatedAt is an attribute of the guardrail; every property of a version is create-only (a new version).
    guardrail = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Bedrock::Guardrail")
    assert "UpdatedAt" in guardrail.get_atts
    version = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Bedrock::GuardrailVersion")
    assert set(version.schema["createOnlyProperties"]) == {
        "/properties/Description",
        "/properties/GuardrailIdentifier",
    }


# -- the inbound filter ------------------------------------------------------------------------------------


def _envelope_from(arn: str) -> str:
    envelope = text_envelope("where is the opening keynote?", wamid="wamid.F1")
    for number in envelope["context"]["MetaPhoneNumberIds"]:
        number["arn"] = arn
    return json.dumps(envelope)


def test_the_local_envelopes_come_from_the_number_the_twin_deploys_with() -> None:
    envelope = envelopes.text_envelope("hello", sender="15550001111")
    assert [n["arn"] for n in envelope["context"]["MetaPhoneNumberIds"]] == [
        LOCAL_PARAMETERS["PhoneNumberArn"]
    ]


def test_only_this_stacks_number_reaches_the_inbound_queue(template: dict[str, Any]) -> None:
    ours = "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/0123456789abcdef0123456789abcdef"
    another = (
        "arn:aws:social-messaging:us-east-1:123456789012:phone-number-id/fedcba9876543210fedcba9876543210"
    )
    subscription = template["Resources"]["InboundSubscription"]["Properties"]
    assert subscription["FilterPolicyScope"] == "MessageBody"
    policy = resolver(template, {}, {}, {"PhoneNumberArn": ours})(subscription["FilterPolicy"])
    assert policy == {"context": {"MetaPhoneNumberIds": {"arn": [ours]}}}
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="InboundTopic")["TopicArn"]
        queue = sqs.create_queue(QueueName="InboundQueue")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={
                "RawMessageDelivery": "true",
                "FilterPolicy": json.dumps(policy),
                "FilterPolicyScope": subscription["FilterPolicyScope"],
            },
        )
        sns.publish(TopicArn=topic, Message=_envelope_from(another))
        sns.publish(TopicArn=topic, Message=_envelope_from(ours))
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["context"]["MetaPhoneNumberIds"][0]["arn"] for m in received] == [ours]


def test_the_twin_admits_each_number_of_its_account_and_no_other(template: dict[str, Any]) -> None:
    subscription = template["Resources"]["InboundSubscription"]["Properties"]
    policy = filter_policy(template, {}, {}, subscription["FilterPolicy"])
    assert policy == {
        "context": {"MetaPhoneNumberIds": {"arn": list(local_template.LOCAL_PHONE_NUMBER_ARNS)}}
    }


# -- operations ----------------------------------------------------------------------------------------------


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_alarm_tells_the_alarm_topic_both_ways_under_the_stacks_name(template: dict[str, Any]) -> None:
    alarms = _alarms(template)
    assert len(alarms) >= 17
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["TreatMissingData"] == "notBreaching", name
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name
        assert props["AlarmDescription"], name


def test_every_dead_letter_queue_and_function_has_its_alarm(template: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in _alarms(template).values()]
    dead_letter_queues = {
        q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in template["Resources"].values()
        if q["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in q["Properties"]
    }
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Threshold"] == 1
        and a["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    }
    assert watched == dead_letter_queues
    functions = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    erring = {
        a["Dimensions"][0]["Value"]["Ref"]: a
        for a in alarms
        if a.get("Namespace") == "AWS/Lambda" and a["MetricName"] == "Errors"
    }
    assert set(erring) == functions
    for name, alarm in erring.items():
        assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300, name
        assert alarm["Threshold"] == (3 if name == "AnswerFunction" else 1), name
    assert template["Resources"]["AlarmFunctionErrorsAlarm"]["Condition"] == "HasOnCall"


def test_backlogs_failed_deliveries_and_bedrock_trouble_raise_alarms(template: dict[str, Any]) -> None:
    alarms = {n: a["Properties"] for n, a in _alarms(template).items()}
    inbound, answer = alarms["InboundQueueAgeAlarm"], alarms["AnswerQueueAgeAlarm"]
    assert (inbound["MetricName"], inbound["Threshold"], inbound["ComparisonOperator"]) == (
        "ApproximateAgeOfOldestMessage",
        120,
        "GreaterThanThreshold",
    )
    assert (inbound["Period"], inbound["EvaluationPeriods"], inbound["DatapointsToAlarm"]) == (60, 2, 2)
    assert (answer["MetricName"], answer["Threshold"]) == ("ApproximateAgeOfOldestMessage", 600)
    failed = alarms["WhatsAppDeliveryFailedAlarm"]
    assert failed["Namespace"] == "EventAssistant" and failed["MetricName"] == "MessageStatus"
    assert failed["Dimensions"] == [
        {"Name": "service", "Value": "event-assistant"},
        {"Name": "Status", "Value": "failed"},
    ]
    assert (failed["Statistic"], failed["Period"], failed["Threshold"]) == ("Sum", 300, 5)
    rejected = alarms["ReplyRejectedAlarm"]
    assert rejected["Dimensions"] == [{"Name": "service", "Value": "event-assistant"}]
    assert (rejected["MetricName"], rejected["Threshold"]) == ("ReplyRejected", 5)
    throttled = alarms["BedrockThrottlingAlarm"]
    assert (throttled["Namespace"], throttled["MetricName"], throttled["Threshold"]) == (
        "AWS/Bedrock",
        "InvocationThrottles",
        10,
    )
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    # The model id the generation ARN is built from: the one Bedrock's metrics name.
    assert throttled["Dimensions"][0]["Value"] == env["GENERATION_MODEL_ARN"]["Fn::Sub"][1]["Id"]
    for name, metric in (
        ("BedrockRetriesExhaustedAlarm", "BedrockRetriesExhausted"),
        ("BedrockMisconfiguredAlarm", "BedrockMisconfigured"),
    ):
        (query,) = alarms[name]["Metrics"]
        # Every Code, those not seen yet included: a Metrics Insights query (alarms cannot SEARCH).
        assert query["Expression"] == (
            f'SELECT SUM({metric}) FROM SCHEMA("EventAssistant", Code, service) '
            "WHERE service = 'event-assistant'"
        ), name
        assert alarms[name]["Threshold"] == 1, name


def _dashboard(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    resolve = resolver(template, {}, {}, {**LOCAL_PARAMETERS, **parameters})
    body: dict[str, Any] = json.loads(
        resolve(template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"])
    )
    return body


def _metric_names(widget: dict[str, Any]) -> set[str]:
    names = set()
    for metric in widget["properties"]["metrics"]:
        if isinstance(metric[0], dict):
            names |= set(re.findall(r'MetricName="([A-Za-z]+)"', metric[0]["expression"]))
        else:
            names.add(metric[1])
    return names


def test_the_operations_dashboard_draws_every_metric_queue_topic_and_function(
    template: dict[str, Any],
) -> None:
    body = _dashboard(template, {})
    drawn = set().union(*(_metric_names(w) for w in body["widgets"]))
    assert drawn >= CUSTOM_METRICS
    assert {
        "NumberOfMessagesPublished",
        "NumberOfNotificationsDelivered",
        "NumberOfNotificationsFailed",
        "NumberOfMessagesSent",
        "NumberOfMessagesReceived",
        "ApproximateNumberOfMessagesVisible",
        "ApproximateAgeOfOldestMessage",
        "Errors",
        "Duration",
        "Throttles",
        "ConcurrentExecutions",
        "Invocations",
        "InvocationLatency",
        "InvocationThrottles",
        "InvocationClientErrors",
    } <= drawn
    text = json.dumps(body)
    for name, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::SQS::Queue", "AWS::SNS::Topic") or (
            resource["Type"] == "AWS::Serverless::Function" and "Condition" not in resource
        ):
            assert local_template.local_id(name) in text, name
    assert "AlarmFunction" not in text and local_template.local_id("AlarmFunction") not in text
    with_on_call = _dashboard(template, {"OnCallNumbers": "on-call", "AlarmTemplateName": "alarm"})
    assert len(with_on_call["widgets"]) == len(body["widgets"]) + 1
    assert local_template.local_id("AlarmFunction") in json.dumps(with_on_call["widgets"][-1])


def test_custom_metrics_are_searched_in_their_dimension_sets(template: dict[str, Any]) -> None:
    for widget in _dashboard(template, {})["widgets"]:
        for metric in widget["properties"]["metrics"]:
            if isinstance(metric[0], dict) and "EventAssistant" in metric[0]["expression"]:
                assert re.match(
                    r"SEARCH\('\{EventAssistant,service,[A-Za-z]+\} MetricName=", metric[0]["expression"]
                )
            elif metric[0] == "EventAssistant":
                assert metric[2:4] == ["service", "event-assistant"], metric


def test_outputs_name_what_operators_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {
        "AlarmTopicArn",
        "OperationsDashboardUrl",
        "PhoneNumberArn",
        "HashKeySecretArn",
        "InboundQueueUrl",
        "AnswerQueueUrl",
        "CategorizeQueueUrl",
        "IngestQueueUrl",
        "GenerationModelArn",
        "CategorizerModelArn",
        "EmbeddingModelArn",
        "InboundDeadLetterQueueUrl",
        "KnowledgeBaseId",
        "GuardrailVersion",
        "DashboardUrl",
    } <= set(outputs)
    url = resolver(template, {}, {})(outputs["OperationsDashboardUrl"]["Value"])
    assert url.startswith(
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name="
    )


def test_on_call_is_all_or_nothing_and_its_numbers_stay_in_a_secret(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for name in ("OnCallSecret", "AlarmFunction", "AlarmFunctionRole", "AlarmFunctionLogs"):
        assert resources[name]["Condition"] == "HasOnCall", name
    assert template["Parameters"]["OnCallNumbers"]["NoEcho"] is True
    assert resources["OnCallSecret"]["Properties"]["SecretString"] == {"Ref": "OnCallNumbers"}
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ON_CALL_SECRET_ARN"] == {"Fn::If": ["HasOnCall", {"Ref": "OnCallSecret"}, ""]}
    assert "OnCallNumbers" not in json.dumps(env)
    (event,) = resources["AlarmFunction"]["Properties"]["Events"].values()
    assert event == {"Type": "SNS", "Properties": {"Topic": {"Ref": "AlarmTopic"}}}
    for only_one in ({"OnCallNumbers": "on-call"}, {"AlarmTemplateName": "alarm"}):
        resolve = resolver(template, {}, {}, {**LOCAL_PARAMETERS, **only_one})
        assert resolve(env["ON_CALL_SECRET_ARN"]) == "", only_one
