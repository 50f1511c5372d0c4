"""`assistant doctor` against the local twin: the stack's outputs, the WhatsApp link, the queues and a round
trip through the whole pipeline (moto and the stand-ins), each with what it prints when something is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from assistant import bootstrap
from assistant.cli import main
from assistant.local.doctor import local_doctor
from assistant.local.runtime import LocalCloud
from assistant.services.doctor import Finding, Level, exit_code, render
from tests.conftest import text_envelope


def by_check(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.check, []).append(finding)
    return grouped


def levels(findings: list[Finding], check: str) -> set[Level]:
    return {f.level for f in by_check(findings)[check]}


def test_the_local_twin_passes_with_a_dry_run_answered_and_nothing_sent(cloud: LocalCloud) -> None:
    library = bootstrap.content_library(stack=None, home=cloud.home)
    findings = local_doctor(cloud, library, round_trip=True, question="Where is the opening keynote?").run()
    report = render(findings)
    for check in ("stack", "outputs", "region", "whatsapp", "model", "queue", "dead-letter", "round trip"):
        assert levels(findings, check) == {Level.OK}, report
    (trip,) = by_check(findings)["round trip"]
    assert "knowledge_base" in trip.message, report
    assert [m for m in cloud.social.sent() if m.get("type") == "text"] == [], "a dry run sends nothing"
    assert exit_code([f for f in findings if f.check != "knowledge"]) == 0


def test_an_unlinked_account_is_reported_then_linked(cloud: LocalCloud) -> None:
    outputs = cloud.outputs()
    cloud.social.add_business_account("waba-2", "Second", (outputs["PhoneNumberArn"],), None)
    cloud.social.remove_business_account("waba-local")
    library = bootstrap.content_library(stack=None, home=cloud.home)
    unlinked = local_doctor(cloud, library).run()
    (finding,) = by_check(unlinked)["whatsapp"]
    assert finding.level is Level.FAIL and "--link" in finding.fix
    linked = local_doctor(cloud, library, link=True).run()
    assert levels(linked, "whatsapp") == {Level.OK}
    assert cloud.social.event_destination("waba-2") == outputs["InboundTopicArn"]


def test_a_dead_letter_is_reported_with_its_redrive(cloud: LocalCloud) -> None:
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=cloud.outputs()["AnswerDeadLetterQueueUrl"], MessageBody="{}")
    library = bootstrap.content_library(stack=None, home=cloud.home)
    findings = local_doctor(cloud, library).run()
    failed = [f for f in by_check(findings)["dead-letter"] if f.level is Level.FAIL]
    assert len(failed) == 1 and "AnswerDeadLetterQueue" in failed[0].message
    assert "start-message-move-task" in failed[0].fix
    assert exit_code(findings) == 1


def test_a_round_trip_answered_by_small_talk_still_passes(cloud: LocalCloud) -> None:
    """The probe goes through the same decisions as an attendee's message: "hi" is small talk."""
    cloud.publish_inbound(json.dumps(text_envelope("hi", wamid="wamid.first", sender="15550001111")))
    cloud.drain()
    library = bootstrap.content_library(stack=None, home=cloud.home)
    findings = local_doctor(cloud, library, round_trip=True, question="hi").run()
    (trip,) = by_check(findings)["round trip"]
    assert trip.level is Level.OK and "smalltalk" in trip.message


def test_the_command_checks_the_local_twin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--home", str(tmp_path / "home"), "--round-trip"])
    printed = capsys.readouterr().out
    assert "checking the local twin" in printed
    assert "round trip" in printed and "fix:" in printed  # the fresh home has no ingestion yet: its fix
    assert code == 0, printed
