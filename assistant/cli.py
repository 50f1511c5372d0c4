"""The ``assistant`` command: the local runtime of the Lambda code.

assistant replay EVENTS.jsonl [--out OUT.jsonl] [--home DIR] [--media DIR]
assistant kb add PATH... [--home DIR]
assistant kb ask "QUESTION" [--home DIR]
assistant chat [--from NUMBER] [--home DIR]   (a line "/voice path/to/note.ogg" sends a voice note)
assistant kb upload|status|list|remove|eval ... [--home DIR | --stack NAME]
assistant report [--json] [--home DIR | --stack NAME]
assistant serve [--home DIR] [--port 8000]
assistant allow-list ID... [--home DIR | --stack NAME]
assistant doctor [--stack NAME] [--link] [--round-trip [--to NUMBER]]
assistant loadtest [--users N] [--messages N] [--engine local|scripted] [--fault KIND=RATE]... [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.local.runtime import LocalCloud

HOME_HELP = "local state directory (default: $ASSISTANT_HOME or .assistant)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assistant", description="The event assistant, locally.")
    commands = parser.add_subparsers(dest="command", required=True)
    replay = commands.add_parser(
        "replay",
        help="run End User Messaging Social envelopes (one JSON object a line) through the local pipeline",
    )
    replay.add_argument("events", type=Path, help="JSONL file of envelopes, or - for standard input")
    replay.add_argument("--out", type=Path, help="write the socialmessaging calls here (default: stdout)")
    replay.add_argument("--home", type=Path, help=HOME_HELP)
    replay.add_argument(
        "--media",
        type=Path,
        help="where voice notes and other media of the envelopes are: DIR/<mediaId>.<ext> (as WhatsApp"
        " holds them for GetWhatsAppMessageMedia)",
    )
    kb = commands.add_parser("kb", help="the local knowledge base").add_subparsers(
        dest="kb_command", required=True
    )
    kb_add = kb.add_parser("add", help="the local knowledge base's `kb upload`")
    kb_add.add_argument("paths", type=Path, nargs="+", help="files or directories")
    kb_add.add_argument("--home", type=Path, help=HOME_HELP)
    kb_add.add_argument(
        "--timezone", help="the event's time zone for the agenda's times (default: the template's)"
    )
    upload = kb.add_parser(
        "upload",
        help="publish documents (Markdown, text, HTML, PDF) and agenda files (JSON, CSV, iCalendar) to the"
        " knowledge base; one published again is replaced",
    )
    upload.add_argument("paths", type=Path, nargs="+", help="files or directories")
    upload.add_argument("--wait", action="store_true", help="follow the ingestion to its end")
    upload.add_argument(
        "--timezone", help="the event's time zone for the agenda's times (default: the template's)"
    )
    status = kb.add_parser("status", help="the last ingestion: its counts and the documents that failed")
    listing = kb.add_parser("list", help="the documents: title, size, passages, when ingested")
    remove = kb.add_parser("remove", help="remove a document (by its file name)")
    remove.add_argument("name")
    remove.add_argument("--wait", action="store_true", help="follow the ingestion to its end")
    evaluate = kb.add_parser(
        "eval",
        help="ask a set of questions (JSONL: question, document, facts, answerable) and score the answers",
    )
    evaluate.add_argument(
        "questions", type=Path, nargs="?", help="default: the sample event's starter set (knowledge/eval)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object of figures")
    evaluate.add_argument("-k", type=int, default=3, help="documents retrieved per question (hit@k)")
    for command in (upload, status, listing, remove, evaluate):
        command.add_argument("--home", type=Path, help=HOME_HELP)
        command.add_argument("--stack", help=STACK_HELP)
    kb_ask = kb.add_parser("ask", help="ask the knowledge base; prints the answer and its sources")
    kb_ask.add_argument("question")
    kb_ask.add_argument("--home", type=Path, help=HOME_HELP)
    kb_ask.add_argument("--now", type=_moment, help=NOW_HELP)
    serve = commands.add_parser(
        "serve", help="the organizers' dashboard and a chat page to try the assistant, on the local pipeline"
    )
    serve.add_argument("--home", type=Path, help=HOME_HELP)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: only this machine)"
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--now", type=_moment, help=NOW_HELP)
    report = commands.add_parser("report", help="what attendees ask: the organizers' dashboard figures")
    report.add_argument("--home", type=Path, help=HOME_HELP)
    report.add_argument(
        "--stack", help="a deployed stack (its CloudFormation name; default $ASSISTANT_STACK)"
    )
    report.add_argument("--json", action="store_true", help="print one JSON object")
    allow = commands.add_parser(
        "allow-list",
        help="ALLOWED_USERS entries (HMACs) for wa_ids or business-scoped user ids",
        description="Prints ALLOWED_USERS for these users: one HMAC each, comma-separated. Either of a user's"
        " ids lets them in. The ids are read from the arguments, or one per line from standard input.",
    )
    allow.add_argument(
        "ids", nargs="*", metavar="ID", help="a wa_id (+ optional) or a business-scoped user id"
    )
    allow.add_argument("--home", type=Path, help=HOME_HELP)
    allow.add_argument(
        "--stack",
        help="a deployed stack, whose hash key is used (default $ASSISTANT_STACK); else the local one",
    )
    doctor = commands.add_parser(
        "doctor",
        help="check a deployed stack (or the local twin) and say what is wrong and how to fix it",
        description="Checks the stack's outputs, its region, the WhatsApp business account's link to the"
        " inbound topic, Bedrock model access, the knowledge base's last ingestion and the queues; with"
        " --round-trip, sends a test question through the pipeline. Exit code 1 when a check fails.",
    )
    doctor.add_argument(
        "--stack", help="a deployed stack (default $ASSISTANT_STACK); without it, the local twin"
    )
    doctor.add_argument("--home", type=Path, help=HOME_HELP)
    doctor.add_argument(
        "--link", action="store_true", help="link the business account to the inbound topic if it has no link"
    )
    doctor.add_argument(
        "--replace", action="store_true", help="with --link: replace another topic the account is linked to"
    )
    doctor.add_argument(
        "--round-trip",
        action="store_true",
        help="send a test question through the pipeline: a dry run, recorded and never sent, unless --to",
    )
    doctor.add_argument(
        "--to",
        metavar="NUMBER",
        help="with --round-trip: send it from this WhatsApp number and deliver the answer to it (the number"
        " must have written to the business number in the last 24 hours)",
    )
    doctor.add_argument("--question", help="with --round-trip: the question to ask")
    loadtest = commands.add_parser(
        "loadtest",
        help="simulate an event's burst through the local pipeline, with faults, and check its invariants",
        description="Publishes an event's traffic (questions in seven languages, voice notes, unsupported"
        " types, statuses, reactions, 10%% duplicate deliveries, 5%% malformed payloads, attendees writing"
        " again while answered) through the local pipeline with concurrent invocations, then checks that"
        " every message due a reply got exactly one, nothing was lost or dead-lettered, no lease is left and"
        " the logs hold no personal data. Exit code 1 when an invariant is broken.",
    )
    loadtest.add_argument("--users", type=int, default=2000, help="attendees (default 2000)")
    loadtest.add_argument("--messages", type=int, default=10000, help="messages published (default 10000)")
    loadtest.add_argument(
        "--window", type=float, default=120.0, help="seconds over which they arrive (default 120)"
    )
    loadtest.add_argument(
        "--engine",
        choices=("local", "scripted"),
        default="local",
        help="local: the embedded engine answers; scripted: a fixed answer through the same Bedrock stand-in"
        " (the pipeline's own cost)",
    )
    loadtest.add_argument(
        "--latency", type=float, default=0.0, help="the scripted engine's answer time in seconds (default 0)"
    )
    loadtest.add_argument(
        "--concurrency", type=int, default=4, help="invocations of each function in flight (default 4)"
    )
    loadtest.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        type=_fault,
        help="inject a fault into the functions' calls with this probability per call; KIND is one of"
        " bedrock-throttle, send-throttle, ddb-throttle, ambiguous, crash (repeatable)",
    )
    loadtest.add_argument("--seed", type=int, default=7, help="the traffic's and the faults' seed")
    loadtest.add_argument(
        "--media",
        type=Path,
        default=Path("examples/media"),
        help="where the sample voice note is (default examples/media; none there: no voice notes)",
    )
    loadtest.add_argument("--json", action="store_true", help="print one JSON object")
    chat = commands.add_parser("chat", help="chat as an attendee through the full local pipeline")
    chat.add_argument("--from", dest="sender", default="15550100100", help="the attendee's WhatsApp number")
    chat.add_argument("--home", type=Path, help=HOME_HELP)
    chat.add_argument("--now", type=_moment, help=NOW_HELP)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return run_serve(args.home, args.host, args.port, args.now)
    if args.command == "report":
        return run_report(args.home, args.stack, as_json=args.json)
    if args.command == "allow-list":
        return run_allow_list(args.ids, args.home, args.stack)
    if args.command == "doctor":
        return run_doctor(args)
    if args.command == "loadtest":
        return run_loadtest(args)
    if args.command == "replay":
        return run_replay(args.events, args.out, args.home, args.media)
    if args.command == "kb" and args.kb_command == "add":
        # The local knowledge base's older name for `kb upload`: the same command.
        args.kb_command, args.wait, args.stack = "upload", False, None
    if args.command == "kb" and args.kb_command in ("upload", "status", "list", "remove", "eval"):
        return run_library(args)
    if args.command == "kb":
        return run_kb_ask(args.question, args.home, args.now)
    return run_chat(args.sender, args.home, args.now)


def _fault(text: str) -> tuple[str, float]:
    kind, _, rate = text.partition("=")
    try:
        return kind.strip(), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not KIND=RATE (a rate between 0 and 1)") from None


def run_loadtest(args: argparse.Namespace) -> int:
    from assistant.local import loadtest

    options = loadtest.Options(
        users=args.users,
        messages=args.messages,
        window=args.window,
        engine=args.engine,
        latency=args.latency,
        concurrency=args.concurrency,
        faults=dict(args.fault),
        seed=args.seed,
        media_dir=args.media,
    )
    try:
        options.check()
    except ValueError as exc:
        print(f"assistant loadtest: {exc}", file=sys.stderr)
        return 2
    report = loadtest.run(options, progress=sys.stderr)
    print(report.to_json() if args.json else loadtest.table(report))
    return 0 if report.ok else 1


STACK_HELP = (
    "a deployed stack's knowledge base (its CloudFormation name; default $ASSISTANT_STACK); without it,"
    " the local knowledge base in --home"
)
NOW_HELP = "the event's time to take as now, ISO 8601 (2026-03-11T11:20:00+00:00); default: the clock"


def _moment(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return text


SNS_MESSAGE_LIMIT = 262_144
"""SNS refuses a message over 256 KB (the whole message, in bytes); the service could not have sent it."""


def run_replay(events: Path, out: Path | None, home: Path | None, media: Path | None = None) -> int:
    """Replay a file of envelopes. A line that cannot be run is reported (by number and reason only: lines
    carry personal data) and skipped. The state is saved after every line and Ctrl-C stops between lines,
    so a replay that was interrupted can be run again from the start: nothing is sent twice."""
    from assistant.local.runtime import LocalCloud, default_home

    home = home or default_home()
    try:
        # Bytes, not text: one line that is not UTF-8 must not end the run.
        source: IO[bytes] = sys.stdin.buffer if str(events) == "-" else events.open("rb")
    except OSError as exc:
        print(f"cannot read {events}: {exc.strerror}", file=sys.stderr)
        return 1
    sink: IO[str] = out.open("w", encoding="utf-8") if out else sys.stdout
    outcome: Counter[str] = Counter()
    number = 0
    try:
        if media is not None and not media.is_dir():
            print(f"--media {media} is not a directory", file=sys.stderr)
            return 1
        with LocalCloud(home, media_dir=media) as cloud, _stop_between_lines() as stop_requested:
            written = 0
            try:
                for number, raw in enumerate(source, start=1):
                    message = _replayable(raw, number, outcome)
                    if message is not None:
                        written = _run_line(cloud, message, number, outcome, sink, written)
                    if stop_requested():
                        raise KeyboardInterrupt
            finally:
                # However the run ends, what was sent is written out (and LocalCloud saves the state).
                _write_calls(cloud.social.calls, written, sink, outcome)
            dead = cloud.dead_letters()
            summary = cloud.summary
            metrics = cloud.metrics
    except KeyboardInterrupt:
        print(f"replay interrupted at line {number}; the state is saved in {home}", file=sys.stderr)
        return 130
    finally:
        if source is not sys.stdin.buffer:
            source.close()
        if out:
            sink.close()
    print(f"replay finished (home: {home})", file=sys.stderr)
    for key, count in sorted(outcome.items()):
        print(f"  {key}: {count}", file=sys.stderr)
    for key, count in sorted(summary.items()):
        print(f"  {key}: {count}", file=sys.stderr)
    print("metrics emitted:", file=sys.stderr)
    for key, count in sorted(metrics.items()):
        print(f"  {key}: {count}", file=sys.stderr)
    for queue, count in dead.items():
        if count:
            print(f"  dead letters in {queue}: {count}", file=sys.stderr)
    print(f"  function logs and metrics: {home / 'logs' / 'functions.log'}", file=sys.stderr)
    return 0


def _replayable(raw: bytes, number: int, outcome: Counter[str]) -> str | None:
    """The envelope a line holds, as the text to publish; None (reported) if it holds none SNS could carry."""
    if not raw.strip():
        return None
    reason = ""
    try:
        # A byte order mark may open a file saved by an editor; it is not part of the first envelope.
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
    except UnicodeDecodeError as exc:
        _skip(outcome, number, "not valid UTF-8", f" (at byte {exc.start + 1})")
        return None
    if len(text.encode("utf-8")) > SNS_MESSAGE_LIMIT:
        reason = "over SNS's 256 KB limit"
    else:
        try:
            envelope = json.loads(text)
        except RecursionError:
            reason = "nested too deeply"
        except ValueError:
            reason = "not JSON"
        else:
            reason = "" if isinstance(envelope, dict) else "not a JSON object"
    if reason:
        _skip(outcome, number, reason)
        return None
    # Published as written: the envelope as the service sent it, byte for byte.
    return text


def _run_line(
    cloud: LocalCloud, message: str, number: int, outcome: Counter[str], sink: IO[str], written: int
) -> int:
    """Run one envelope through the pipeline; returns how many calls are written out now."""
    try:
        cloud.publish_inbound(message)
        cloud.drain()
    except Exception as exc:  # noqa: BLE001 - one line must not end the run; the type says enough
        _skip(outcome, number, "could not be run", f" ({type(exc).__name__})")
        return written
    outcome["envelopes"] += 1
    # The state first, then the output: a run killed between the two has sent nothing twice.
    cloud.save_state()
    return _write_calls(cloud.social.calls, written, sink, outcome)


def _skip(outcome: Counter[str], number: int, reason: str, detail: str = "") -> None:
    outcome[f"lines {reason} (skipped)"] += 1
    print(f"line {number}: {reason}{detail}, skipped", file=sys.stderr)


def _write_calls(calls: list[dict[str, Any]], written: int, sink: IO[str], outcome: Counter[str]) -> int:
    """Write the calls made after the first ``written``; returns how many are written now."""
    for call in calls[written:]:
        # The calls as the service received them ("at", the stand-in's own note of when, is left out).
        shown = {key: value for key, value in call.items() if key != "at"}
        sink.write(json.dumps(shown, ensure_ascii=False) + "\n")
        outcome[_describe(call["message"])] += 1
    sink.flush()
    return len(calls)


@contextlib.contextmanager
def _stop_between_lines() -> Iterator[Callable[[], bool]]:
    """Ctrl-C ends the replay after the line being run, not inside it: a line cut short would have its
    duplicate marker saved and its answer, still queued, lost. A second Ctrl-C stops at once."""
    requested = False

    def handle(signum: int, frame: object) -> None:
        nonlocal requested
        if requested:
            raise KeyboardInterrupt
        requested = True
        print("stopping after this line (Ctrl-C again to stop at once)", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield lambda: False  # signals only reach the main thread
        return
    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield lambda: requested
    finally:
        signal.signal(signal.SIGINT, previous)


def _describe(message: dict[str, object]) -> str:
    if message.get("status") == "read":
        return "read receipts with typing indicator" if "typing_indicator" in message else "read receipts"
    return f"{message.get('type', 'unknown')} messages sent"


def run_kb_ask(question: str, home: Path | None, now: str | None = None) -> int:
    from assistant.local.runtime import LocalCloud, default_home

    with LocalCloud(home or default_home(), log_stream=io.StringIO(), now=now) as cloud:
        source, reply = cloud.ask(question)
    print(reply)
    print(f"[answer source: {source}]", file=sys.stderr)
    return 0


VOICE_COMMAND = "/voice "


def run_chat(sender: str, home: Path | None, now: str | None = None) -> int:
    import secrets

    from assistant.local.envelopes import text_envelope, voice_envelope
    from assistant.local.runtime import LocalCloud, default_home

    interactive = sys.stdin.isatty()
    print(
        "Chatting as an attendee through the local pipeline. '/voice path/to/note.ogg' sends a voice note."
        " Empty line or Ctrl-D quits.",
        file=sys.stderr,
    )
    with LocalCloud(home or default_home(), now=now) as cloud:
        while True:
            if interactive:
                print("you> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line.strip():
                break
            before = len(cloud.social.calls)
            said = line.strip()
            if said.startswith(VOICE_COMMAND):
                note = Path(said[len(VOICE_COMMAND) :].strip()).expanduser()
                if not note.is_file():
                    print(f"no such file: {note}", file=sys.stderr)
                    continue
                media_id = secrets.token_hex(8)
                cloud.social.add_media(media_id, note)
                envelope = voice_envelope(media_id, sender=sender)
            else:
                envelope = text_envelope(said, sender=sender)
            cloud.publish_inbound(json.dumps(envelope))
            cloud.drain()
            cloud.save_state()  # as replay does: a chat that is killed keeps what it did
            for call in cloud.social.calls[before:]:
                message = call["message"]
                if message.get("status") == "read":
                    print("  ✓✓ read" + ("  · typing…" if "typing_indicator" in message else ""))
                elif message.get("type") == "text":
                    print("assistant> " + message["text"]["body"].replace("\n", "\n           "))
            print(flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- the content team's library: kb upload, status, list, remove, eval ------------------------------------


def run_library(args: argparse.Namespace) -> int:
    from assistant import bootstrap
    from assistant.services.library import Refused

    try:
        library = bootstrap.content_library(
            stack=args.stack, home=args.home, timezone=getattr(args, "timezone", None)
        )
    except (LookupError, ValueError) as exc:
        print(f"cannot reach the knowledge base: {exc}", file=sys.stderr)
        return 1
    try:
        if args.kb_command == "upload":
            return _upload(library, args.paths, wait=args.wait)
        if args.kb_command == "status":
            return _status(library)
        if args.kb_command == "list":
            return _list(library)
        if args.kb_command == "remove":
            return _remove(library, args.name, wait=args.wait)
        return _eval(library, args.questions, k=args.k, as_json=args.json)
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1


def _upload(library: Any, paths: list[Path], *, wait: bool) -> int:
    import time

    from assistant.services.library import Refused, check, expand

    files = expand(paths)
    if not files:
        print("nothing to upload", file=sys.stderr)
        return 1
    problems = []
    for path in files:
        try:
            check(path)
        except Refused as exc:
            problems.append(str(exc))
    if problems:
        # Nothing is uploaded when anything is refused: a half-published set is harder to reason about.
        for problem in problems:
            print(f"refused: {problem}", file=sys.stderr)
        print("nothing was uploaded", file=sys.stderr)
        return 1
    since = time.time()
    published = library.upload(files, _progress("uploading"))
    for line in published.lines:
        print(line)
    for warning in published.warnings:
        print(warning, file=sys.stderr)
    job = published.job
    if job is None and wait:
        job = library.follow(since, _progress("ingesting"))
    if job is None:
        print(f"uploaded to {library.where}; the ingestion starts by itself (assistant kb status)")
        return 0
    return _report(job, library.failures())


def _report(job: Any, failures: list[tuple[str, str]]) -> int:
    print(
        f"ingestion {job.job_id}: {job.status}: {job.scanned} scanned, {job.indexed} indexed, "
        f"{job.deleted} deleted, {job.failed} failed"
    )
    for name, reason in failures:
        print(f"  failed: {name}: {reason}")
    for reason in job.failure_reasons if not failures else ():
        print(f"  failed: {reason}")
    return 0 if job.status == "COMPLETE" and not job.failed else 2


def _status(library: Any) -> int:
    job = library.latest()
    if job is None:
        print(f"no ingestion yet in {library.where}")
        return 0
    started = _when(job.started_at)
    print(f"{library.where}: last ingestion started {started}")
    return _report(job, library.failures())


def _list(library: Any) -> int:
    rows = library.documents()
    print(f"{'document':32} {'title':34} {'size':>9} {'passages':>8}  ingested")
    for status, title, size, passages in rows:
        name = status.uri.rsplit("/", 1)[-1]
        shown = "-" if passages is None else str(passages)
        state = "" if status.status == "INDEXED" else f"  {status.status}: {status.reason or ''}"
        print(
            f"{name[:32]:32} {title[:34]:34} {_size(size):>9} {shown:>8}  {_when(status.updated_at)}{state}"
        )
    print(f"{len(rows)} documents in {library.where}")
    return 0


def _remove(library: Any, name: str, *, wait: bool) -> int:
    import time

    since = time.time()
    if not library.remove(name):
        print(f"no document named {name} in {library.where}", file=sys.stderr)
        return 1
    print(f"removed {name}")
    if wait:
        job = library.follow(since, _progress("ingesting"))
        if job is not None:
            return _report(job, library.failures())
    return 0


def _eval(library: Any, questions_path: Path | None, *, k: int, as_json: bool) -> int:
    from assistant.local.knowledge_home import sample_knowledge_dir
    from assistant.services.library import evaluate, read_questions

    path = questions_path or sample_knowledge_dir() / "eval" / "starter.jsonl"
    try:
        questions = read_questions(path.read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError) as exc:
        print(f"cannot read {path.name}: {exc}", file=sys.stderr)
        return 1
    with library.asking() as ask:
        report = evaluate(questions, library.retrieve, ask, k=k, progress=_progress("asking"))
    summary = report.summary()
    if as_json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"{summary['questions']} questions against {library.where}")
    for label, key in (
        (f"expected document retrieved (hit@{k})", "hit_at_k"),
        ("answers with every expected fact", "fact_accuracy"),
        ('unanswerable questions answered "I don\'t know"', "dont_know_accuracy"),
    ):
        value = summary[key]
        print(f"  {label:52} {'-' if value is None else f'{value:.0%}'}")
    label = 'answerable questions answered "I don\'t know"'
    print(f"  {label:52} {summary['answered_dont_know']}")
    misses = report.misses()
    if misses:
        print("\nto look at:")
    for outcome in misses:
        q = outcome.question
        why = []
        if outcome.hit is False:
            found = ", ".join(outcome.retrieved) or "nothing"
            why.append(f"expected {q.document}, retrieved {found}")
        if q.answerable and outcome.dont_know:
            why.append('answered "I don\'t know"')
        elif q.answerable and not outcome.facts_found:
            missing = [f for f in q.facts if f.lower() not in outcome.reply.lower()]
            why.append(f"missing {', '.join(repr(f) for f in missing)}")
        elif not q.answerable and not outcome.dont_know:
            why.append("answered, though the documents should not know")
        reply = " ".join(outcome.reply.split())[:160]
        print(f"- {q.question}\n    {'; '.join(why)}\n    got: {reply}")
    return 0


def _progress(label: str) -> Callable[[str, int, int], None]:
    """A progress bar on stderr (only when it is a terminal)."""
    interactive = sys.stderr.isatty()

    def show(what: str, done: int, total: int) -> None:
        if not interactive or total <= 0:
            return
        width = 24
        filled = int(width * done / total)
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what[:40]:40}", end="",
              file=sys.stderr, flush=True)  # fmt: skip
        if done >= total:
            print(file=sys.stderr)

    return show


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def _when(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M")


def run_doctor(args: argparse.Namespace) -> int:
    from assistant import bootstrap
    from assistant.services.doctor import exit_code, render_finding, summary

    if args.to and not args.round_trip:
        print("--to goes with --round-trip", file=sys.stderr)
        return 2
    stack = bootstrap.stack_named(args.stack)
    options = {
        "link": args.link,
        "replace": args.replace,
        "round_trip": args.round_trip,
        "to": args.to.strip().lstrip("+") if args.to else None,
        "question": args.question,
    }
    findings = []
    with contextlib.ExitStack() as stack_of_resources:
        try:
            if stack:
                doctor = bootstrap.stack_doctor(stack, **options)
            else:
                doctor = _local_doctor(args.home, stack_of_resources, options)
        except (LookupError, ValueError) as exc:
            print(f"cannot check: {exc}", file=sys.stderr)
            return 1
        print(f"checking {'stack ' + stack if stack else 'the local twin'}")
        for finding in doctor.findings():
            findings.append(finding)
            print(render_finding(finding), flush=True)
    print(summary(findings))
    return exit_code(findings)


def _local_doctor(home: Path | None, resources: contextlib.ExitStack, options: dict[str, Any]) -> Any:
    from assistant import bootstrap
    from assistant.local.doctor import local_doctor
    from assistant.local.runtime import LocalCloud, default_home

    home = home or default_home()
    library = bootstrap.content_library(stack=None, home=home)
    cloud = resources.enter_context(LocalCloud(home, log_stream=io.StringIO()))
    question = options.pop("question")
    return local_doctor(cloud, library, question=question or "Where is the opening keynote?", **options)


def run_allow_list(ids: list[str], home: Path | None, stack: str | None) -> int:
    from assistant import bootstrap

    # From standard input, the ids stay out of the shell's history.
    ids = [i.strip() for i in ids or sys.stdin.read().splitlines() if i.strip()]
    if not ids:
        print("give one or more wa_ids or business-scoped user ids", file=sys.stderr)
        return 2
    try:
        keys = bootstrap.allow_list(ids, stack=stack, home=home)
    except (LookupError, ValueError) as exc:
        print(f"cannot compute the allow list: {exc}", file=sys.stderr)
        return 1
    print(",".join(dict.fromkeys(keys)))
    return 0


def run_report(home: Path | None, stack: str | None, *, as_json: bool) -> int:
    from assistant import bootstrap

    try:
        figures = bootstrap.organizer_report(stack=stack, home=home)
    except (LookupError, ValueError) as exc:
        print(f"cannot read the figures: {exc}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(figures, indent=1, ensure_ascii=False))
        return 0
    print(f"{figures['questions']} questions, {figures['unique_users']} attendees")
    print("categories:")
    for category in figures["categories"]:
        print(f"  {category['count']:5}  {category['name']}")
    volumes = ", ".join(f"{k} {v}" for k, v in sorted(figures["volumes"].items())) or "-"
    print(f"by type: {volumes}")
    sources = ", ".join(f"{k} {v}" for k, v in sorted(figures["sources"].items())) or "-"
    print(f"answers: {sources}")
    latency = figures["latency"]
    if latency["p50"] is not None:
        print(f"answer time: p50 <= {latency['p50']:g} s, p95 <= {latency['p95']:g} s")
    feedback = figures["feedback"]
    positive, negative, other = feedback["positive"], feedback["negative"], feedback["other"]
    print(f"feedback: {positive} positive, {negative} negative, {other} other")
    for group in figures["unanswered"]:
        print(f"unanswered in {group['category']}:")
        for question in group["questions"][:10]:
            print(f"  - {question}")
    return 0


def run_serve(home: Path | None, host: str, port: int, now: str | None) -> int:
    from assistant.local.report import build_report
    from assistant.local.runtime import LocalCloud, default_home
    from assistant.local.web import serve

    with LocalCloud(home or default_home(), now=now) as cloud:
        serve(
            cloud,
            host=host,
            port=port,
            report=lambda: build_report(cloud),
            announce=lambda url: print(f"dashboard {url}/dashboard · chat {url}/chat", file=sys.stderr),
        )
    return 0
