"""Sandbox throughput and correctness on HumanEval (openai/human-eval, ``HumanEval.jsonl.gz``).

Every canonical solution must pass ``code.passes`` and every problem with an empty body
(``pass``) must fail. Runs go through the registered verifier on a bounded pool, as a skill
would run them. Prints a summary and writes ``benchmarks/results/sandbox.json``.

    python benchmarks/bench_sandbox.py [--data DIR] [--limit N] [--workers N]
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

from _results import percentile  # benchmarks/ is on sys.path when run as a script
from skilldsl.sandbox import SandboxPool, default_workers
from skilldsl.verifiers.registry import get

__all__ = ["main", "load_problems", "measure"]

REPO = Path(__file__).resolve().parents[1]
EMPTY_BODY = "    pass\n"


def load_problems(data: Path, limit: int | None = None) -> list[dict]:
    """HumanEval rows (``task_id``, ``prompt``, ``canonical_solution``, ``test``, ``entry_point``)."""
    with gzip.open(data / "humaneval" / "HumanEval.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return rows[:limit] if limit else rows


def _timed(spec, row: dict, body: str) -> tuple[object, float]:
    start = time.perf_counter()
    verdict = spec.call(body, row["test"], row["entry_point"], prompt=row["prompt"])
    return verdict, time.perf_counter() - start


def measure(rows: list[dict], workers: int) -> dict:
    """Run canonical and empty-body programs for every row; counts, failures and timing."""
    spec = get("code.passes")
    jobs = [(row, row["canonical_solution"], True) for row in rows] + [(row, EMPTY_BODY, False) for row in rows]
    start = time.perf_counter()
    with SandboxPool(workers) as pool:
        futures = [pool.call(_timed, spec, row, body) for row, body, _ in jobs]
        results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    latencies = [seconds for _, seconds in results]
    wrong = [
        {"task_id": row["task_id"], "expected": want, "verdict": verdict.status, "value": verdict.value,
         "detail": verdict.detail.get("output", "")[-300:]}
        for (row, _, want), (verdict, _) in zip(jobs, results)
        if not (verdict.status == "ok" and verdict.value is want)
    ]
    canonical = sum(1 for (_, _, want), (v, _) in zip(jobs, results) if want and v.value is True)
    empty = sum(1 for (_, _, want), (v, _) in zip(jobs, results) if not want and v.value is False)
    return {
        "problems": len(rows),
        "runs": len(jobs),
        "workers": workers,
        "seconds": round(wall, 3),
        "runs_per_s": round(len(jobs) / wall, 2),
        "latency_p50_ms": round(1000 * statistics.median(latencies), 1),
        "latency_p99_ms": round(1000 * percentile(latencies, 0.99), 1),
        "canonical_passed": canonical,
        "empty_body_failed": empty,
        "isolation": results[0][0].detail.get("isolation") if results else [],
        "wrong": wrong,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any canonical solution fails or any empty body passes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    parser.add_argument("--limit", type=int, default=None, help="first N problems only")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sandbox.json")
    args = parser.parse_args(argv)
    summary = measure(load_problems(args.data, args.limit), args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "wrong"}, indent=2))
    for item in summary["wrong"]:
        print("WRONG", json.dumps(item), file=sys.stderr)
    return 1 if summary["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
