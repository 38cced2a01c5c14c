"""HumanEval through ``code.passes`` as an unprivileged user: the sandbox's user-namespace path.

Run as root: the sandbox's own files (``skilldsl/sandbox`` and ``skilldsl/values.py``, standard
library only) are copied to a world-readable temporary directory and driven by the system's
``python3.11`` as ``nobody`` (``runuser``), since a virtual environment under ``/root`` is out of
that user's reach. Every canonical solution must pass and every empty body (``pass``) must fail;
prints the counts, runs/s on a pool of workers and the isolation used, and writes
``benchmarks/results/sandbox_unprivileged.json``.

    python benchmarks/bench_sandbox_unprivileged.py [--data DIR] [--user nobody] [--python /usr/bin/python3.11]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]

_DRIVER = """
import gzip, json, sys, time
sys.path.insert(0, sys.argv[1])
from skilldsl.sandbox.code import check_program
from skilldsl.sandbox.pool import SandboxPool, default_workers
rows = [json.loads(line) for line in gzip.open(sys.argv[2], "rt", encoding="utf-8") if line.strip()]
jobs = [(r, r["canonical_solution"], True) for r in rows] + [(r, "    pass\\n", False) for r in rows]
start = time.perf_counter()
with SandboxPool(default_workers()) as pool:
    futures = [pool.call(check_program, body, r["test"], r["entry_point"], prompt=r["prompt"]) for r, body, _ in jobs]
    verdicts = [f.result() for f in futures]
wall = time.perf_counter() - start
got = [v.status == "ok" and v.value is want for v, (_, _, want) in zip(verdicts, jobs)]
print(json.dumps({
    "runs": len(jobs), "seconds": round(wall, 2), "runs_per_s": round(len(jobs) / wall, 2),
    "canonical_passed": sum(got[:len(rows)]), "empty_body_failed": sum(got[len(rows):]),
    "isolation": verdicts[0].detail.get("isolation"), "harness": verdicts[0].detail.get("harness"),
    "wrong": [r["task_id"] for (r, _, _), g in zip(jobs, got) if not g],
}))
"""


def _stage(base: Path, data: Path) -> None:
    """The sandbox package, the driver and the data in ``base``, readable by everyone."""
    package = base / "skilldsl"
    shutil.copytree(REPO / "skilldsl" / "sandbox", package / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "skilldsl" / "values.py", package / "values.py")
    for init in (package / "__init__.py", package / "sandbox" / "__init__.py"):
        init.write_text("")  # the real ones import what needs the project's dependencies
    shutil.copy(data / "humaneval" / "HumanEval.jsonl.gz", base / "HumanEval.jsonl.gz")
    (base / "driver.py").write_text(_DRIVER)
    for path in [base, *base.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if a canonical solution fails or an empty body passes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    parser.add_argument("--user", default="nobody")
    parser.add_argument("--python", default="/usr/bin/python3.11", help="an interpreter the user can run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "sandbox_unprivileged.json")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not shutil.which("runuser"):
        print("run this as root (it becomes the unprivileged user with runuser)", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="skilldsl-bench-unprivileged-"))
    try:
        _stage(base, args.data)
        done = subprocess.run(["runuser", "-u", args.user, "--", args.python, "-I", str(base / "driver.py"),
                               str(base), str(base / "HumanEval.jsonl.gz")],
                              capture_output=True, text=True, cwd="/", check=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    report = {"user": args.user, "python": args.python, "cores": os.cpu_count(), **json.loads(done.stdout)}
    save_report(report, args.out)
    print(json.dumps(report, indent=2))
    return 1 if report["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
