"""One skill on three engines, side by side: transformers vs vLLM in-process vs ``vllm serve``.

The same LLMBar Natural pairs, the same model (default the embedded judge, fp32), ``skills/pairwise_judge.skill``,
in ONE run (one process, engines one after another, each closed before the next starts):

- ``transformers``: the default backend, the reference;
- ``vllm``: the in-process vLLM backend (``--backend vllm``);
- ``vllm-serve``: ``vllm serve`` of the same converted model on 127.0.0.1, scored through
  ``--backend openai`` (first-token log-probabilities under guided choice).

Per engine: load seconds, pairs/s (after a two-pair warm-up; LLM cache off), model tokens, accuracy,
mean and max |Δ p(A)| against the transformers readout, and verdict agreement with it (p(A) > 0.5,
< 0.5 or a tie). Needs the vLLM venv VENV (``bash benchmarks/vllm_setup.sh``, default ``.venv-vllm``):

    VENV/bin/python benchmarks/bench_engines.py [--limit 100] [--data ../shared/bench] [--model SPEC] [--dtype float32]

Writes ``benchmarks/results/engines.json`` and prints a table. The machine's load average is recorded
with the figures: on a shared 2-core machine they move with what else runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _results import save_report  # benchmarks/ is on sys.path when run as a script
from bench_llmbar import load_pairs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SKILL = ROOT / "skills" / "pairwise_judge.skill"
ENGINES = ("transformers", "vllm", "vllm-serve")


def score(backend, pairs: list[dict], **load_options) -> dict:
    """The skill over ``pairs`` in one batch (after a two-pair warm-up): timing, tokens, rewards."""
    import skilldsl

    skill = skilldsl.load(str(SKILL), backend=backend, cache=False, batch_size=max(1, len(pairs)), **load_options)
    inputs = [{k: v for k, v in p.items() if k != "label"} for p in pairs]
    skill.score(inputs[:2])
    start = time.perf_counter()
    results = skill.score(inputs)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "pairs_per_s": round(len(pairs) / seconds, 3),
            "model_tokens": sum(r.tokens_in + r.tokens_out for r in results),
            "failures": sum(r.status != "ok" for r in results),
            "reasons": sorted({r.reason for r in results if r.status != "ok"})[:3],
            "rewards": [r.reward if r.status == "ok" else None for r in results],
            "load_average": [round(x, 1) for x in os.getloadavg()]}


def run_transformers(pairs: list[dict], model, dtype: str) -> dict:
    from skilldsl.runtime.backends.hf import TransformersBackend

    backend = TransformersBackend(model, dtype=dtype)
    start = time.perf_counter()
    backend.model
    return {"engine": backend.name, "load_seconds": round(time.perf_counter() - start, 1), **score(backend, pairs)}


def run_vllm(pairs: list[dict], model, dtype: str, engine: dict) -> dict:
    from skilldsl.runtime.backends.vllm import VLLMBackend

    backend = VLLMBackend(model, dtype=dtype, engine=engine)
    start = time.perf_counter()
    backend.engine
    loaded = round(time.perf_counter() - start, 1)
    try:
        return {"engine": backend.name, "engine_options": engine, "load_seconds": loaded, **score(backend, pairs)}
    finally:
        backend.close()


def run_serve(pairs: list[dict], model, dtype: str, engine: dict, log: Path) -> dict:
    """``vllm serve`` on a free loopback port, scored through the openai backend, then stopped."""
    from skilldsl.runtime.backends.vllm import VLLMBackend
    from skilldsl.runtime.backends.vllm_serve import served

    directory = str(VLLMBackend(model, dtype=dtype).directory())
    start = time.perf_counter()
    with served(directory, dtype=dtype, log=log, cwd=Path(tempfile.mkdtemp()), startup_seconds=1800,
                engine=engine) as base_url:
        loaded = round(time.perf_counter() - start, 1)
        options = {"base_url": base_url, "concurrency": 16}
        return {"engine": f"vllm serve + openai backend ({directory.rsplit('/', 1)[-1]})", "engine_options": engine,
                "load_seconds": loaded, **score("openai", pairs, backend_options=options)}


def compare(run: dict, reference: dict, pairs: list[dict]) -> dict:
    """|Δ p(A)| and verdict agreement of ``run`` against ``reference``; accuracy on the labels."""
    both = [(a, b) for a, b in zip(run["rewards"], reference["rewards"]) if a is not None and b is not None]
    deltas = [abs(a - b) for a, b in both]
    agree = sum(_verdict(a) == _verdict(b) for a, b in both)
    correct = sum(_credit(r, p["label"]) for r, p in zip(run["rewards"], pairs) if r is not None)
    return {"compared": len(both), "mean_abs_delta_pA": _round(sum(deltas) / len(deltas)) if deltas else None,
            "max_abs_delta_pA": _round(max(deltas)) if deltas else None,
            "verdict_agreement": round(agree / len(both), 3) if both else None,
            "accuracy": round(correct / len(pairs), 3)}


def _verdict(p: float) -> str:
    return "tie" if p == 0.5 else "A" if p > 0.5 else "B"


def _credit(reward: float, label: int) -> float:
    return 0.5 if reward == 0.5 else float((reward > 0.5) == (label == 1))


def _round(x: float) -> float:
    return float(f"{x:.3g}")


def table(report: dict) -> str:
    rows = [("engine", "load s", "pairs/s", "tokens", "fail", "acc", "mean|dpA|", "max|dpA|", "agree")]
    for name in report["runs"]:
        run, cmp = report["runs"][name], report["comparison"][name]
        rows.append((name, str(run["load_seconds"]), str(run["pairs_per_s"]), str(run["model_tokens"]),
                     str(run["failures"]), str(cmp["accuracy"]), str(cmp["mean_abs_delta_pA"]),
                     str(cmp["max_abs_delta_pA"]), str(cmp["verdict_agreement"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "bench"))
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, from {ENGINES}")
    ap.add_argument("--model", default=None, help="model spec (default: the embedded judge)")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--vllm-engine", default="{}", help="JSON of further vllm.LLM / vllm serve options")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engines.json"))
    args = ap.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or "transformers" not in engines:
        ap.error(f"--engines: {unknown or 'transformers (the reference) is required'}")
    engine = json.loads(args.vllm_engine)
    pairs = load_pairs(Path(args.data), args.limit)
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "skill": SKILL.name, "pairs": len(pairs),
              "dtype": args.dtype, "engines": engines, "runs": {}}
    for name in engines:
        if name == "transformers":
            run = run_transformers(pairs, args.model, args.dtype)
        elif name == "vllm":
            run = run_vllm(pairs, args.model, args.dtype, engine)
        else:
            try:
                run = run_serve(pairs, args.model, args.dtype, engine, Path(tempfile.gettempdir()) / "skilldsl-vllm-serve.log")
            except (RuntimeError, TimeoutError) as exc:  # recorded; the other engines' figures stand
                print(name, "failed:", exc, flush=True)
                report.setdefault("failed", {})[name] = str(exc)
                continue
        report["runs"][name] = run
        print(name, json.dumps({k: v for k, v in run.items() if k != "rewards"}), flush=True)
    reference = report["runs"]["transformers"]
    report["comparison"] = {name: compare(run, reference, pairs) for name, run in report["runs"].items()}
    print(table(report))
    save_report(report, args.out)
    return 0


if __name__ == "__main__":  # vLLM's engine starts processes: a script needs this guard
    raise SystemExit(main())
