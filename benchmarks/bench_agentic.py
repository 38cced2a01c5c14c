"""Compiled skill against the agentic baseline (Skill-RM's loop), side by side on one model.

On the dev halves of JudgeBench (OpenRS form) and LLMBar (all 7 sets), in one run on one loaded
model (the embedded judge unless ``--model``), with the LLM cache off:

(a) compiled: ``skills/pairwise_judge.skill`` -- one constrained choice read from the logits,
    asked in both orders, every pair of a chunk in one batched forward per wave;
(b) agentic: the same skill through ``skilldsl.eval.agentic.AgenticSkill`` -- the model reads the
    skill text and resource index and writes free-text commands (list / view / run / final) for at
    most ``--max-steps`` turns, one ``generate`` call per step for every pair still running.

Both go through ``skilldsl.eval``'s judge: the same pairs, each shown in the same seeded
orientation. Accuracy counts a pair with no verdict (na) or no preference (a tie) as 0.5, a coin
flip, for both runners; ``decided`` is the accuracy over the other pairs. Tokens are model tokens per pair, prompt + generated, as each
backend call counts them (the agentic loop re-reads its transcript every step).

    python benchmarks/bench_agentic.py [--limit N] [--data ../shared/bench] [--model SPEC]

``--limit N`` keeps N pairs of each dev half, taken round-robin over its subsets in file order
(deterministic; the output says so). Writes ``benchmarks/results/agentic.json``, prints the table.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from itertools import zip_longest
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SKILL = ROOT / "skills" / "pairwise_judge.skill"
# LLMBar first: its pairs are shorter, so a run cut short has at least that one
BENCHMARKS = (("LLMBar", "llmbar"), ("JudgeBench", "judgebench/openrs_judgebench_claude.jsonl"))


def load(data: Path, limit: "int | None"):
    """Each benchmark's dev half, or its first ``limit`` pairs taken round-robin over subsets."""
    from skilldsl.eval import read_dataset

    out = []
    for label, path in BENCHMARKS:
        dataset = read_dataset(data / path, split="dev")
        if limit is not None:
            dataset.items = round_robin(dataset.items, limit)
        out.append((label, dataset))
    return out


def round_robin(items: list, n: int) -> list:
    """The first ``n`` items taking one of each subset in turn (subsets in order of appearance)."""
    subsets: dict = {}
    for item in items:
        subsets.setdefault(item.subset, []).append(item)
    mixed = [it for group in zip_longest(*subsets.values()) for it in group if it is not None]
    return mixed[:n]


def measure(scorer, dataset, chunk: int) -> tuple:
    """The judge's records of ``scorer`` on ``dataset`` and the wall time they took."""
    from skilldsl.eval.judge import Judge, JudgeOptions
    from skilldsl.eval.runner import run_items

    start = time.perf_counter()
    records, _ = run_items(Judge(scorer, JudgeOptions(seed=0)), dataset, chunk=chunk, progress=False)
    seconds = time.perf_counter() - start
    print(f"  {getattr(scorer, 'name', '?')}: {len(records)} pairs in {seconds:.1f} s", file=sys.stderr, flush=True)
    return records, seconds


def summary(records: list, seconds: float, extra: dict) -> dict:
    """Accuracy (na = 0.5), decided accuracy, tokens per pair, pairs/s, errors."""
    from skilldsl.eval import metrics

    n = len(records)
    credit = [0.5 if _undecided(r) else r["value"] for r in records if r["status"] != "error"]
    decided = [r["value"] for r in records if not _undecided(r) and r["status"] == "ok"]
    tokens_in = sum(r["tokens_in"] for r in records)
    tokens_out = sum(r["tokens_out"] for r in records)
    return {"pairs": n, "accuracy": _round(metrics.accuracy(credit)), "decided": _round(metrics.accuracy(decided)),
            "no_verdict": sum(r["status"] == "na" for r in records), "errors": sum(r["status"] == "error" for r in records),
            "error_reasons": sorted({r["reason"] for r in records if r["status"] == "error"})[:3],
            "tokens_per_pair": round((tokens_in + tokens_out) / n, 1), "tokens_in_per_pair": round(tokens_in / n, 1),
            "tokens_out_per_pair": round(tokens_out / n, 1), "seconds": round(seconds, 1),
            "pairs_per_s": round(n / seconds, 4), **extra}


def _undecided(record: dict) -> bool:
    """No verdict (na) or no preference (a tie, reward exactly 0.5): a coin flip's 0.5 credit."""
    return record["status"] == "na" or (record["status"] == "ok" and record.get("pred") is None)


def _round(acc: dict) -> dict:
    return {"value": None if acc["accuracy"] is None else round(acc["accuracy"], 4), "n": acc["n"],
            "ci": [round(x, 3) for x in acc["ci"]] if acc["ci"] else None}


def run_benchmark(skill, agent, dataset, chunk: int) -> dict:
    """The compiled skill, then the agent, on one data set; their records paired."""
    from skilldsl.eval import metrics

    calls_before = len(skill.stats["calls"])
    compiled, compiled_s = measure(skill, dataset, chunk)
    choice_calls = sum(1 for kind, _, _ in skill.stats["calls"][calls_before:] if kind in ("choice", "generate"))
    agent.stats.update(generate_calls=0, run_batches=0, steps=0, unreadable_turns=0)
    agentic, agentic_s = measure(agent, dataset, chunk)
    n = len(dataset.items)
    out = {"unreadable_rows": len(dataset.skipped), "compiled": summary(compiled, compiled_s, {"model_calls": choice_calls, "unreadable_turns": 0,
                                                      "steps_per_pair": None}),
           "agentic": summary(agentic, agentic_s, {"model_calls": agent.stats["generate_calls"],
                                                   "unreadable_turns": agent.stats["unreadable_turns"],
                                                   "steps_per_pair": round(agent.stats["steps"] / n, 2)})}
    out["paired"] = metrics.paired_difference(compiled, agentic)
    out["token_ratio"] = round(out["agentic"]["tokens_per_pair"] / max(out["compiled"]["tokens_per_pair"], 1e-9), 1)
    return out


def table(report: dict) -> str:
    """Markdown: one row per runner per benchmark."""
    lines = ["| dev half | runner | pairs | accuracy [95% CI] | decided | model tokens / pair | pairs/s "
             "| no verdict | unreadable turns | steps / pair |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, result in report["benchmarks"].items():
        for runner in ("compiled", "agentic"):
            r = result[runner]
            acc, dec = r["accuracy"], r["decided"]
            ci = f" [{acc['ci'][0]:.2f}, {acc['ci'][1]:.2f}]" if acc["ci"] else ""
            name = "`pairwise_judge` compiled" if runner == "compiled" else "agentic (same skill, same model)"
            steps = "–" if r["steps_per_pair"] is None else f"{r['steps_per_pair']:.2f}"
            lines.append(f"| {label if runner == 'compiled' else ''} | {name} | {r['pairs']} | {_fmt(acc['value'])}{ci} "
                         f"| {_fmt(dec['value'])} ({dec['n']}) | {r['tokens_per_pair']:,.0f} | {r['pairs_per_s']:.3f} "
                         f"| {r['no_verdict']} | {r['unreadable_turns']} | {steps} |")
    return "\n".join(lines) + "\n"


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.3f}"


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "bench"), help="the bench folder")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="N pairs per benchmark (round-robin over subsets)")
    p.add_argument("--model", default=None, help="model spec (default: the embedded judge)")
    p.add_argument("--dtype", default=None)
    p.add_argument("--backend", default="transformers", help="a registered backend name (fake: no model)")
    p.add_argument("--max-steps", type=int, default=8)
    p.add_argument("--step-tokens", type=int, default=48, help="tokens the agent may write per step")
    p.add_argument("--chunk", type=int, default=32, help="pairs per scorer call (one wave of each)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "agentic.json"))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    import skilldsl
    from skilldsl.eval.agentic import AgenticSkill

    benchmarks = load(Path(args.data), args.limit)
    skill = skilldsl.load(str(SKILL), backend=args.backend, model=args.model, dtype=args.dtype, cache=False,
                          batch_size=args.chunk)
    agent = AgenticSkill(skill, max_steps=args.max_steps, step_tokens=args.step_tokens)
    warm = {"prompt": "Say hi.", "a": "Hi!", "b": "No."}
    skill.score([warm, warm])  # loads the model before any timing
    AgenticSkill(skill, max_steps=1).score([warm])
    report = {"machine": platform.platform(), "model": getattr(skill.backend("default"), "name", args.backend),
              "command": " ".join(["python benchmarks/bench_agentic.py", *(argv if argv is not None else sys.argv[1:])]),
              "subset": (f"first {args.limit} dev pairs of each benchmark, round-robin over its subsets"
                         if args.limit else "the whole dev half of each benchmark"),
              "skill": skill.reward_id, "agentic": agent.reward_id, "max_steps": args.max_steps,
              "step_tokens": args.step_tokens, "benchmarks": {}}
    for label, dataset in benchmarks:
        print(f"{label}: {len(dataset.items)} dev pairs", file=sys.stderr, flush=True)
        report["benchmarks"][label] = run_benchmark(skill, agent, dataset, args.chunk)
        report["table"] = table(report)
        save_report(report, args.out)  # after each benchmark: a run cut short keeps what it measured
    text = table(report)
    report["table"] = text
    print(f"{report['subset']}; model {report['model']}\n{text}")
    save_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
