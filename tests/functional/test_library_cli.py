"""The content team's commands: `assistant kb upload / status / list / remove / eval`, end to end on the
local knowledge base, and against a deployed stack's wire-level fakes (moto's S3 and CloudFormation, the
bedrock-agent stand-in for ingestion jobs, the Bedrock stand-ins for retrieval and answers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from assistant.cli import main
from assistant.local.bedrock import BedrockStandIn, LocalGuardrail
from assistant.local.bedrock_agent import BedrockAgentStandIn
from assistant.local.engine import KnowledgeBase

PARKING = "# Parking\n\nThe attendee car park is on Level -2 and costs 12 euros a day.\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def image_only_pdf(path: Path) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)  # a scan: a page with no text on it
    with path.open("wb") as out:
        writer.write(out)
    return path


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "parking.md").write_text(PARKING, encoding="utf-8")
    image_only_pdf(folder / "scan.pdf")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n% cut short\n")
    return folder


# -- the local knowledge base -------------------------------------------------------------------------------


def test_upload_wait_reports_what_was_indexed_and_each_failed_document(
    tmp_path: Path, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    code, out, err = run(capsys, "kb", "upload", str(docs), "--home", home, "--wait")
    assert code == 2, err  # something failed: a script can tell
    assert "added parking.md: 1 passages" in out
    assert "3 scanned, 1 indexed, 0 deleted, 2 failed" in out
    assert "failed: scan.pdf: no text to index: an image-only (scanned) or corrupt PDF" in out
    assert "failed: broken.pdf: cannot be read" in out
    code, out, _ = run(capsys, "kb", "status", "--home", home)
    assert code == 2 and "2 failed" in out and "scan.pdf" in out
    code, out, _ = run(capsys, "kb", "list", "--home", home)
    assert "parking.md" in out and "Parking" in out and "1 documents" in out
    assert "scan.pdf" not in out  # never silently indexed empty


def test_uploading_the_same_file_twice_replaces_it_and_remove_takes_it_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    doc = tmp_path / "parking.md"
    doc.write_text(PARKING, encoding="utf-8")
    assert run(capsys, "kb", "upload", str(doc), "--home", home)[0] == 0
    doc.write_text(PARKING.replace("12 euros", "15 euros"), encoding="utf-8")
    code, out, _ = run(capsys, "kb", "upload", str(doc), "--home", home)
    assert code == 0 and "1 documents, 1 passages" in out
    _, asked, _ = run(capsys, "kb", "ask", "How much is the car park?", "--home", home)
    assert "15 euros" in asked and "12 euros" not in asked
    assert run(capsys, "kb", "remove", "parking.md", "--home", home)[0] == 0
    code, out, _ = run(capsys, "kb", "list", "--home", home)
    assert "parking.md" not in out and "0 documents" in out
    code, _, err = run(capsys, "kb", "remove", "parking.md", "--home", home)
    assert code == 1 and "no document named parking.md" in err


def test_unsupported_empty_and_oversized_files_are_refused_before_anything_is_uploaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    good = tmp_path / "parking.md"
    good.write_text(PARKING, encoding="utf-8")
    slides = tmp_path / "slides.pptx"
    slides.write_bytes(b"PK")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as out:
        out.truncate(51 * 1024 * 1024)  # sparse: costs no disk
    code, _, err = run(
        capsys, "kb", "upload", str(good), str(slides), str(empty), str(huge), "--home", str(home)
    )
    assert code == 1
    assert "slides.pptx: not a document or agenda file" in err
    assert "empty.md: the file is empty" in err
    assert "huge.pdf: 51.0 MB is over the knowledge base's 50 MB" in err
    assert "nothing was uploaded" in err
    assert not (home / "kb" / "passages.json").exists()


def test_an_upload_interrupted_halfway_leaves_the_knowledge_base_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.local.library import LocalLibrary

    home = str(tmp_path / "home")
    first = tmp_path / "parking.md"
    first.write_text(PARKING, encoding="utf-8")
    assert run(capsys, "kb", "upload", str(first), "--home", home)[0] == 0
    second = tmp_path / "lunch.md"
    second.write_text("# Lunch\n\nLunch is served in the Dining Hall from 12:30.\n", encoding="utf-8")
    real = LocalLibrary._read

    def interrupted(self: LocalLibrary, path: Path, documents: list[Any]) -> str | None:
        if path.name == "lunch.md":
            raise KeyboardInterrupt
        return real(self, path, documents)

    monkeypatch.setattr(LocalLibrary, "_read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        main(["kb", "upload", str(first), str(second), "--home", home])
    monkeypatch.undo()
    _, out, _ = run(capsys, "kb", "list", "--home", home)
    assert "parking.md" in out and "lunch.md" not in out and "1 documents" in out


def test_eval_scores_a_small_question_set_with_known_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    doc = tmp_path / "parking.md"
    doc.write_text(PARKING, encoding="utf-8")
    assert run(capsys, "kb", "upload", str(doc), "--home", home)[0] == 0
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(q)
            for q in (
                {"question": "How much is the car park?", "document": "parking.md", "facts": ["12 euros"]},
                {"question": "Which level is the car park on?", "facts": ["Level -7"]},  # a wrong fact
                {"question": "Who won the football match last night?", "answerable": False},
            )
        ),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "kb", "eval", str(questions), "--home", home, "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["questions"] == 3
    assert figures["hit_at_k"] == 1.0  # the one question that names its document found it
    assert figures["fact_accuracy"] == 0.5
    assert figures["dont_know_accuracy"] == 1.0
    code, out, _ = run(capsys, "kb", "eval", str(questions), "--home", home)
    assert "answers with every expected fact" in out and "50%" in out
    assert "Which level is the car park on?" in out and "missing 'Level -7'" in out
    assert "Level -2" in out  # what came back, so the writer sees what the documents say


def test_eval_refuses_a_question_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "questions.jsonl"
    bad.write_text('{"question": "fine"}\nnot json\n', encoding="utf-8")
    code, _, err = run(capsys, "kb", "eval", str(bad), "--home", str(tmp_path / "home"))
    assert code == 1 and "line 2: not JSON" in err


# -- a deployed stack, against wire-level fakes -------------------------------------------------------------

OUTPUTS = {
    "KnowledgeBucketName": "knowledge-bucket",
    "KnowledgeBaseId": "KB12345678",
    "KnowledgeDataSourceId": "DS12345678",
    "GenerationModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    "GuardrailId": "GR12345678",
    "GuardrailVersion": "1",
}


def describe_stacks_reply(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": "summit",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
            }
        ]
    }


def test_a_stacks_outputs_are_read_from_cloudformation(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.stub import Stubber

    from assistant import bootstrap

    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(cloudformation)
    stubber.add_response("describe_stacks", describe_stacks_reply(OUTPUTS), {"StackName": "summit"})
    stubber.add_client_error("describe_stacks", "ValidationError", "Stack with id nope does not exist", 400)
    monkeypatch.setattr(bootstrap, "client", lambda service, **_: cloudformation)
    with stubber:
        assert bootstrap.stack_outputs("summit") == OUTPUTS
        with pytest.raises(LookupError, match="cannot read stack nope: ValidationError"):
            bootstrap.stack_outputs("nope")


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, sample_kb: KnowledgeBase, tmp_path: Path) -> Iterator[Any]:
    from moto import mock_aws

    from assistant import bootstrap
    from assistant.adapters import library

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(library, "FOLLOW_POLL_SECONDS", 0.01)
    monkeypatch.setattr(library, "TRIGGER_GRACE_SECONDS", 0.0)
    guardrail = LocalGuardrail.load(tmp_path / "guardrail.json", "GR12345678", "1")
    with (
        mock_aws(),
        BedrockAgentStandIn("KB12345678", "DS12345678", reads_per_step=1) as agent,
        BedrockStandIn(sample_kb, guardrail, knowledge_base_id="KB12345678", catalog=None) as bedrock,
    ):
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", agent.endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME", bedrock.agent_runtime.endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.runtime.endpoint)
        boto3.client("s3").create_bucket(Bucket="knowledge-bucket")

        def outputs(name: str) -> dict[str, str]:
            if name != "summit":
                raise LookupError(f"no stack named {name}")
            return OUTPUTS

        monkeypatch.setattr(bootstrap, "stack_outputs", outputs)  # read from CloudFormation: tested above
        # The data source sees what lands in the bucket (the real one lists it when a job starts).
        real_upload = library.StackLibrary.upload

        def upload(self: Any, files: list[Path], progress: Any) -> Any:
            published = real_upload(self, files, progress)
            for path in files:
                agent.upload(f"s3://knowledge-bucket/{path.name}")
            return published

        monkeypatch.setattr(library.StackLibrary, "upload", upload)
        yield agent


def test_upload_to_a_stack_writes_the_document_and_its_sidecar_and_follows_the_ingestion(
    stack: BedrockAgentStandIn, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.set_failures({"s3://knowledge-bucket/notes.md": "Unsupported encoding"}, ["1 document failed"])
    notes = docs / "notes.md"
    notes.write_text("# Speaker notes\n\nBring your own adapter.\n", encoding="utf-8")
    code, out, err = run(
        capsys, "kb", "upload", str(docs / "parking.md"), str(notes), "--stack", "summit", "--wait"
    )
    assert "uploaded parking.md" in out and "uploaded notes.md" in out
    s3 = boto3.client("s3")
    sidecar = json.loads(
        s3.get_object(Bucket="knowledge-bucket", Key="parking.md.metadata.json")["Body"].read()
    )
    assert sidecar == {"metadataAttributes": {"title": "Parking"}}
    assert "ingestion" in out and "COMPLETE" in out, err
    assert "failed: notes.md: Unsupported encoding" in out
    assert code == 2
    assert len(stack.jobs()) == 1  # started once, followed to its end
    code, out, _ = run(capsys, "kb", "status", "--stack", "summit")
    assert "notes.md: Unsupported encoding" in out
    code, out, _ = run(capsys, "kb", "list", "--stack", "summit")
    assert "parking.md" in out and "Parking" in out and "metadata.json" not in out
    assert run(capsys, "kb", "remove", "parking.md", "--stack", "summit")[0] == 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="knowledge-bucket").get("Contents", [])]
    assert "parking.md" not in keys and "parking.md.metadata.json" not in keys


def test_a_stack_is_chosen_by_the_environment_and_a_missing_one_is_a_clear_error(
    stack: BedrockAgentStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASSISTANT_STACK", "summit")
    code, out, _ = run(capsys, "kb", "status")
    assert code == 0 and "no ingestion yet in stack summit" in out
    code, _, err = run(capsys, "kb", "status", "--stack", "nope")
    assert code == 1 and "cannot reach the knowledge base" in err


def test_eval_against_a_stack_asks_its_retrieval_and_answer_path(
    stack: BedrockAgentStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps(
            {
                "question": "What is the Wi-Fi password?",
                "document": "venue-guide.md",
                "facts": ["ForgeAhead2026"],
            }
        )
        + "\n"
        + json.dumps({"question": "Who won the football match last night?", "answerable": False})
        + "\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "kb", "eval", str(questions), "--stack", "summit", "--json")
    assert code == 0, err
    assert json.loads(out) | {"k": 3} == {
        "questions": 2,
        "k": 3,
        "hit_at_k": 1.0,
        "fact_accuracy": 1.0,
        "dont_know_accuracy": 1.0,
        "answerable": 1,
        "unanswerable": 1,
        "answered_dont_know": 0,
    }
