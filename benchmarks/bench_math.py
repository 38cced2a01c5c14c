"""Benchmark ``math.equivalent`` on GSM8K's graded model solutions.

Data: ``gsm8k/example_model_solutions.jsonl`` (four graded solutions per problem, ``is_correct``)
joined on the question with ``gsm8k/test.jsonl`` (the reference ``answer``, ending ``#### N``),
from openai/grade-school-math (see ``../shared/bench/README.md``), read by ``skilldsl eval``'s
GSM8K reader: the reference is the gold final answer.

Reports agreement with ``is_correct``, checks/s and p50/p99 latency through
``run_verifiers`` (the runtime's entry point: exact path inline, math-verify on the worker pool),
and the same for the math-verify path alone on a sample (``--cas-sample``), forced onto the pool,
and what containing in-process verifiers (``guard.inline_calls``: stdout, Ctrl-C) costs a batch.
Writes ``benchmarks/results/math.json``.

    python benchmarks/bench_math.py [--data DIR] [--limit N] [--workers 2] [--cas-sample 300]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _results import percentile, save_report  # benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
def gsm8k_parser(description: str, out: str) -> argparse.ArgumentParser:
    """The options of a GSM8K benchmark: ``--data DIR`` (default ``../shared/bench``) and
    ``--out`` (default ``benchmarks/results/<out>``)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / out)
    return ap


def has_gsm8k(data: Path) -> bool:
    """Whether ``data`` holds GSM8K; when not, says so on stderr (the caller exits 2)."""
    if (data / "gsm8k" / "test.jsonl").exists():
        return True
    print(f"no GSM8K data under {data} (use --data DIR)", file=sys.stderr)
    return False


def load_graded(data: Path, limit: int | None) -> list[dict[str, Any]]:
    """One dict per graded solution: question, model, solution, reference, is_correct."""
    from skilldsl.eval import read_dataset

    dataset = read_dataset(data / "gsm8k", "gsm8k-bon")
    for skip in dataset.skipped:
        print(f"skipped {skip.row}: {skip.reason}", file=sys.stderr)
    graded = [dict(question=item.inputs["prompt"], model=model, solution=solution,
                   reference=item.inputs["reference"], is_correct=ok)
              for item in dataset.items
              for model, solution, ok in zip(item.hidden["solvers"], item.candidates, item.hidden["correct"])]
    return graded[:limit] if limit else graded


def measure(rows: list[dict[str, Any]], pool: Any, force_pool: bool) -> dict[str, Any]:
    """Throughput (median of three batches), per-call latency (one call per batch) and the verdicts."""
    from skilldsl.verifiers import get
    from skilldsl.verifiers.pool import run_verifiers

    from skilldsl.verifiers.math import equivalent_cas

    spec = get("math.equivalent")
    calls = [(spec, (r["solution"], r["reference"]), {}) for r in rows]
    jobs = [(spec.name, equivalent_cas, args, kw) for spec, args, kw in calls]
    if force_pool:  # the math-verify path alone, on the pool
        run_batch = lambda cs: pool.run([jobs[i] for i in cs], timeout=30)  # noqa: E731
    else:
        run_batch = lambda cs: run_verifiers([calls[i] for i in cs], timeout=30, pool=pool)  # noqa: E731
    pool.run(jobs[: 2 * pool.size], timeout=60)  # start the workers and warm sympy outside the clock
    runs = []
    for _ in range(3):  # the median of three whole batches: one alone varies 2x on a busy machine
        start = time.perf_counter()
        verdicts = run_batch(range(len(calls)))
        runs.append(time.perf_counter() - start)
    elapsed = sorted(runs)[1]
    latencies = []
    for i in range(len(calls)):
        t = time.perf_counter()
        run_batch([i])
        latencies.append(time.perf_counter() - t)
    return {"verdicts": verdicts, "seconds": elapsed, "latencies": latencies}


def guard_cost(rounds: int = 20_000) -> float:
    """Median milliseconds of entering and leaving ``inline_calls`` once (paid once per batch)."""
    from skilldsl.verifiers.guard import inline_calls

    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        with inline_calls():
            pass
        times.append(time.perf_counter() - t)
    return 1000 * percentile(times, 0.5)


def summarize(rows: list[dict[str, Any]], run: dict[str, Any]) -> dict[str, Any]:
    """Agreement with ``is_correct``, speed, statuses, paths, and the disagreements."""
    verdicts, lat = run["verdicts"], run["latencies"]
    agree = [v.status == "ok" and v.value == r["is_correct"] for v, r in zip(verdicts, rows)]
    disagreements = [
        {"model": r["model"], "is_correct": r["is_correct"], "status": v.status, "value": v.value,
         "reason": v.reason, "detail": v.detail, "solution_tail": r["solution"][-200:],
         "reference_tail": r["reference"][-40:]}
        for v, r, ok in zip(verdicts, rows, agree) if not ok
    ]
    return {
        "checks": len(rows),
        "agreement": sum(agree) / len(rows) if rows else None,
        "checks_per_s": len(rows) / run["seconds"] if run["seconds"] else None,
        "p50_ms": 1000 * percentile(lat, 0.5) if lat else None,
        "p99_ms": 1000 * percentile(lat, 0.99) if lat else None,
        "status": dict(Counter(v.status for v in verdicts)),
        "method": dict(Counter(str(v.detail.get("method")) for v in verdicts)),
        "disagreements": disagreements,
    }


def report(name: str, summary: dict[str, Any]) -> None:
    """Print one summary, with up to five disagreements."""
    print(f"{name}: {summary['checks']} checks, agreement {summary['agreement']:.4%}, "
          f"{summary['checks_per_s']:.0f} checks/s, p50 {summary['p50_ms']:.3f} ms, "
          f"p99 {summary['p99_ms']:.3f} ms, status {summary['status']}, method {summary['method']}")
    for d in summary["disagreements"][:5]:
        print(f"  disagreement ({d['model']}, is_correct={d['is_correct']}): {d['status']} {d['value']} "
              f"{d['reason'] or ''} {d['detail']}\n    ...{d['solution_tail'][-120:]!r} vs {d['reference_tail']!r}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 2 when the data is missing."""
    ap = gsm8k_parser(__doc__.splitlines()[0], "math.json")
    ap.add_argument("--limit", type=int, default=None, help="only the first N graded solutions")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cas-sample", type=int, default=300, help="solutions to run through math-verify alone")
    args = ap.parse_args(argv)
    if not has_gsm8k(args.data):
        return 2
    sys.path.insert(0, str(REPO))
    from skilldsl.verifiers.pool import WorkerPool

    rows = load_graded(args.data, args.limit)
    with WorkerPool(args.workers) as pool:
        full = summarize(rows, measure(rows, pool, force_pool=False))
        cas_rows = rows[: args.cas_sample]
        cas = summarize(cas_rows, measure(cas_rows, pool, force_pool=True)) if cas_rows else None
    guard_ms = guard_cost()
    report("math.equivalent (run_verifiers)", full)
    if cas:
        report(f"math-verify path only ({args.workers} workers)", cas)
    print(f"containing in-process verifiers (inline_calls): {guard_ms:.4f} ms per batch (median)")
    result = {"data": str(args.data / "gsm8k"), "workers": args.workers, "run_verifiers": full, "cas_only": cas,
              "guard_ms_per_batch": guard_ms}
    save_report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
