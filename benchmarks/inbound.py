"""Inbound path figures: AWS calls per message, handler overhead on fakes, import time.

Run from the repository root: ``python benchmarks/inbound.py``. One run, printed as tables; no timed
assertions.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "eum" / "message__text.json"
ENV = {"POWERTOOLS_SERVICE_NAME": "event-assistant", "AWS_DEFAULT_REGION": "us-east-1"}
COLD_START = {("secretsmanager", "GetSecretValue")}
TYPING = "SendWhatsAppMessage(read+typing)"
STAGES = {"handlers.inbound": "inbound", "handlers.answer": "answer"}
Call = tuple[str, str, str]  # (stage, service, operation)


def envelope(n: int, *, user: int = 0) -> str:
    """The fixture's envelope with its own message id and timestamp (and sender when user > 0)."""
    env = json.loads(FIXTURE.read_text(encoding="utf-8"))
    entry = json.loads(env["whatsAppWebhookEntry"])
    value = entry["changes"][0]["value"]
    message, contact = value["messages"][0], value["contacts"][0]
    message.update(id=f"wamid.bench{n:08d}", timestamp=str(1_697_043_223 + n))
    if user:
        message["from"] = contact["wa_id"] = f"9725{user:08d}"
        contact["user_id"] = f"US.{user}"
    env["whatsAppWebhookEntry"] = json.dumps(entry)
    return json.dumps(env)


def sns_wrapped(body: str) -> str:
    return json.dumps({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:t", "Message": body})


# -- 1. AWS calls on the local pipeline ---------------------------------------------------------------------


def _stage() -> str:
    """Which function made a call: the first frame of a handler module up the stack, else the harness."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        stage = STAGES.get(frame.f_globals.get("__name__", ""))
        if stage:
            return stage
        frame = frame.f_back
    return "harness"


def _label(operation: str, params: dict[str, Any]) -> str:
    if operation == "UpdateItem":
        return f"UpdateItem({params['Key']['pk']['S'].split('#')[0]}#: {params['UpdateExpression']})"
    if operation != "SendWhatsAppMessage":
        return operation
    message = json.loads(params["message"])
    kind = "read+typing" if "typing_indicator" in message else message.get("status") or message.get("type")
    return f"{operation}({kind})"


@contextlib.contextmanager
def counting(calls: list[Call]) -> Iterator[None]:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def wrapper(self: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append((_stage(), self.meta.service_model.service_name, _label(operation, params)))
        return original(self, operation, params)

    BaseClient._make_api_call = wrapper
    try:
        yield
    finally:
        BaseClient._make_api_call = original


def measure_pipeline(log: IO[str]) -> list[tuple[str, list[Call], int]]:
    from assistant.local.runtime import LocalCloud

    first, second = envelope(1), envelope(2)
    scenarios = [("(a) new user, first text", first), ("(b) same user, warm", second)]
    scenarios.append(("(c) duplicate redelivery of (b)", second))
    results: list[tuple[str, list[Call], int]] = []
    with tempfile.TemporaryDirectory() as home, LocalCloud(Path(home), log_stream=log) as cloud:
        for name, body in scenarios:
            calls: list[Call] = []
            before = len(cloud.social.calls)
            with counting(calls):
                cloud.publish_inbound(body)
                cloud.drain()
            results.append((name, calls, len(cloud.social.calls) - before))
    return results


def summarize(calls: list[Call]) -> list[str]:
    """before typing, inbound, answer, total (all without cold start), cold start, excluded harness."""
    ours = [c for c in calls if c[0] != "harness"]
    warm = [c for c in ours if c[1:] not in COLD_START]
    inbound = [c for c in ours if c[0] == "inbound"]
    before = "n/a"
    if TYPING in (ops := [c[2] for c in inbound]):
        cold = sum(c[1:] in COLD_START for c in inbound[: ops.index(TYPING)])
        before = f"{ops.index(TYPING) - cold}" + (f" (+{cold} cold)" if cold else "")
    counts = [sum(c[0] == "inbound" for c in warm), sum(c[0] == "answer" for c in warm), len(warm)]
    return [before, *map(str, counts), str(len(ours) - len(warm)), str(len(calls) - len(ours))]


# -- 2. handler overhead with in-memory fakes ---------------------------------------------------------------


def baseline(body: str) -> str:
    """The least any handler must do: decode the layers, build and encode a read receipt and a reply."""
    outer = json.loads(body)
    env = json.loads(outer["Message"]) if outer.get("Type") == "Notification" else outer
    message = json.loads(env["whatsAppWebhookEntry"])["changes"][0]["value"]["messages"][0]
    receipt = {"messaging_product": "whatsapp", "message_id": message["id"], "status": "read"}
    receipt["typing_indicator"] = {"type": "text"}
    reply = {"to": message["from"], "type": "text", "text": {"body": message["text"]["body"]}}
    return json.dumps(receipt) + json.dumps(reply)


def timed(fn: Callable[[str], object], bodies: list[str]) -> list[float]:
    samples = []
    for body in bodies:
        start = time.perf_counter_ns()
        fn(body)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def measure_overhead(count: int = 2000, warmup: int = 200) -> list[tuple[str, list[float], str]]:
    from assistant import bootstrap, fakes
    from assistant.adapters.system import HmacHasher
    from assistant.config import Settings
    from assistant.models.envelope import parse_sqs_body

    # The composition root's own wiring, over the in-memory fakes.
    settings = Settings("t", "arn:topic", "arn:secret", "KB", "arn:model", "g", "1")
    clock, publisher = fakes.FixedClock(), fakes.RecordingPublisher()
    core = bootstrap.build_core(
        settings,
        clock=clock,
        store=fakes.InMemoryConversationStore(clock, bootstrap.limits_of(settings)),
        messenger=fakes.RecordingMessenger(),
        metrics=fakes.RecordingMetrics(),
    )
    service = bootstrap.build_inbound(core, publisher=publisher, hasher=HmacHasher(b"x" * 32))

    def handle(body: str) -> object:
        return service.handle(parse_sqs_body(body))

    raw, wrapped = "raw delivery (2 layers, as template.yaml)", "SNS-wrapped (3 layers)"
    runs = [
        (f"handler, {raw}", handle, False, True),
        (f"bare baseline, {raw}", baseline, False, True),
        (f"handler, {wrapped}", handle, True, True),
        (f"bare baseline, {wrapped}", baseline, True, True),
        (f"handler, {raw}, INFO logs off", handle, False, False),
    ]
    rows: list[tuple[str, list[float], str]] = []
    for i, (label, fn, wrap, logs) in enumerate(runs):
        bodies = [envelope(n, user=n + 1) for n in range(i * (warmup + count), (i + 1) * (warmup + count))]
        logging.disable(logging.NOTSET if logs else logging.INFO)
        samples = timed(fn, [sns_wrapped(b) if wrap else b for b in bodies])[warmup:]
        rows.append((label, samples, f"bare baseline, {wrapped if wrap else raw}"))
    logging.disable(logging.NOTSET)
    if len(publisher.events) != 3 * (warmup + count):
        raise RuntimeError("some timed messages were not accepted: the figures are not the happy path")
    return rows


# -- 3. import time -----------------------------------------------------------------------------------------


def python(*args: str) -> subprocess.CompletedProcess[str]:
    env, cmd = {**os.environ, **ENV}, [sys.executable, *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)


def import_seconds(module: str, runs: int = 5) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    return statistics.median(float(python("-c", code).stdout) for _ in range(runs))


def importtime_top(module: str, top: int = 5) -> list[list[str]]:
    rows = []
    for line in python("-X", "importtime", "-c", f"import {module}").stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
    return [[name, f"{cum / 1000:.1f}", f"{own / 1000:.1f}"] for cum, own, name in sorted(rows)[::-1][:top]]


def table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers), "-" * len(line(headers)), *map(line, rows), "", sep="\n")


def main() -> None:
    os.environ.update({k: os.environ.get(k, v) for k, v in ENV.items()})
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"Python {platform.python_version()} ({platform.machine()}), {os.cpu_count()} CPUs, {now}\n")

    started = time.perf_counter()
    # The functions' JSON logs go nowhere, here and in part 2.
    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives for the process
    pipeline = measure_pipeline(devnull)
    # LocalCloud hands the Logger its real stdout back when it closes: keep part 2's log lines off the table.
    for handler in logging.getLogger(ENV["POWERTOOLS_SERVICE_NAME"]).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    print("1. AWS calls per text message, local pipeline (moto + socialmessaging stand-in)")
    print("   our code only: harness calls (test SNS publish, poller Receive/DeleteMessage) are excluded,")
    print("   as are cold-start calls (Secrets Manager GetSecretValue), counted apart")
    keys = ["before typing", "inbound", "answer", "total", "cold start", "excluded harness"]
    rows = [[name, *summarize(calls), str(social)] for name, calls, social in pipeline]
    table(["scenario", *keys, "stand-in sends"], rows)
    for name, calls, _ in pipeline[:2]:
        print(f"   {name}, in order:")
        for i, (stage, service, op) in enumerate((c for c in calls if c[0] != "harness"), 1):
            print(f"     {i}. {stage:<8} {service}:{op}" + (" [cold start]" * ((service, op) in COLD_START)))
        harness = Counter(f"{c[1]}:{c[2]}" for c in calls if c[0] == "harness")
        print("     excluded (harness):", ", ".join(f"{op} x{n}" for op, n in harness.items()))
    print()

    overhead = measure_overhead()
    print("2. inbound handler overhead per message, in-memory fakes (2,000 distinct users; microseconds)")
    medians = {label: statistics.median(samples) for label, samples, _ in overhead}
    p95 = {label: statistics.quantiles(samples, n=20)[-1] for label, samples, _ in overhead}
    ratio = {label: medians[label] / medians[base] for label, _, base in overhead}
    rows = [[k, f"{medians[k]:.1f}", f"{p95[k]:.1f}", f"{ratio[k]:.1f}x"] for k in medians]
    table(["measure", "median us", "p95 us", "median / baseline"], rows)
    print("   The handler writes one JSON INFO log line per accepted message (as deployed, at INFO), here to")
    print("   /dev/null; the fakes do no serialisation (the real SNS/socialmessaging adapters json.dumps).\n")

    print("3. import time in a fresh interpreter (median of 5 runs)")
    modules = ["handlers.inbound", "boto3", "handlers.inbound, boto3"]
    table(["import", "median ms"], [[m, f"{import_seconds(m) * 1000:.0f}"] for m in modules])
    print("   python -X importtime -c 'import handlers.inbound': top 5 by cumulative time")
    table(["module (indent = nesting)", "cumulative ms", "self ms"], importtime_top("handlers.inbound"))
    print(f"benchmark ran in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
