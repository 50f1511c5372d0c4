"""Voice notes in ``template.yaml``: the media bucket's safeguards, the ffmpeg layer, and who may do what.

The answer function fetches a voice note into ``MediaBucket`` under ``voice/<job>/``, transcodes it with the
layer's ffmpeg and transcribes it (Amazon Transcribe or Whisper on SageMaker); the inbound function gets none
of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.config import TRANSCRIBERS
from assistant.local.template import load_template
from tests.unit.conftest import as_list as _as_list

ROOT = Path(__file__).resolve().parents[2]
LAYER_DIR = ROOT / "layers" / "ffmpeg"

MEDIA_OBJECTS = {"Fn::Sub": "${MediaBucket.Arn}/voice/*"}
MEDIA_BUCKET_ARN = {"Fn::GetAtt": ["MediaBucket", "Arn"]}
VOICE_ACTIONS = {
    "social-messaging:GetWhatsAppMessageMedia",
    "s3:PutObject",
    "s3:GetObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "transcribe:StartTranscriptionJob",
    "transcribe:GetTranscriptionJob",
    "transcribe:DeleteTranscriptionJob",
    "sagemaker:InvokeEndpoint",
}


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources: dict[str, Any] = template["Resources"]
    return resources


def _props(template: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = _resources(template)[name]["Properties"]
    return props


def _statements(template: dict[str, Any], function: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Each statement of the function's own role, with the condition it depends on (``Fn::If``)."""
    role = _props(template, function)["Role"]["Fn::GetAtt"][0]
    for policy in _props(template, role)["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                condition, when_true, when_false = statement["Fn::If"]
                assert when_false == {"Ref": "AWS::NoValue"}
                yield when_true, condition
            else:
                yield statement, None


def _granting(
    template: dict[str, Any], function: str, action: str
) -> list[tuple[dict[str, Any], str | None]]:
    return [(s, c) for s, c in _statements(template, function) if action in _as_list(s["Action"])]


def _functions(template: dict[str, Any]) -> list[str]:
    return [n for n, r in _resources(template).items() if r["Type"] == "AWS::Serverless::Function"]


# -- the bucket ---------------------------------------------------------------------------------------------


def test_media_bucket_is_encrypted_private_and_generated(template: dict[str, Any]) -> None:
    bucket = _props(template, "MediaBucket")
    assert _resources(template)["MediaBucket"]["Type"] == "AWS::S3::Bucket"
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    # SSE-S3: Transcribe reads and writes the bucket without KMS grants.
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "BucketName" not in bucket
    # Not versioned: deleting a voice note deletes it.
    assert "VersioningConfiguration" not in bucket


def test_media_bucket_expires_voice_notes_after_a_day(template: dict[str, Any]) -> None:
    rules = _props(template, "MediaBucket")["LifecycleConfiguration"]["Rules"]
    voice = [r for r in rules if r.get("Prefix") == "voice/" and r["Status"] == "Enabled"]
    assert len(voice) == 1
    assert voice[0]["ExpirationInDays"] == 1
    assert voice[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


def test_media_bucket_refuses_requests_without_tls(template: dict[str, Any]) -> None:
    policies = [
        p
        for p in _resources(template).values()
        if p["Type"] == "AWS::S3::BucketPolicy" and p["Properties"]["Bucket"] == {"Ref": "MediaBucket"}
    ]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0]["Principal"] == "*" and deny[0]["Action"] == "s3:*"
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert MEDIA_BUCKET_ARN in deny[0]["Resource"]
    assert {"Fn::Sub": "${MediaBucket.Arn}/*"} in deny[0]["Resource"]
    assert not [s for s in statements if s["Effect"] == "Allow"]


# -- the layer ----------------------------------------------------------------------------------------------


def test_ffmpeg_layer_builds_with_make_for_the_functions_runtime_and_architecture(
    template: dict[str, Any],
) -> None:
    globals_ = template["Globals"]["Function"]
    layer = _resources(template)["FfmpegLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert [layer["Metadata"]["BuildArchitecture"]] == globals_["Architectures"]
    props = layer["Properties"]
    assert props["CompatibleArchitectures"] == globals_["Architectures"]
    assert props["CompatibleRuntimes"] == [globals_["Runtime"]]
    assert ROOT / props["ContentUri"] == LAYER_DIR
    for name in _functions(template):
        assert "Architectures" not in _props(template, name) and "Runtime" not in _props(template, name)


def test_only_the_answer_function_has_the_layer(template: dict[str, Any]) -> None:
    assert "Layers" not in template["Globals"]["Function"]
    with_layer = {
        n for n in _functions(template) if {"Ref": "FfmpegLayer"} in _props(template, n).get("Layers", [])
    }
    assert with_layer == {"AnswerFunction"}
    assert "Layers" not in _props(template, "InboundFunction")
    assert int(_props(template, "AnswerFunction")["MemorySize"]) >= 1024


def test_ffmpeg_path_is_where_the_layer_puts_it(template: dict[str, Any]) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    # Lambda mounts a layer at /opt; the Makefile writes bin/ffmpeg.
    assert env["FFMPEG_PATH"] == "/opt/bin/ffmpeg"
    assert env["MEDIA_BUCKET"] == {"Ref": "MediaBucket"}
    assert env["TRANSCRIBER"] == {"Ref": "Transcriber"}
    assert env["WHISPER_ENDPOINT"] == {"Ref": "WhisperEndpointName"}
    assert str(env["MAX_AUDIO_BYTES"]) == str(16 * 1024 * 1024)


def test_transcriber_parameter_offers_only_what_the_code_accepts(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["Transcriber"]
    # Quoted in YAML: a bare `off` would be read as the boolean false.
    assert all(isinstance(v, str) for v in parameter["AllowedValues"])
    assert set(parameter["AllowedValues"]) == {"transcribe", "sagemaker", "off"} <= set(TRANSCRIBERS)
    assert parameter["Default"] in parameter["AllowedValues"]


def test_whisper_endpoint_name_must_be_lower_case_or_empty(template: dict[str, Any]) -> None:
    pattern = re.compile(template["Parameters"]["WhisperEndpointName"]["AllowedPattern"])
    for good in ("", "whisper", "jumpstart-dft-whisper-large-v3"):
        assert pattern.fullmatch(good), good
    for bad in ("Whisper", "-whisper", "whisper_large", "w" * 64):
        assert not pattern.fullmatch(bad), bad


def test_makefile_has_the_targets_sam_and_people_run() -> None:
    makefile = (LAYER_DIR / "Makefile").read_text()
    assert re.search(r"^build-FfmpegLayer:", makefile, re.MULTILINE)
    assert re.search(r"^build:", makefile, re.MULTILINE)
    assert "$(ARTIFACTS_DIR)" in makefile
    # Pinned wheels for both architectures.
    for arch in ("aarch64", "x86_64"):
        assert re.search(rf"^SHA256_{arch} := [0-9a-f]{{64}}$", makefile, re.MULTILINE), arch
    assert "imageio_ffmpeg/binaries/ffmpeg-*" in makefile
    assert "build/" in (LAYER_DIR / ".gitignore").read_text().split()


# -- permissions --------------------------------------------------------------------------------------------


def test_inbound_function_gets_no_voice_permissions(template: dict[str, Any]) -> None:
    for statement, _ in _statements(template, "InboundFunction"):
        assert not set(_as_list(statement["Action"])) & VOICE_ACTIONS, statement


def test_answer_function_fetches_media_from_the_number_it_sends_from(template: dict[str, Any]) -> None:
    (send,) = _granting(template, "AnswerFunction", "social-messaging:SendWhatsAppMessage")
    (media,) = _granting(template, "AnswerFunction", "social-messaging:GetWhatsAppMessageMedia")
    assert media[0]["Resource"] == send[0]["Resource"] == {"Ref": "PhoneNumberArn"}


def test_answer_function_reaches_only_voice_objects_in_the_media_bucket(template: dict[str, Any]) -> None:
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        media = [
            s
            for s, _ in _granting(template, "AnswerFunction", action)
            if "MediaBucket" in repr(s["Resource"])
        ]
        assert [s["Resource"] for s in media] == [MEDIA_OBJECTS], action
    (listing,) = _granting(template, "AnswerFunction", "s3:ListBucket")
    assert listing[0]["Resource"] == MEDIA_BUCKET_ARN
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": "voice/*"}}
    # Whatever else names the bucket is one of those two grants.
    for statement, _ in _statements(template, "AnswerFunction"):
        if "MediaBucket" in repr(statement["Resource"]):
            assert statement["Resource"] in (MEDIA_OBJECTS, MEDIA_BUCKET_ARN), statement


def test_answer_function_runs_only_its_own_transcription_jobs(template: dict[str, Any]) -> None:
    jobs = {
        "Fn::Sub": "arn:${AWS::Partition}:transcribe:${AWS::Region}:${AWS::AccountId}"
        ":transcription-job/event-assistant-*"
    }
    for action in ("transcribe:GetTranscriptionJob", "transcribe:DeleteTranscriptionJob"):
        (grant,) = _granting(template, "AnswerFunction", action)
        assert grant[0]["Resource"] == jobs, action
    # StartTranscriptionJob has no resource type: "*", held to transcripts written into the media bucket.
    ((start, condition),) = _granting(template, "AnswerFunction", "transcribe:StartTranscriptionJob")
    assert condition is None and start["Resource"] == "*"
    assert start["Condition"]["StringEquals"] == {"transcribe:OutputBucketName": {"Ref": "MediaBucket"}}
    assert start["Condition"]["StringLike"] == {"transcribe:OutputKey": "voice/*"}


def test_answer_function_invokes_the_whisper_endpoint_only_when_one_is_named(
    template: dict[str, Any],
) -> None:
    ((invoke, condition),) = _granting(template, "AnswerFunction", "sagemaker:InvokeEndpoint")
    assert condition == "HasWhisperEndpoint"
    assert template["Conditions"]["HasWhisperEndpoint"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WhisperEndpointName"}, ""]}]
    }
    assert invoke["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
        ":endpoint/${WhisperEndpointName}"
    }


def test_sam_transform_builds_the_layer_and_the_conditional_grant(template: dict[str, Any]) -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    document = load_template(ROOT / "template.yaml")
    # What `sam build` + `sam package` do: local code and layer directories become S3 objects.
    document["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    document["Resources"]["FfmpegLayer"]["Properties"]["ContentUri"] = "s3://bucket/ffmpeg.zip"
    result = transform(document, {"AWS::Region": "us-east-1"}, NoManagedPolicies())["Resources"]
    layers = [n for n, r in result.items() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert len(layers) == 1
    assert result["AnswerFunction"]["Properties"]["Layers"] == [{"Ref": layers[0]}]
    assert "Layers" not in result["InboundFunction"]["Properties"]
    role = result["AnswerFunctionRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert any("Fn::If" in s and s["Fn::If"][0] == "HasWhisperEndpoint" for s in statements)
