"""Retrieval and answer quality of the local knowledge base on knowledge/eval (the README's figures).

python benchmarks/knowledge.py
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.local.engine import DEFAULT_THRESHOLD, KnowledgeBase, MiniLMEmbedder, load_document
from assistant.local.engine.evaluation import MODES, answer_scores, load_questions, retrieval_scores

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    started = time.perf_counter()
    embedder = MiniLMEmbedder()
    embedder.load()
    loaded = time.perf_counter()
    paths = sorted(p for p in (ROOT / "knowledge").iterdir() if p.is_file())
    knowledge = KnowledgeBase.build([load_document(p) for p in paths], embedder)
    built = time.perf_counter()
    questions = load_questions(ROOT / "knowledge" / "eval" / "questions.jsonl")
    kinds = {k: sum(1 for q in questions if q.kind == k) for k in ("direct", "paraphrase", "unanswerable")}
    print(f"corpus: {len(paths)} documents, {len(knowledge)} passages; questions: {len(questions)} {kinds}")
    print(f"model load {loaded - started:.2f} s, index build {built - loaded:.2f} s\n")
    print("retrieval (answerable questions; a hit is a passage of the document holding the answer)")
    print(f"{'mode':8}  hit@1  hit@3    MRR")
    for mode in MODES:
        r = retrieval_scores(knowledge, questions, mode)
        print(f"{mode:8}  {r.hit_at_1:.3f}  {r.hit_at_3:.3f}  {r.mrr:.3f}")
    t = time.perf_counter()
    a = answer_scores(knowledge, embedder, questions)
    per_question = (time.perf_counter() - t) / len(questions) * 1000
    print(f"\nlocal extractive engine at threshold {DEFAULT_THRESHOLD} ({per_question:.0f} ms a question)")
    print(f"  answer accuracy (every expected fact present): {a.correct}/{a.answerable} = {a.accuracy:.3f}")
    print(
        f'  "I don\'t know" precision: {a.dont_know_precision:.3f} '
        f"({a.dont_know_on_unanswerable} of {a.dont_know_on_unanswerable + a.dont_know_on_answerable} "
        "were unanswerable)"
    )
    print(
        f'  "I don\'t know" recall: {a.dont_know_recall:.3f} ({a.dont_know_on_unanswerable}/{a.unanswerable})'
    )
    for kind in ("direct", "paraphrase"):
        k = answer_scores(knowledge, embedder, [q for q in questions if q.kind == kind])
        print(f'  {kind}: {k.correct}/{k.answerable} right, {k.dont_know_on_answerable} said "I don\'t know"')


if __name__ == "__main__":
    main()
