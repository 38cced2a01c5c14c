"""Where a bf16 prefill forward spends its time: the torch profiler over one batch.

    python benchmarks/profile_prefill.py [--batch 8] [--length 400] [--dtype bfloat16]

Prints the share of self CPU time of matmuls, attention and everything else, and the GFLOP/s
each of the first two reaches; writes ``benchmarks/results/profile_prefill.json``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm")
ATTENTION_MARK = "scaled_dot_product"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=400)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--model", default=None, help="model spec (default: the embedded judge)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "profile_prefill.json"))
    args = ap.parse_args(argv)
    import torch
    from torch.profiler import ProfilerActivity, profile

    from skilldsl.runtime.backends.hf import TransformersBackend

    model = TransformersBackend(args.model, dtype=args.dtype).model
    ids = torch.randint(100, model.config.vocab_size - 100, (args.batch, args.length))

    def forward():
        with torch.inference_mode():
            model.base_model(input_ids=ids, use_cache=False)

    forward()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        forward()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
    attention = sum(e.self_cpu_time_total for e in events if ATTENTION_MARK in e.key)
    report = {"batch": args.batch, "length": args.length, "dtype": args.dtype, "seconds": round(total / 1e6, 3),
              "share": {"matmul": round(matmul / total, 3), "attention": round(attention / total, 3),
                        "other": round(1 - (matmul + attention) / total, 3)},
              "gflops": {"matmul": round(_matmul_flops(model, ids.numel()) / matmul / 1e3, 1),
                         "attention": round(_attention_flops(model, args.batch, args.length) / attention / 1e3, 1)}}
    print(report)
    save_report(report, args.out)
    return 0


def _matmul_flops(model, tokens: int) -> float:
    """2 x the decoder's linear weights x tokens (the output head is not run: base model only)."""
    linear = sum(m.weight.numel() for m in model.base_model.modules() if m.__class__.__name__ == "Linear")
    return 2.0 * linear * tokens


def _attention_flops(model, batch: int, length: int) -> float:
    """QK^T and PV over the full square (what the CPU kernel computes), every layer and head."""
    cfg = model.config
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    return 4.0 * batch * cfg.num_attention_heads * length * length * head_dim * cfg.num_hidden_layers


if __name__ == "__main__":
    raise SystemExit(main())
