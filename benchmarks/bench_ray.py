"""Benchmark ``skilldsl score --ray`` against a plain ``skilldsl score`` on the same rows.

Rows: GSM8K's graded model solutions (read as ``bench_math.py`` reads them: question, solution
and the reference's final answer), repeated with distinct ids up to ``--rows`` (default 20,000),
scored by ``skills/math_answer.skill`` with the reference: every row is decided by verifiers,
and the script checks that no row reached the judge. Each run is the whole command in a fresh
process, as a user runs it (Ray's start-up and the actors' loading included): plain, Ray with 1
and with 2 workers (a local Ray on this machine), plain again (the baseline is their mean).
Rewards, statuses and reasons must be identical line for line. Writes ``benchmarks/results/ray.json`` and prints a table.

    python benchmarks/bench_ray.py [--data DIR] [--rows 20000] [--workers 1 2] [--batch-size 256]
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script
from bench_math import gsm8k_parser, has_gsm8k, load_graded

REPO = Path(__file__).resolve().parents[1]
SKILL = str(REPO / "skills" / "math_answer.skill")
COMPARED = ("line", "id", "reward", "status", "reason", "reward_id")


def write_rows(data: Path, count: int, path: Path) -> int:
    """``count`` samples (the graded solutions, repeated with distinct ids) as JSONL at ``path``."""
    graded = load_graded(data, None)
    with open(path, "w", encoding="utf-8") as out:
        for n, row in enumerate(itertools.islice(itertools.cycle(graded), count)):
            sample = {"id": f"gsm8k-{n}", "prompt": row["question"], "response": row["solution"],
                      "reference": row["reference"]}
            out.write(json.dumps(sample) + "\n")
    return len(graded)


def run(name: str, data: Path, out: Path, extra: list[str], batch_size: int) -> dict:
    """One whole ``skilldsl score`` command: its wall time, exit status and result lines."""
    cmd = [sys.executable, "-m", "skilldsl", "score", SKILL, str(data), "-o", str(out), "--no-progress",
           "--batch-size", str(batch_size), *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {"name": name, "command": " ".join(["skilldsl", *cmd[3:]]), "seconds": seconds,
            "rows_per_s": len(records) / seconds, "records": records}


def check(plain: dict, other: dict) -> dict:
    """Line-for-line equality of rewards, statuses and reasons, and that no row reached the judge."""
    same = [{k: a.get(k) for k in COMPARED} == {k: b.get(k) for k in COMPARED}
            for a, b in zip(plain["records"], other["records"])]
    judged = sum(1 for r in other["records"] if not r["trace"]["judge"].get("skipped"))
    return {"rows": len(other["records"]), "identical": len(same) == len(plain["records"]) and all(same),
            "differing_rows": same.count(False) + abs(len(plain["records"]) - len(other["records"])),
            "rows_that_reached_the_judge": judged}


def main(argv: "list[str] | None" = None) -> int:
    """Run the benchmark; exit 2 without the data, 1 when a Ray run differs from the plain run."""
    ap = gsm8k_parser(__doc__.splitlines()[0], "ray.json")
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    if not has_gsm8k(args.data):
        return 2
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        distinct = write_rows(args.data, args.rows, folder / "rows.jsonl")
        rows = folder / "rows.jsonl"
        runs = [run("plain", rows, folder / "plain.jsonl", [], args.batch_size)]
        for n in args.workers:
            runs.append(run(f"ray, {n} worker{'s' if n > 1 else ''}", rows, folder / f"ray{n}.jsonl",
                            ["--ray", "--workers", str(n)], args.batch_size))
        # plain again last: the machine is shared, so the baseline is the mean of a run before and after
        runs.append(run("plain (again)", rows, folder / "plain2.jsonl", [], args.batch_size))
    baseline = (runs[0]["seconds"] + runs[-1]["seconds"]) / 2
    table = [{**{k: r[k] for k in ("name", "command", "seconds", "rows_per_s")}, "vs_plain": r["seconds"] / baseline,
              **check(runs[0], r), "statuses": dict(Counter(x["status"] for x in r["records"]))} for r in runs]
    print(f"{'run':<16} {'rows':>6} {'seconds':>8} {'rows/s':>8} {'x plain':>8} identical judge")
    for t in table:
        print(f"{t['name']:<16} {t['rows']:>6} {t['seconds']:>8.1f} {t['rows_per_s']:>8.0f} {t['vs_plain']:>8.2f} "
              f"{str(t['identical']):>9} {t['rows_that_reached_the_judge']:>5}")
    report = {"skill": "skills/math_answer.skill", "rows": args.rows, "distinct_solutions": distinct,
              "batch_size": args.batch_size, "cpus": os.cpu_count(), "plain_seconds_mean": baseline, "runs": table,
              "note": "whole commands in fresh processes: Ray's start-up and actor loading are included; "
                      "x plain is against the mean of the two plain runs"}
    save_report(report, args.out)
    return 0 if all(t["identical"] and t["rows_that_reached_the_judge"] == 0 for t in table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
