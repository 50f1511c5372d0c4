"""The ``assistant`` command: the local runtime of the Lambda code.

assistant replay EVENTS.jsonl [--out OUT.jsonl] [--home DIR] [--media DIR]
assistant kb add PATH... [--home DIR]
assistant kb ask "QUESTION" [--home DIR]
assistant chat [--from NUMBER] [--home DIR]   (a line "/voice path/to/note.ogg" sends a voice note)
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
    kb_add = kb.add_parser(
        "add",
        help="add documents (Markdown, text, HTML, PDF) and agenda files (JSON, CSV, iCalendar); "
        "one added again is replaced",
    )
    kb_add.add_argument("paths", type=Path, nargs="+", help="files or directories")
    kb_add.add_argument("--home", type=Path, help=HOME_HELP)
    kb_add.add_argument(
        "--timezone", help="the event's time zone for the agenda's times (default: the template's)"
    )
    kb_ask = kb.add_parser("ask", help="ask the knowledge base; prints the answer and its sources")
    kb_ask.add_argument("question")
    kb_ask.add_argument("--home", type=Path, help=HOME_HELP)
    kb_ask.add_argument("--now", type=_moment, help=NOW_HELP)
    chat = commands.add_parser("chat", help="chat as an attendee through the full local pipeline")
    chat.add_argument("--from", dest="sender", default="15550100100", help="the attendee's WhatsApp number")
    chat.add_argument("--home", type=Path, help=HOME_HELP)
    chat.add_argument("--now", type=_moment, help=NOW_HELP)
    args = parser.parse_args(argv)
    if args.command == "replay":
        return run_replay(args.events, args.out, args.home, args.media)
    if args.command == "kb" and args.kb_command == "add":
        return run_kb_add(args.paths, args.home, args.timezone)
    if args.command == "kb":
        return run_kb_ask(args.question, args.home, args.now)
    return run_chat(args.sender, args.home, args.now)


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
        sink.write(json.dumps(call, ensure_ascii=False) + "\n")
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


def run_kb_add(paths: list[Path], home: Path | None, timezone: str | None = None) -> int:
    from assistant.agenda import AgendaError
    from assistant.local import knowledge_home
    from assistant.local.runtime import default_home, shared_embedder
    from assistant.local.template import load_template

    home = home or default_home()
    if timezone is None:
        parameters = load_template().get("Parameters") or {}
        timezone = str((parameters.get("EventTimezone") or {}).get("Default") or "UTC")
    readable = knowledge_home.SUPPORTED + knowledge_home.AGENDA_FILES
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in readable)
        elif path.is_file() and path.suffix.lower() not in readable:
            print(
                f"cannot add {path.name}: not a document or agenda file ({', '.join(readable)})",
                file=sys.stderr,
            )
            return 1
        elif path.is_file():
            files.append(path)
        else:
            print(f"no such file: {path}", file=sys.stderr)
            return 1
    knowledge_base = knowledge_home.open_knowledge_base(home, shared_embedder(), seed=False)
    try:
        added = knowledge_home.add_documents(knowledge_base, files, timezone)
    except ValueError as exc:
        print(f"cannot add: {exc}", file=sys.stderr)
        return 1
    try:
        skipped: list[str] = []
        sessions = knowledge_home.add_to_schedule(home, files, timezone, skipped)
    except (AgendaError, ValueError) as exc:
        print(f"cannot read the agenda: {exc}", file=sys.stderr)
        return 1
    knowledge_base.save(knowledge_home.knowledge_dir(home))
    for doc_id in added:
        count = sum(1 for p in knowledge_base.passages if p.doc_id == doc_id)
        print(f"added {doc_id}: {count} passages")
    if sessions:
        print(f"schedule {knowledge_home.schedule_path(home)}: {sessions} sessions added ({timezone})")
    for name in skipped:
        print(f"{name}: added as a document; its timed headings do not read as an agenda", file=sys.stderr)
    print(
        f"knowledge base {knowledge_home.knowledge_dir(home)}: "
        f"{len(knowledge_base.documents())} documents, {len(knowledge_base)} passages"
    )
    return 0


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
