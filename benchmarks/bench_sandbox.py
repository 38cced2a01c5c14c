"""Sandbox throughput and correctness on HumanEval (openai/human-eval, ``HumanEval.jsonl.gz``).

Every canonical solution must pass and every problem with an empty body (``pass``) must fail,
measured two ways on a bounded pool, as a skill would run them:

- ``plain_run``: ``prompt + body + test + check(entry_point)`` through ``sandbox.run`` (exit 0
  = pass): the cost of the isolation alone, comparable across versions of the code evidence;
- ``code_passes``: the registered ``code.passes`` verifier, end to end;
- ``sequential``: plain runs one at a time (min / p10 / p50 latency, the best of the rounds):
  the isolation's own cost per run, least disturbed by a busy machine.

Each side is measured by a child process importing skilldsl from its checkout; ``--before DIR``
adds a checkout of the code before a change (e.g. ``git worktree add --detach /work/sbx-before
<commit>``), and the two alternate ``--rounds`` times (the medians are kept, so a busy spell on
the machine hits both). Prints a summary and writes ``benchmarks/results/sandbox.json``.

    python benchmarks/bench_sandbox.py [--data DIR] [--limit N] [--workers N] [--before DIR] [--rounds N]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _results import percentile, save_report  # benchmarks/ is on sys.path when run as a script
from skilldsl.sandbox import SandboxPool, default_workers, run
from skilldsl.verifiers.registry import get

__all__ = ["main", "load_problems", "measure"]

REPO = Path(__file__).resolve().parents[1]
EMPTY_BODY = "    pass\n"
GOAL_RUNS_PER_S = 30


def load_problems(data: Path, limit: int | None = None) -> list[dict]:
    """HumanEval rows (``task_id``, ``prompt``, ``canonical_solution``, ``test``, ``entry_point``)."""
    with gzip.open(data / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return rows[:limit] if limit else rows


def _plain_run(row: dict, body: str) -> tuple[bool | None, list]:
    program = f"{row['prompt']}{body}\n\n{row['test']}\n\ncheck({row['entry_point']})\n"
    result = run(program, limits={"timeout": 10.0})
    passed = None if result.status == "error" else result.passed
    return passed, list(result.isolation)


def _code_passes(row: dict, body: str) -> tuple[bool | None, list]:
    verdict = get("code.passes").call(body, row["test"], row["entry_point"], prompt=row["prompt"])
    return (verdict.value if verdict.status == "ok" else None), verdict.detail.get("isolation", [])


def _timed(check, row: dict, body: str):
    start = time.perf_counter()
    outcome = check(row, body)
    return outcome, time.perf_counter() - start


def _measure_one(check, rows: list[dict], workers: int) -> dict:
    jobs = [(row, row["canonical_solution"], True) for row in rows] + [(row, EMPTY_BODY, False) for row in rows]
    start = time.perf_counter()
    with SandboxPool(workers) as pool:
        results = [f.result() for f in [pool.call(_timed, check, row, body) for row, body, _ in jobs]]
    wall = time.perf_counter() - start
    latencies = [seconds for _, seconds in results]
    wrong = [{"task_id": row["task_id"], "expected": want, "got": passed}
             for (row, _, want), ((passed, _), _) in zip(jobs, results) if passed is not want]
    return {
        "runs": len(jobs),
        "seconds": round(wall, 3),
        "runs_per_s": round(len(jobs) / wall, 2),
        "latency_p50_ms": round(1000 * statistics.median(latencies), 1),
        "latency_p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "canonical_passed": sum(1 for (_, _, want), ((p, _), _) in zip(jobs, results) if want and p is True),
        "empty_body_failed": sum(1 for (_, _, want), ((p, _), _) in zip(jobs, results) if not want and p is False),
        "isolation": results[0][0][1] if results else [],
        "wrong": wrong,
    }


def _sequential(rows: list[dict], runs: int = 100) -> dict:
    """Latency of plain runs one at a time (canonical solutions): the low quantiles are the
    isolation's own cost, least disturbed by whatever else the machine is doing."""
    latencies = [_timed(_plain_run, row, row["canonical_solution"])[1] for row in (rows * runs)[:runs]]
    return {f"{name}_ms": round(1000 * percentile(latencies, q), 1) for name, q in (("min", 0), ("p10", 0.1), ("p50", 0.5))}


def measure(rows: list[dict], workers: int) -> dict:
    """Both measurements (plain ``sandbox.run`` and ``code.passes``) of this checkout."""
    _plain_run(rows[0], EMPTY_BODY)  # start the zygote outside the timing
    return {"problems": len(rows), "workers": workers, "sequential": _sequential(rows),
            "plain_run": _measure_one(_plain_run, rows, workers),
            "code_passes": _measure_one(_code_passes, rows, workers)}


def _measure_tree(tree: Path, argv: list[str]) -> dict:
    """``measure`` run by a child process that imports skilldsl from ``tree``."""
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{Path(__file__).parent}"}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", *argv], env=env, cwd="/",
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _commit(tree: Path) -> "str | None":
    """The checkout's commit, with "+changes" when its skilldsl/ has uncommitted changes."""
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--", "skilldsl"],
                           capture_output=True, text=True)
    return (head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")) or None


def _combine(tree: Path, rounds: list[dict]) -> dict:
    """One side over its rounds: median runs/s per mode (each round's kept), the rest from the last."""
    combined = {"tree": str(tree), "commit": _commit(tree), **rounds[-1],
                "sequential": {k: min(r["sequential"][k] for r in rounds) for k in rounds[-1]["sequential"]}}
    for mode in ("plain_run", "code_passes"):
        rates = [r[mode]["runs_per_s"] for r in rounds]
        wrong = [item for r in rounds for item in r[mode]["wrong"]]
        combined[mode] = {**rounds[-1][mode], "runs_per_s": statistics.median(rates), "runs_per_s_rounds": rates,
                          "wrong": wrong}
    return combined


def _summary(report: dict) -> dict:
    """What is printed: rates and counts per side and mode, the isolation once per side."""
    keep = ("runs_per_s", "runs_per_s_rounds", "latency_p50_ms", "canonical_passed", "empty_body_failed")
    out = {k: report[k] for k in ("goal_runs_per_s", "cores", "rounds")}
    for side in ("before", "after"):
        data = report[side]
        if data:
            out[side] = {"commit": data["commit"], "isolation": " ".join(data["plain_run"]["isolation"]),
                         "sequential": data["sequential"],
                         **{mode: {k: data[mode][k] for k in keep} for mode in ("plain_run", "code_passes")}}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any canonical solution fails or any empty body passes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--before", type=Path, help="a checkout to measure too (the code before a change)")
    parser.add_argument("--rounds", type=int, default=3, help="alternate before/after this many times (median)")
    parser.add_argument("--json", action="store_true", help="print this checkout's measurement only")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sandbox.json")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(measure(load_problems(args.data, args.limit), args.workers)))
        return 0
    common = ["--data", str(args.data.resolve()), "--workers", str(args.workers)]
    common += ["--limit", str(args.limit)] if args.limit else []
    trees = {"after": REPO} | ({"before": args.before.resolve()} if args.before else {})
    rounds: dict[str, list] = {side: [] for side in trees}
    for _ in range(args.rounds):  # alternated, so a busy spell on the machine hits both sides
        for side, tree in trees.items():
            rounds[side].append(_measure_tree(tree, common))
    report = {"goal_runs_per_s": GOAL_RUNS_PER_S, "cores": os.cpu_count(), "rounds": args.rounds,
              "before": _combine(trees["before"], rounds["before"]) if args.before else None,
              "after": _combine(REPO, rounds["after"])}
    save_report(report, args.out)
    print(json.dumps(_summary(report), indent=2))
    wrong = [item for mode in ("plain_run", "code_passes") for item in report["after"][mode]["wrong"]]
    for item in wrong:
        print("WRONG", json.dumps(item), file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
