"""The README's reward-benchmark table: judge-only against evidence + judge on every
development set, with each set's shipped baselines, through the real `skilldsl eval` CLI.

    python benchmarks/bench_eval.py [--data ../shared/bench] [--scale 1.0]

Every row is one `skilldsl eval` command (printed, and kept in the JSON) on the held-out
`--split test` half of its set (the stock judge design and PandaLM's tie margin were chosen on
`--split dev` only, by `benchmarks/tune_skills.py`), run with `--no-cache` so each skill pays
for its own model calls. `--scale` multiplies the item caps (the defaults keep the whole table
near 15 minutes on 2 CPU cores). Writes
`benchmarks/results/eval.json` and the Markdown table `benchmarks/results/eval.md`.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

SPLIT = "test"  # held out: tune_skills.py chose the judge design and TIE_MARGIN on "dev"
TIE_MARGIN = "0.0"  # PandaLM's --tie-margin, chosen on dev by tune_skills.py (every margin > 0 lost accuracy)

# (data set label, path under the bench folder, skill, baseline skill, cap flags, extra flags)
RUNS = [
    ("LLMBar (7 sets)", "llmbar", "reward_judge", "pairwise_judge", ("--per-subset", 30), ()),
    ("PandaLM (human majority, ties)", "pandalm/testset-v1.json", "reward_judge", "pairwise_judge",
     ("--limit", 150), ("--tie-margin", TIE_MARGIN)),
    ("JudgeBench (OpenRS form)", "judgebench/openrs_judgebench_claude.jsonl", "reward_judge",
     "pairwise_judge", ("--per-subset", 20), ()),
    ("GSM8K best-of-4, reference given", "gsm8k", "math_answer", None, ("--limit", 100), ()),
    ("GSM8K best-of-4, reference withheld (judge)", "gsm8k", "math_answer", None, ("--limit", 100),
     ("--withhold", "reference")),
    ("GSM8K best-of-4, reference withheld (consensus + judge)", "gsm8k", "best_of_n", None, ("--limit", 100),
     ("--withhold", "reference")),
]


def main(argv=None) -> int:
    args = _parse(argv)
    rows = [_run_one(run, args) if args.only in run[0] else _previous(run[0]) for run in RUNS]
    doc = {"machine": platform.platform(), "python": sys.version.split()[0], "model": "default (SmolLM2-135M-Instruct Q4_1)",
           "command": "python benchmarks/bench_eval.py" + (f" --scale {args.scale}" if args.scale != 1 else ""),
           "rows": rows}
    write_results("eval", doc, render_table(rows))
    return 0


def write_results(name: str, doc: dict, text: str) -> None:
    """``benchmarks/results/NAME.json`` (the figures) and ``NAME.md`` (their table); print the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(text)
    print(text)


def bench_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of ``doc``, with ``--data`` (the bench folder)."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "bench"), help="the bench folder")
    return p


def _parse(argv):
    p = bench_parser(__doc__)
    p.add_argument("--scale", type=float, default=1.0, help="multiply every item cap by this")
    p.add_argument("--only", default="", metavar="TEXT",
                   help="rerun only the rows whose data-set label contains TEXT; keep the others from eval.json")
    return p.parse_args(argv)


def _previous(label: str) -> dict:
    rows = json.loads((RESULTS / "eval.json").read_text())["rows"]
    return next(row for row in rows if row["data"] == label)


def _command(run, args) -> list[str]:
    label, path, skill, baseline, (cap_flag, cap), extra = run
    cmd = [sys.executable, "-m", "skilldsl", "eval", skill, str(Path(args.data) / path),
           "--split", SPLIT, cap_flag, str(max(1, round(cap * args.scale))), "--no-cache", "--no-progress", *extra]
    return cmd + (["--baseline", baseline] if baseline else [])


def shown_command(cmd: list, data: str) -> str:
    """``cmd`` as a reader would type it: ``skilldsl ...`` with the bench folder as ``../shared/bench``."""
    return " ".join(["skilldsl", *cmd[3:]]).replace(str(Path(data)), "../shared/bench").replace(f"{ROOT}/", "")


def _run_one(run, args) -> dict:
    return {"data": run[0], **run_cli(_command(run, args), args.data)}


def run_cli(cmd: list, data: str) -> dict:
    """Run one ``skilldsl eval`` command; its shown form, wall time and JSON summary (exit on failure)."""
    shown = shown_command(cmd, data)
    print(f"$ {shown}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shown}\n{proc.stderr[-2000:]}")
    return {"command": shown, "wall_seconds": round(time.perf_counter() - start, 1), "summary": json.loads(proc.stdout)}


def cell(acc, ci) -> str:
    """``0.424 [0.36, 0.49]``: an accuracy with its interval (``–`` when none)."""
    if acc is None:
        return "–"
    return f"{acc:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{acc:.3f}"


def cost_cell(cost: dict) -> str:
    """``869 tok, 0.76 s``: input tokens and seconds per item of a summary's ``cost``."""
    per = cost.get("per_item", {})
    return f"{per.get('tokens_in', 0):,.0f} tok, {per.get('seconds', 0):.2f} s"


def render_table(rows: list[dict]) -> str:
    """Markdown: one line per skill per data set, then the set's shipped baselines."""
    lines = ["| data set | n | skill | accuracy [95% CI] | errors / na | cost per item | paired test |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        s = row["summary"]
        lines.append(_line(row["data"], s, s["skill"], _paired(s)))
        if "baseline" in s:
            b = s["baseline"]
            lines.append(_line("", {**b, "na": b.get("na", 0)}, b["skill"], ""))
        lines += _dataset_lines(s) + _best_of_n_lines(s)
    return "\n".join(lines) + "\n"


def _line(data: str, s: dict, skill: str, paired: str) -> str:
    return (f"| {data} | {s.get('n', 0)} | `{skill}` | {cell(s.get('accuracy'), s.get('ci'))} | "
            f"{s.get('errors', 0)} / {s.get('na', 0)} | {cost_cell(s.get('cost', {}))} | {paired} |")


def _paired(s: dict) -> str:
    diff = s.get("baseline", {}).get("paired")
    if not diff:
        return ""
    return f"Δ {diff.get('difference', 0):+.3f}, p = {diff.get('p_value', float('nan')):.2g}"


def _dataset_lines(s: dict) -> list[str]:
    lines = []
    for name, base in (s.get("dataset_baselines") or {}).items():
        acc = base.get("accuracy") if isinstance(base, dict) else base
        n = base.get("n", "") if isinstance(base, dict) else ""
        ci = base.get("ci") if isinstance(base, dict) else None
        lines.append(f"| | {n} | {name} (shipped) | {cell(acc, ci)} | | | |")
    return lines


def _best_of_n_lines(s: dict) -> list[str]:
    bon = (s.get("official") or {}).get("best_of_n") or {}
    if not bon:
        return []
    refs = [("selected by the skill", bon["selected"]), ("random pick (expected)", bon["random_expected"]),
            ("majority vote of final answers", bon["majority_vote_expected"]), ("oracle", bon["oracle"])]
    return [f"| | {bon['n']} | {name} | {value:.3f} | | | |" for name, value in refs]


if __name__ == "__main__":
    raise SystemExit(main())
