"""LLMBar Natural pairs: the skilldsl runtime against the obvious baseline.

(a) runtime: ``skilldsl.load("skills/pairwise_judge.skill").score(pairs)`` -- one batched
    forward per wave, the verdict read from the logits of "A"/"B", asked in both orders.
(b) baseline: the same rendered prompt, one free-text ``generate`` per pair (greedy, up to
    ``--max-tokens`` tokens), the verdict parsed from the text by regex.

Both run on one loaded model (the embedded judge unless ``--model``), with the LLM cache off.

    python benchmarks/bench_llmbar.py [--limit 100] [--data ../shared/bench] [--model SPEC]

Prints pairs/s, model tokens, parse failures and accuracy; writes ``benchmarks/results/llmbar.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SKILL = ROOT / "skills" / "pairwise_judge.skill"
VERDICT = re.compile(r"\b(?:Response|Output|answer(?: is)?)?\s*\(?\b([AB])\b\)?")


def load_pairs(data: Path, limit: int) -> list[dict]:
    """LLMBar Natural as skill samples, through the eval reader; ``label`` 1 means output_1
    (``a``) is better, 2 output_2 (the file's own labels)."""
    from skilldsl.eval import read_dataset

    items = read_dataset(data / "llmbar" / "Natural.json", "llmbar", limit=limit).items
    return [{"prompt": it.inputs["prompt"], "a": it.candidates[0], "b": it.candidates[1], "label": it.label + 1}
            for it in items]


def render_messages(program_doc: dict, sample: dict) -> tuple:
    """The judge prompt exactly as the skill writes it (first order: a as A), rendered by the runtime."""
    from skilldsl.runtime.render import render_messages as render

    files = {name: f["text"] for name, f in program_doc.get("files", {}).items()}
    ctx = {**{k: v for k, v in sample.items() if k != "label"}, "files": files}
    return render(program_doc["evidence"]["judge"]["prompt"], ctx)


def parse_verdict(text: str) -> str | None:
    """The first standalone A or B in the generated text, or None (a parse failure)."""
    m = VERDICT.search(text)
    return m.group(1) if m else None


def run_baseline(backend, doc: dict, pairs: list[dict], max_tokens: int) -> dict:
    """One free-text generate call per pair, verdict by regex."""
    from skilldsl.runtime.backends.base import GenerateRequest

    correct = failures = tokens = 0
    samples = []
    start = time.perf_counter()
    for pair in pairs:
        req = GenerateRequest(render_messages(doc, pair), {"type": "text", "max_tokens": max_tokens}, max_tokens)
        [gen] = backend.generate([req])
        tokens += gen.tokens_in + gen.tokens_out
        verdict = parse_verdict(gen.text)
        failures += verdict is None
        correct += verdict == ("A" if pair["label"] == 1 else "B")
        if len(samples) < 3:
            samples.append(gen.text[:120])
    secs = time.perf_counter() - start
    return _summary(len(pairs), secs, tokens, failures, correct, samples=samples)


def run_runtime(backend, pairs: list[dict]) -> dict:
    """The compiled skill over all pairs (one wave), reward = P(a better than b)."""
    import skilldsl

    skill = skilldsl.load(str(SKILL), backend=backend, cache=False, batch_size=max(1, len(pairs)))
    inputs = [{k: v for k, v in p.items() if k != "label"} for p in pairs]
    reused_before = backend.reused_tokens
    start = time.perf_counter()
    results = skill.score(inputs)
    secs = time.perf_counter() - start
    tokens = sum(r.tokens_in + r.tokens_out for r in results)
    failures = sum(r.status != "ok" for r in results)
    correct = sum(_credit(r.reward, p["label"]) for r, p in zip(results, pairs) if r.status == "ok")
    return _summary(len(pairs), secs, tokens, failures, correct, reward_id=skill.reward_id,
                    prefix_tokens_reused=backend.reused_tokens - reused_before,
                    reasons=sorted({r.reason for r in results if r.status != "ok"})[:3])


def _credit(reward: float, label: int) -> float:
    """1 for the right side, 0.5 for an exact tie, 0 otherwise."""
    if reward == 0.5:
        return 0.5
    return float((reward > 0.5) == (label == 1))


def _summary(n, secs, tokens, failures, correct, **extra) -> dict:
    return {"pairs": n, "seconds": round(secs, 2), "pairs_per_s": round(n / secs, 3), "model_tokens": tokens,
            "parse_failures": failures, "accuracy": round(correct / n, 3), **extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "bench"))
    ap.add_argument("--model", default=None, help="model spec (default: the embedded judge)")
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--max-tokens", type=int, default=32, help="baseline generation length")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--compare-prefix-reuse", action="store_true",
                    help="also time the runtime without shared-prefix KV reuse (on by default)")
    ap.add_argument("--skip-runtime", action="store_true")
    ap.add_argument("--token-budget", type=int, default=None, metavar="N",
                    help="padded tokens per micro-batch (default: the backend's, batch_size x 512)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "llmbar.json"))
    args = ap.parse_args(argv)

    import skilldsl
    from skilldsl.runtime.backends.hf import TransformersBackend

    pairs = load_pairs(Path(args.data), args.limit)
    backend = TransformersBackend(args.model, dtype=args.dtype)
    backend.model  # load before timing
    if args.token_budget:
        backend.token_budget = args.token_budget
    doc = skilldsl.compile(SKILL).doc
    report = {"machine": platform.platform(), "model": backend.name, "pairs": len(pairs), "token_budget": backend.token_budget}
    if not args.skip_runtime:
        run_runtime(backend, pairs[:2])  # warm-up
        report["runtime"] = run_runtime(backend, pairs)  # the default: shared-prefix KV reuse on
        print("runtime :", json.dumps(report["runtime"]), flush=True)
        if args.compare_prefix_reuse:
            backend.prefix_reuse = False  # every prompt computed in full, to see what reuse saves
            report["runtime_no_prefix_reuse"] = run_runtime(backend, pairs)
            backend.prefix_reuse = True
            print("runtime (no prefix reuse):", json.dumps(report["runtime_no_prefix_reuse"]), flush=True)
    if not args.skip_baseline:
        report["baseline"] = run_baseline(backend, doc, pairs, args.max_tokens)
        print("baseline:", json.dumps(report["baseline"]), flush=True)
    if "runtime" in report and "baseline" in report:
        base = report["baseline"]["pairs_per_s"]
        report["speedup"] = round(report["runtime"]["pairs_per_s"] / base, 2)
        print("speedup (pairs/s, runtime / baseline):", report["speedup"])
    save_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
