"""The ``assistant`` command: the local runtime of the Lambda code.

assistant replay EVENTS.jsonl [--out OUT.jsonl] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import IO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="assistant", description=__doc__.splitlines()[0] if __doc__ else None
    )
    commands = parser.add_subparsers(dest="command", required=True)
    replay = commands.add_parser(
        "replay",
        help="run End User Messaging Social envelopes (one JSON object a line) through the local pipeline",
    )
    replay.add_argument("events", type=Path, help="JSONL file of envelopes, or - for standard input")
    replay.add_argument("--out", type=Path, help="write the socialmessaging calls here (default: stdout)")
    replay.add_argument(
        "--home", type=Path, help="local state directory (default: $ASSISTANT_HOME or .assistant)"
    )
    args = parser.parse_args(argv)
    if args.command == "replay":
        return run_replay(args.events, args.out, args.home)
    return 2


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


if __name__ == "__main__":
    raise SystemExit(main())
