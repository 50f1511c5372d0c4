"""Guards of the layout: the core never touches boto3 or the environment; handlers stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.config import ENVIRONMENT_NAMES
from assistant.local.template import functions, load_template

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _python_files(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_core_never_imports_boto3_outside_adapters_and_local() -> None:
    for path in _python_files("assistant"):
        relative = path.relative_to(ROOT / "assistant").parts
        if relative[0] in ("adapters", "local"):
            continue
        assert not {n for n in _imports(path) if n.split(".")[0] in ("boto3", "botocore", "moto")}, path


def test_only_config_and_the_composition_root_read_the_environment() -> None:
    allowed = {"config.py", "bootstrap.py", "runtime.py"}
    for path in _python_files("assistant") + _python_files("handlers"):
        if path.name in allowed:
            continue
        assert "os.environ" not in path.read_text() and "getenv" not in path.read_text(), path


def test_handlers_never_import_each_other() -> None:
    for path in _python_files("handlers"):
        assert not {n for n in _imports(path) if n.startswith("handlers")}, path


def test_inbound_handler_stays_free_of_heavy_libraries() -> None:
    heavy = {"langchain", "langchain_aws", "pydantic", "numpy", "moto", "yaml"}
    heavy |= {"faster_whisper", "ctranslate2", "av", "ffmpeg", "imageio_ffmpeg", "onnxruntime"}  # voice notes
    heavy |= {"aws_xray_sdk"}  # the tracer: 0.11 s of cold start, in the answer function only
    seen: set[str] = set()
    for path in [
        ROOT / "handlers" / "inbound.py",
        *_python_files("assistant", "services"),
        *_python_files("assistant", "models"),
    ]:
        seen |= {n.split(".")[0] for n in _imports(path)}
    assert not seen & heavy


def test_inbound_function_loads_no_tracer() -> None:
    """What the inbound function imports at cold start, run for real: the typing indicator waits for it."""
    import subprocess
    import sys

    probe = "import sys, handlers.inbound; print(sorted({m.split('.')[0] for m in sys.modules}))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert "aws_xray_sdk" not in loaded and "faster_whisper" not in loaded and "numpy" not in loaded


def test_template_sets_exactly_the_variables_the_code_reads() -> None:
    template = load_template(ROOT / "template.yaml")
    specs = functions(template)
    assert {s.logical_id for s in specs} == {
        "InboundFunction",
        "AnswerFunction",
        "IngestFunction",
        "CategorizeFunction",
    }
    for spec in specs:
        assert set(spec.environment) == ENVIRONMENT_NAMES, spec.logical_id


def test_every_function_reports_partial_batch_failures_and_has_a_dead_letter_queue() -> None:
    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    for spec in functions(template):
        events = resources[spec.logical_id]["Properties"]["Events"].values()
        assert all(e["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for e in events)
        queue = resources[spec.queue["Fn::GetAtt"][0]]["Properties"]
        assert "deadLetterTargetArn" in queue["RedrivePolicy"]


def test_readme_configuration_table_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ENVIRONMENT_NAMES:
        assert f"`{name}`" in readme, name


def test_sam_transform_expands_the_template_into_plain_cloudformation() -> None:
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template = load_template(ROOT / "template.yaml")
    template["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"  # `sam build` does this
    template["Resources"]["FfmpegLayer"]["Properties"]["ContentUri"] = "s3://bucket/ffmpeg.zip"  # and this
    result = transform(template, {"AWS::Region": "us-east-1"}, NoManagedPolicies())
    types = {r["Type"] for r in result["Resources"].values()}
    assert "AWS::Lambda::Function" in types and "AWS::Lambda::EventSourceMapping" in types
    assert not any(t.startswith("AWS::Serverless::") for t in types)
    mappings = [r for r in result["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)


def test_lifetimes_in_the_template_keep_the_exactly_once_order() -> None:
    """docs/exactly-once.md: a function's timeout < what it owns (timeout + margin) < the queue's
    visibility timeout, so SQS's retry always finds the dead attempt's hold lapsed."""
    from assistant.config import MARGIN_SECONDS

    template = load_template(ROOT / "template.yaml")
    resources = template["Resources"]
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    timeout_of = {"InboundFunction": "INBOUND_TIMEOUT_SECONDS", "AnswerFunction": "ANSWER_TIMEOUT_SECONDS"}
    # The two message functions: IngestFunction holds no lease or claim (test_template_ingestion.py checks
    # its queue's visibility timeout against its own timeout).
    for spec in (s for s in functions(template) if s.logical_id in timeout_of):
        assert spec.timeout_seconds == int(env[timeout_of[spec.logical_id]]), spec.logical_id
        visibility = resources[spec.queue["Fn::GetAtt"][0]]["Properties"]["VisibilityTimeout"]
        assert visibility > spec.timeout_seconds + MARGIN_SECONDS, spec.logical_id
    lease = template["Parameters"]["LockLeaseSeconds"]
    answer_claim = int(env["ANSWER_TIMEOUT_SECONDS"]) + MARGIN_SECONDS
    assert lease["MinValue"] >= answer_claim and lease["Default"] >= answer_claim
