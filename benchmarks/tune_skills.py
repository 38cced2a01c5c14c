"""Tune the stock judge design on the dev half of the reward benchmarks, and only there.

    python benchmarks/tune_skills.py [--data ../shared/bench] [--work DIR] [--only KEY]

Every candidate under `benchmarks/tuning/` runs through the real `skilldsl eval` CLI with
`--split dev` (never the held-out `test` half the README reports) on LLMBar (7 subsets),
PandaLM and JudgeBench, capped so one candidate takes about 5 minutes on 2 quiet CPU cores
(20 or more when shared). The design with the best mean dev accuracy wins; PandaLM's
`--tie-margin` is then chosen on the winner's per-item probabilities from the same run (no
model call per margin). Per-item checkpoints go to `--work` and are resumed, so an
interrupted tuning continues. Writes `benchmarks/results/tuning.json` and `tuning.md`.
"""
from __future__ import annotations

import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import ROOT, bench_parser, cell, cost_cell, run_cli, write_results  # noqa: E402

TUNING = ROOT / "benchmarks" / "tuning"

# (key, label, path under the bench folder, cap flags): dev items only, capped for time
SETS = [
    ("llmbar", "LLMBar (7 sets)", "llmbar", ("--per-subset", "20")),
    ("pandalm", "PandaLM (human majority, ties)", "pandalm/testset-v1.json", ("--limit", "150")),
    ("judgebench", "JudgeBench (OpenRS form)", "judgebench/openrs_judgebench_claude.jsonl", ("--per-subset", "10")),
]

# (key, skill file under benchmarks/tuning/, what it is)
CANDIDATES = [
    ("a", "a_pairwise_rubric.skill", "pairwise, both orders (swap), rubric: the stock design before tuning"),
    ("b", "b_each_alone.skill", "each response alone, yes/no; 0.5 + (P_a(yes) - P_b(yes)) / 2"),
    ("c", "c_each_alone_rubric.skill", "(b) with the rubric in each prompt"),
    ("d", "d_pairwise_plain.skill", "(a) without the rubric"),
    ("e", "e_both.skill", "mean of (a) and (b)"),
]

MARGIN_STEP = 0.005  # the tie-margin grid: 0, 0.005, ... 0.5


def main(argv=None) -> int:
    args = _parse(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    runs = {}
    for set_key, _, path, caps in SETS:  # sets outermost: a cut-short tuning still compares every candidate
        if args.sets and set_key not in args.sets.split(","):
            continue
        for key, skill, _ in CANDIDATES:
            if not args.only or key in args.only:
                runs[key, set_key] = _run(skill, Path(args.data) / path, caps, work / f"{key}-{set_key}.jsonl", args)
    if args.sets:
        return 0
    doc = decide(runs, work)
    doc.update(machine=platform.platform(), python=sys.version.split()[0],
               command="python benchmarks/tune_skills.py", split="dev", note=args.note)
    write_results("tuning", doc, render(doc))
    return 0


def _parse(argv):
    p = bench_parser(__doc__)
    p.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "skilldsl-tuning"),
                   help="per-item checkpoints (resumed when present)")
    p.add_argument("--only", default="", metavar="KEYS", help="run only these candidates (e.g. ab)")
    p.add_argument("--note", default="", help="a remark kept in the results (e.g. how the caps were chosen)")
    p.add_argument("--sets", default="", metavar="NAMES",
                   help="only run these sets (e.g. judgebench), in parallel with another run, and write no "
                        "results; a final run without --sets resumes every checkpoint and decides")
    return p.parse_args(argv)


def _run(skill: str, data: Path, caps: tuple, checkpoint: Path, args) -> dict:
    cmd = [sys.executable, "-m", "skilldsl", "eval", str(TUNING / skill), str(data), "--split", "dev", *caps,
           "--no-cache", "--no-progress", "--checkpoint", str(checkpoint)]
    run = run_cli(cmd + (["--resume"] if checkpoint.exists() else []), args.data)
    return dict(run, command=run["command"].replace(" --resume", ""))


def decide(runs: dict, work: Path) -> dict:
    """The per-candidate table, the winner by mean dev accuracy, and its PandaLM tie margin."""
    table = []
    for key, skill, about in CANDIDATES:
        sets = {s: _brief(runs[key, s]) for s, *_ in SETS if (key, s) in runs}
        if len(sets) == len(SETS):
            mean = sum(r["accuracy"] for r in sets.values()) / len(sets)
            table.append({"key": key, "skill": skill, "about": about, "sets": sets, "mean_accuracy": mean})
    ranked = sorted(table, key=lambda row: -row["mean_accuracy"])
    winner = ranked[0]
    out = {"candidates": table, "winner": winner["key"], "ranking": [row["key"] for row in ranked],
           "not_run": [key for key, *_ in CANDIDATES if key not in {row["key"] for row in table}],
           "paired_vs_a": {row["key"]: _paired_vs_a(row["key"], work) for row in table if row["key"] != "a"}}
    out["tie_margin"] = tie_margin(_records(work / f"{winner['key']}-pandalm.jsonl"))
    return out


def _brief(run: dict) -> dict:
    s = run["summary"]
    return {"accuracy": s["accuracy"], "ci": s["ci"], "n": s["n"], "errors": s["errors"], "na": s["na"],
            "per_item": s["cost"]["per_item"], "subsets": {k: v["accuracy"] for k, v in s["subsets"].items()},
            "command": run["command"], "reward_id": s["reward_id"]}


def _records(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()[1:] if line.strip()]


def _paired_vs_a(key: str, work: Path) -> dict:
    """Exact McNemar of candidate ``key`` against (a), the design before tuning, per set (dev items)."""
    from skilldsl.eval.metrics import paired_difference

    return {s: paired_difference(_records(work / f"{key}-{s}.jsonl"), _records(work / f"a-{s}.jsonl"))
            for s, *_ in SETS}


def tie_margin(records: list) -> dict:
    """The smallest margin with the best accuracy on these PandaLM records (label None = a human
    tie): |P(first better) - 0.5| <= margin predicts a tie. A grid over the run's own ``p_first``."""
    rows = [(r["p_first"], r["label"]) for r in records if r["status"] == "ok"]
    grid = [round(k * MARGIN_STEP, 3) for k in range(int(0.5 / MARGIN_STEP) + 1)]
    curve = [(m, sum(_predict(p, m) == label for p, label in rows) / len(rows)) for m in grid]
    best = max(acc for _, acc in curve)
    chosen = next(m for m, acc in curve if acc == best)
    return {"chosen": chosen, "accuracy": best, "accuracy_at_0": curve[0][1], "n": len(rows),
            "ties": sum(label is None for _, label in rows),
            "curve": [[m, acc] for m, acc in curve if m <= 0.2]}


def _predict(p: float, margin: float) -> "int | None":
    # the rule of skilldsl.eval.judge.Judge._verdict
    return 0 if p > 0.5 + margin else (1 if p < 0.5 - margin else None)


def render(doc: dict) -> str:
    """tuning.md: the dev table, the winner and why, the tie margin, the commands."""
    names = {key: label for key, label, *_ in SETS}
    lines = ["# Judge design tuning (dev split only)", "",
             "| candidate | design | " + " | ".join(names.values()) + " | mean |",
             "|---|---|" + "---|" * len(names) + "---|"]
    for row in doc["candidates"]:
        cells = [f"{cell(r['accuracy'], r['ci'])}, n = {r['n']}, {cost_cell({'per_item': r['per_item']})}"
                 for r in row["sets"].values()]
        lines.append(f"| ({row['key']}) `{row['skill']}` | {row['about']} | " + " | ".join(cells)
                     + f" | {row['mean_accuracy']:.3f} |")
    lines += ["", f"Winner: ({doc['winner']}), the best mean dev accuracy; ranking "
                  + " > ".join(f"({k})" for k in doc["ranking"]) + "."]
    if doc["not_run"]:
        lines.append("Not run this time: " + ", ".join(f"({k})" for k in doc["not_run"]) + ".")
    lines.append(("The design before tuning stays." if doc["winner"] == "a" else "It replaces (a).")
                 + " Paired against (a) on the same dev items (exact McNemar):")
    for key, sets in doc["paired_vs_a"].items():
        lines.append(f"- ({key}): " + "; ".join(f"{names[s]} Δ {d['difference']:+.3f}, p = {d['p_value']:.2g}"
                                               for s, d in sets.items()))
    lines += [f"\n{doc['note']}"] if doc.get("note") else []
    m = doc["tie_margin"]
    lines += ["", f"PandaLM tie margin: {m['chosen']} (dev accuracy {m['accuracy']:.3f} vs {m['accuracy_at_0']:.3f} "
                  f"at 0; {m['ties']} human ties in {m['n']} items; grid step {MARGIN_STEP})", "", "Commands:", ""]
    lines += [f"    {r['command']}" for row in doc["candidates"] for r in row["sets"].values()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
