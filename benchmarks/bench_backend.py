"""Backend benchmark: matmul roofline, prefill throughput against it, choice numerics
(fp32 vs bf16), multi-token option scoring via KV extension vs naive, and constrained-decoding
overhead per generated token.

    python benchmarks/bench_backend.py [--quick] [--model SPEC] [--threads N]

Prints a table and writes ``benchmarks/results/backend.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skilldsl.runtime.backends.base import ChoiceRequest, GenerateRequest  # noqa: E402


def best_time(fn, repeat: int) -> float:
    """Minimum wall time of ``fn()`` over ``repeat`` runs (noise only ever adds time)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def roofline(quick: bool) -> dict:
    """Dense matmul GFLOP/s for fp32 and bf16 (square, and the model's own MLP shape)."""
    import torch

    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        n = 1024 if quick else 2048
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b
        sq = 2 * n**3 / best_time(lambda: a @ b, 3 if quick else 5) / 1e9
        x, w = torch.randn(4096, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype)
        x @ w
        mlp = 2 * 4096 * 576 * 1536 / best_time(lambda: x @ w, 5) / 1e9
        out[str(dtype).replace("torch.", "")] = {"square_gflops": round(sq, 1), "mlp_shape_gflops": round(mlp, 1)}
    return out


def _prompt(n_words: int, i: int) -> tuple:
    words = " ".join(f"w{(i * 7 + k) % 997}" for k in range(n_words))
    return ({"role": "system", "content": "You grade answers."},
            {"role": "user", "content": f"Text {i}: {words}\nIs this text fine? Answer yes or no."})


def prefill(backend, n_requests: int, n_words: int, budgets: list[int]) -> list[dict]:
    """Choice throughput (one forward per micro-batch) for several token budgets."""
    reqs = [ChoiceRequest(_prompt(n_words, i), ("yes", "no")) for i in range(n_requests)]
    params = sum(p.numel() for p in backend.model.parameters())
    embed = backend.model.get_input_embeddings().weight.numel()
    backend.choice_logprobs(reqs[:2])  # warm-up
    rows = []
    for budget in budgets:
        backend.token_budget = budget
        tokens = sum(r.tokens_in for r in backend.choice_logprobs(reqs))
        secs = best_time(lambda: backend.choice_logprobs(reqs), 2)
        tps = tokens / secs
        rows.append({"token_budget": budget, "tokens": tokens, "seconds": round(secs, 3), "tokens_per_s": round(tps, 1),
                     "gflops_2xparams": round(2 * params * tps / 1e9, 1),
                     "gflops_2xnonembed": round(2 * (params - embed) * tps / 1e9, 1)})
    return rows


def numerics(b32, b16, n: int) -> dict:
    """How far bf16 moves p(first option) from fp32 (body in bf16, head + softmax in fp32)."""
    qs = ["Is 2+2=4?", "Is the sky green?", "Is Paris in France?", "Is water dry?", "Is 7 prime?",
          "Is a whale a fish?", "Does ice float?", "Is the sun a star?"]
    reqs = [ChoiceRequest(({"role": "user", "content": q + " Answer yes or no."},), ("yes", "no")) for q in qs[:n]]
    reqs += [ChoiceRequest(({"role": "user", "content": "Which is better? A: a cat. B: a dog."},), ("A", "B"))]

    def p0(res):
        z = [math.exp(x) for x in res.logprobs]
        return z[0] / sum(z)

    diffs = [abs(p0(x) - p0(y)) for x, y in zip(b32.choice_logprobs(reqs), b16.choice_logprobs(reqs))]
    return {"prompts": len(reqs), "max_abs_dp": round(max(diffs), 4), "mean_abs_dp": round(statistics.mean(diffs), 4)}


def multi_token(backend, n_requests: int, n_words: int) -> dict:
    """Score options 1..10 ("10" is two tokens): KV-cache extension vs naive full rows."""
    import torch

    reqs = [ChoiceRequest(_prompt(n_words, i), tuple(str(k) for k in range(1, 11))) for i in range(n_requests)]
    single = [ChoiceRequest(r.messages, ("yes", "no")) for r in reqs]
    backend.choice_logprobs(reqs[:1])
    t_ext = best_time(lambda: backend.choice_logprobs(reqs), 2)
    t_one = best_time(lambda: backend.choice_logprobs(single), 2)

    def naive():  # what it costs without prefix sharing: prompt + "1", prompt + "10" as full rows
        rows = []
        for r in reqs:
            prompt = backend.prompt_ids(r.messages, 10_000)[0]
            rows += [prompt + backend.option_ids("1"), prompt + backend.option_ids("10")]
        for start in range(0, len(rows), 8):
            ids, mask, pos = backend._left_pad(rows[start:start + 8])
            with torch.inference_mode():
                backend.model(input_ids=ids, attention_mask=mask, position_ids=pos)

    t_naive = best_time(naive, 1)
    return {"requests": n_requests, "single_token_s": round(t_one, 3), "kv_extension_s": round(t_ext, 3),
            "naive_rows_s": round(t_naive, 3), "saving_vs_naive": round(1 - t_ext / t_naive, 3)}


def prefix_reuse(backend, n_pairs: int, repeat: int) -> dict:
    """Pairs asked in both orders (a long shared rubric + request, responses last): the
    shared prefix run once per pair vs every request in full. Interleaved, best of ``repeat``."""
    rubric = "Judge which response follows the request better; prefer correct, specific, complete answers. " * 6
    reqs = []
    for i in range(n_pairs):
        head = f"{rubric}\n# Request\n{_prompt(80, i)[1]['content']}\n"
        a, b = f"answer {i} " * 15, f"reply {i} " * 12
        for x, y in ((a, b), (b, a)):
            reqs.append(ChoiceRequest(({"role": "system", "content": "You judge."},
                                       {"role": "user", "content": f"{head}# Response A\n{x}\n# Response B\n{y}\nWhich is better?"}), ("A", "B")))
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(repeat):
        for flag in (False, True):
            backend.prefix_reuse = flag
            times[flag].append(best_time(lambda: backend.choice_logprobs(reqs), 1))
    backend.prefix_reuse = True  # the default
    tokens = sum(r.tokens_in for r in backend.choice_logprobs(reqs))
    off, on = min(times[False]), min(times[True])
    return {"requests": len(reqs), "tokens": tokens, "off_s": round(off, 3), "on_s": round(on, 3),
            "saving": round(1 - on / off, 3)}


def constrained_overhead(backend, n_tokens: int) -> dict:
    """Seconds per generated token, constrained vs unconstrained of the same length, warm."""
    import torch

    msgs = ({"role": "user", "content": "Judge the answer '4' to 'what is 2+2?'. Reply in JSON."},)
    schema = {"type": "object", "properties": {"verdict": {"type": "string", "enum": ["correct", "wrong"]},
              "reason": {"type": "string", "maxLength": 200}}, "required": ["verdict", "reason"]}
    cases = {"json": {"type": "json", "schema": schema}, "regex": {"type": "regex", "pattern": r"(yes|no)(, [a-z]+){1,30}"}}
    out = {}
    for name, constraint in cases.items():
        req = GenerateRequest(msgs, constraint, max_tokens=n_tokens)
        backend.generate([req])  # warm-up: compiles (or loads) the index
        gen = backend.generate([req])[0]
        n = gen.tokens_out
        t_con = best_time(lambda: backend.generate([req]), 3)
        ids, mask, _ = backend._left_pad([backend.prompt_ids(msgs, 10_000)[0]])

        def free():
            with torch.inference_mode():
                backend.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                                       do_sample=False, pad_token_id=backend.tokenizer.pad_token_id, top_p=None, top_k=None)

        free()
        t_free = best_time(free, 3)
        out[name] = {"tokens": n, "constrained_ms_per_token": round(1000 * t_con / n, 2),
                     "unconstrained_ms_per_token": round(1000 * t_free / n, 2),
                     "overhead": round(t_con / t_free - 1, 3), "sample": gen.text[:80]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (for a smoke run on a busy machine)")
    ap.add_argument("--model", default=None, help="model spec (default: the embedded judge)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "backend.json"))
    args = ap.parse_args(argv)
    import torch

    from skilldsl.runtime.backends.hf import TransformersBackend

    if args.threads:
        torch.set_num_threads(args.threads)
    q = args.quick
    report = {"machine": {"platform": platform.platform(), "threads": torch.get_num_threads(), "torch": torch.__version__}}
    report["roofline"] = roofline(q)
    print("roofline GFLOP/s:", json.dumps(report["roofline"]), flush=True)
    b16 = TransformersBackend(args.model, dtype="bfloat16")
    b32 = TransformersBackend(args.model, dtype="float32")
    report["model"] = {"bf16": b16.name, "fp32": b32.name}
    n_req, n_words = (8, 60) if q else (32, 200)
    budgets = [1024, 4096] if q else [1024, 4096, 8192, 16384]
    for label, b in (("bf16", b16), ("fp32", b32)):
        report[f"prefill_{label}"] = prefill(b, n_req, n_words, budgets)
    # a busy machine only ever lowers a measurement: take the better roofline of two runs
    again = roofline(q)
    report["roofline"] = {d: {k: max(v, again[d][k]) for k, v in r.items()} for d, r in report["roofline"].items()}
    print("roofline GFLOP/s (best of two runs):", json.dumps(report["roofline"]), flush=True)
    for label, b in (("bf16", b16), ("fp32", b32)):
        peak = report["roofline"][str(b.dtype).replace("torch.", "")]["square_gflops"]
        for r in report[f"prefill_{label}"]:
            r["pct_of_roofline"] = round(100 * r["gflops_2xparams"] / peak, 1)
            r["pct_of_bf16_roofline"] = round(100 * r["gflops_2xparams"] / report["roofline"]["bfloat16"]["square_gflops"], 1)
        print(f"prefill {label}:", *(json.dumps(r) for r in report[f"prefill_{label}"]), sep="\n  ", flush=True)
    report["numerics_fp32_vs_bf16"] = numerics(b32, b16, 4 if q else 8)
    print("p(first option) fp32 vs bf16:", report["numerics_fp32_vs_bf16"], flush=True)
    b16.token_budget = 8 * 512
    report["multi_token_options"] = multi_token(b16, 4 if q else 16, n_words)
    print("multi-token options:", report["multi_token_options"], flush=True)
    report["prefix_reuse"] = prefix_reuse(b16, 4 if q else 16, 3)
    print("prefix reuse:", report["prefix_reuse"], flush=True)
    report["constrained_overhead"] = constrained_overhead(b16, 24 if q else 48)
    print("constrained decoding:", json.dumps(report["constrained_overhead"], indent=1), flush=True)
    save_report(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
