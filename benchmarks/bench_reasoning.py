"""Reasoning judges (`think:`): accuracy against compute on the dev halves of LLMBar and JudgeBench.

    python benchmarks/bench_reasoning.py [--data ../shared/bench] [--think 0,64,256] [--samples 1,4]
        [--llmbar 3] [--judgebench 3] [--sets llmbar,judgebench] [--work DIR] [--render]

Every cell is one `skilldsl eval --split dev --no-cache` run (the real CLI, through bench_eval's
`run_cli`) of a copy of skills/pairwise_judge.skill whose question asks the judge to reason
("Which response is better? Think it through briefly, then answer A or B.") with `think: T` and
`samples: S` (temperature 0.7 when S > 1, greedy when S = 1); the stock skill (no reasoning, its own
question) runs too, as the reference. `--llmbar N` / `--judgebench N` take the first N dev items of
every subset (7 and 4 subsets). Each pair is judged in both orders (the stock `swap: true`), so a
cell asks 2 x S reasoned verdicts per pair. Per-item checkpoints go to `--work` and are resumed.
Writes benchmarks/results/reasoning.json and reasoning.md (model tokens per pair are the prompt,
lead and answer tokens read plus the reasoning and answer tokens written; model seconds per pair are
the runtime's own measure of its model calls, kept in the checkpoints, so a resumed cell keeps them;
`wall_seconds` in the JSON is the last command's, model load included, and says little after a resume).
"""
from __future__ import annotations

import json
import platform
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import RESULTS, ROOT, bench_parser, cell, run_cli, write_results  # noqa: E402

STOCK = ROOT / "skills" / "pairwise_judge.skill"
QUESTION = "Which response is better? Answer A or B."
REASONED_QUESTION = "Which response is better? Think it through briefly, then answer A or B."
SAMPLED_TEMPERATURE = 0.7

# (key, label, path under the bench folder, cap flag)
SETS = [
    ("llmbar", "LLMBar (7 sets)", "llmbar", "--per-subset"),
    ("judgebench", "JudgeBench (OpenRS form)", "judgebench/openrs_judgebench_claude.jsonl", "--per-subset"),
]


def main(argv=None) -> int:
    args = _parse(argv)
    if args.render:  # the table again from the saved figures
        doc = json.loads((RESULTS / f"{args.out}.json").read_text())
        write_results(args.out, doc, render_table(doc["rows"]))
        return 0
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-reasoning-"))
    skills = _write_skills(work, _ints(args.think), _ints(args.samples))
    rows = []
    for key, label, path, cap_flag in SETS:
        if key not in args.sets.split(","):
            continue
        for name, (think, samples, skill) in skills.items():
            cmd = [sys.executable, "-m", "skilldsl", "eval", str(skill), str(Path(args.data) / path), "--split", "dev",
                   cap_flag, str(getattr(args, key)), "--no-cache", "--no-progress",
                   "--checkpoint", str(work / f"{name}-{key}.jsonl"), "--resume"]
            run = run_cli(cmd, args.data)
            run["command"] = run["command"].replace(str(work), "WORK")
            rows.append({"data": label, "skill": name, "think": think, "samples": samples, **run})
            _save(args, argv, rows)  # after every cell: a run cut short keeps what it measured
    return 0


def _save(args, argv, rows: list[dict]) -> None:
    doc = {"machine": platform.platform(), "python": sys.version.split()[0],
           "model": "default (SmolLM2-135M-Instruct Q4_1)", "split": "dev",
           "command": "python benchmarks/bench_reasoning.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "question": REASONED_QUESTION, "sampled_temperature": SAMPLED_TEMPERATURE, "rows": rows}
    write_results(args.out, doc, render_table(rows))


def _parse(argv):
    p = bench_parser(__doc__)
    p.add_argument("--think", default="0,64,256", help="reasoning budgets, comma-separated")
    p.add_argument("--samples", default="1,4", help="samples per order, comma-separated")
    p.add_argument("--llmbar", type=int, default=3, help="first N dev items of each LLMBar subset")
    p.add_argument("--judgebench", type=int, default=3, help="first N dev items of each JudgeBench subset")
    p.add_argument("--sets", default="llmbar,judgebench", help="which data sets")
    p.add_argument("--work", default="", help="folder for the skill copies and checkpoints (resumed)")
    p.add_argument("--out", default="reasoning", help="name of the results under benchmarks/results/")
    p.add_argument("--render", action="store_true", help="only write the table again from the saved JSON")
    return p.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _write_skills(work: Path, budgets: list[int], samples: list[int]) -> dict:
    """The stock skill and one reasoning copy per (think, samples), with the rubric beside them."""
    (work / "rubrics").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "skills" / "rubrics" / "pairwise.md", work / "rubrics" / "pairwise.md")
    stock = _without_tests(STOCK.read_text())
    skills = {"pairwise_judge": (0, 1, work / "pairwise_judge.skill")}
    skills["pairwise_judge"][2].write_text(stock)
    for k in samples:  # cheapest first: a run cut short has measured every budget at one sample
        for think in budgets:
            name = f"think{think}_samples{k}"
            path = work / f"{name}.skill"
            path.write_text(reasoning_copy(stock, name, think, k))
            skills[name] = (think, k, path)
    return skills


def reasoning_copy(stock: str, name: str, think: int, samples: int) -> str:
    """The stock skill asking the judge to reason, with ``think``, ``samples`` and a temperature."""
    assert QUESTION in stock and "    swap: true\n" in stock, "the stock pairwise_judge changed: update this bench"
    options = f"    swap: true\n    think: {think}\n    samples: {samples}\n"
    if samples > 1:
        options += f"    temperature: {SAMPLED_TEMPERATURE}\n"
    text = stock.replace(QUESTION, REASONED_QUESTION).replace("    swap: true\n", options)
    return re.sub(r"^skill: pairwise_judge$", f"skill: {name}", text, count=1, flags=re.M)


def _without_tests(text: str) -> str:
    """The skill without a ``tests:`` section (its scripted cases are not this bench's business)."""
    return re.split(r"^tests:", text, maxsplit=1, flags=re.M)[0]


def render_table(rows: list[dict]) -> str:
    lines = ["| data set | skill | think | samples | n | accuracy [95% CI] | model tokens per pair (read + written) "
             "| model s per pair |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        s = row["summary"]
        per = s.get("cost", {}).get("per_item", {})
        lines.append(f"| {row['data']} | `{row['skill']}` | {row['think']} | {row['samples']} | {s.get('n', 0)} | "
                     f"{cell(s.get('accuracy'), s.get('ci'))} | {per.get('tokens_in', 0):,.0f} + "
                     f"{per.get('tokens_out', 0):,.0f} | {per.get('seconds', 0):.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
