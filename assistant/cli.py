"""The ``assistant`` command: the local runtime of the Lambda code.

assistant replay EVENTS.jsonl [--out OUT.jsonl] [--home DIR]
assistant kb add PATH... [--home DIR]
assistant kb ask "QUESTION" [--home DIR]
assistant chat [--from NUMBER] [--home DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import IO

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
    kb = commands.add_parser("kb", help="the local knowledge base").add_subparsers(
        dest="kb_command", required=True
    )
    kb_add = kb.add_parser(
        "add", help="add documents (Markdown, text, HTML, PDF); one added again is replaced"
    )
    kb_add.add_argument("paths", type=Path, nargs="+", help="files or directories")
    kb_add.add_argument("--home", type=Path, help=HOME_HELP)
    kb_ask = kb.add_parser("ask", help="ask the knowledge base; prints the answer and its sources")
    kb_ask.add_argument("question")
    kb_ask.add_argument("--home", type=Path, help=HOME_HELP)
    chat = commands.add_parser("chat", help="chat as an attendee through the full local pipeline")
    chat.add_argument("--from", dest="sender", default="15550100100", help="the attendee's WhatsApp number")
    chat.add_argument("--home", type=Path, help=HOME_HELP)
    args = parser.parse_args(argv)
    if args.command == "replay":
        return run_replay(args.events, args.out, args.home)
    if args.command == "kb" and args.kb_command == "add":
        return run_kb_add(args.paths, args.home)
    if args.command == "kb":
        return run_kb_ask(args.question, args.home)
    return run_chat(args.sender, args.home)


def run_replay(events: Path, out: Path | None, home: Path | None) -> int:
    from assistant.local.runtime import LocalCloud, default_home

    home = home or default_home()
    source: IO[str] = sys.stdin if str(events) == "-" else events.open(encoding="utf-8")
    sink: IO[str] = out.open("w", encoding="utf-8") if out else sys.stdout
    outcome: Counter[str] = Counter()
    try:
        with LocalCloud(home) as cloud:
            for number, line in enumerate(source, start=1):
                if not line.strip():
                    continue
                try:
                    envelope = json.loads(line)
                except ValueError:
                    outcome["lines not JSON (skipped)"] += 1
                    print(f"line {number}: not JSON, skipped", file=sys.stderr)
                    continue
                if not isinstance(envelope, dict):
                    outcome["lines not a JSON object (skipped)"] += 1
                    print(f"line {number}: not a JSON object, skipped", file=sys.stderr)
                    continue
                before = len(cloud.social.calls)
                cloud.publish_inbound(json.dumps(envelope))
                cloud.drain()
                outcome["envelopes"] += 1
                for call in cloud.social.calls[before:]:
                    sink.write(json.dumps(call, ensure_ascii=False) + "\n")
                    outcome[_describe(call["message"])] += 1
                sink.flush()
            dead = cloud.dead_letters()
            summary = cloud.summary
            metrics = cloud.metrics
    finally:
        if source is not sys.stdin:
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


def _describe(message: dict[str, object]) -> str:
    if message.get("status") == "read":
        return "read receipts with typing indicator" if "typing_indicator" in message else "read receipts"
    return f"{message.get('type', 'unknown')} messages sent"


def run_kb_add(paths: list[Path], home: Path | None) -> int:
    from assistant.local import knowledge_home
    from assistant.local.runtime import default_home, shared_embedder

    home = home or default_home()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in knowledge_home.SUPPORTED)
        elif path.is_file():
            files.append(path)
        else:
            print(f"no such file: {path}", file=sys.stderr)
            return 1
    knowledge_base = knowledge_home.open_knowledge_base(home, shared_embedder(), seed=False)
    try:
        added = knowledge_home.add_documents(knowledge_base, files)
    except ValueError as exc:
        print(f"cannot add: {exc}", file=sys.stderr)
        return 1
    knowledge_base.save(knowledge_home.knowledge_dir(home))
    for doc_id in added:
        count = sum(1 for p in knowledge_base.passages if p.doc_id == doc_id)
        print(f"added {doc_id}: {count} passages")
    print(
        f"knowledge base {knowledge_home.knowledge_dir(home)}: "
        f"{len(knowledge_base.documents())} documents, {len(knowledge_base)} passages"
    )
    return 0


def run_kb_ask(question: str, home: Path | None) -> int:
    from assistant.local.runtime import LocalCloud, default_home
    from assistant.services.formatting import to_whatsapp, with_sources

    with LocalCloud(home or default_home(), log_stream=io.StringIO()) as cloud:
        answer = cloud.ask(question)
    print(with_sources(to_whatsapp(answer.text), [(s.title, s.uri) for s in answer.sources], limit=5))
    print(f"[answer source: {answer.source}]", file=sys.stderr)
    return 0


def run_chat(sender: str, home: Path | None) -> int:
    from assistant.local.envelopes import text_envelope
    from assistant.local.runtime import LocalCloud, default_home

    interactive = sys.stdin.isatty()
    print("Chatting as an attendee through the local pipeline. Empty line or Ctrl-D quits.", file=sys.stderr)
    with LocalCloud(home or default_home()) as cloud:
        while True:
            if interactive:
                print("you> ", end="", flush=True)
            line = sys.stdin.readline()
            if not line.strip():
                break
            before = len(cloud.social.calls)
            cloud.publish_inbound(json.dumps(text_envelope(line.strip(), sender=sender)))
            cloud.drain()
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
