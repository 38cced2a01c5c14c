"""The TRL example's wall time per GRPO step and the share of it spent computing the reward.

Runs ``examples/trl_grpo.py``'s trainer (the embedded SmolLM2-135M as the policy, ``math_answer``
as the reward, on CPU) for a few steps with the LLM result cache off, and times each step and the
``SkillReward`` calls inside it (the step that first needs the judge, for a completion with no
readable final answer, also loads the judge model). Also counts which evidence decided each
reward (the reference, or the judge when no final answer could be read). One torch thread by default: on this shared 2-core machine two threads made generation about
8x slower than one (oversubscription); the load average during the run is recorded. Needs the
``[trl]`` extra. Writes ``benchmarks/results/trl.json``.

    python benchmarks/bench_trl.py [--steps 4] [--data ../shared/bench/gsm8k] [--out FILE]
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from _results import save_report  # noqa: E402

__all__ = ["main"]


def _example():
    spec = importlib.util.spec_from_file_location("trl_grpo", REPO / "examples" / "trl_grpo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _step_timer(reward):
    """A TrainerCallback recording each step's wall time, the reward's share of it, and who decided
    each reward (built here: transformers is imported only once TRL is)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.steps, self.deciders = [], Counter()

        def on_step_begin(self, args, state, control, **kwargs):
            self._wall, self._reward = time.perf_counter(), reward.seconds

        def on_step_end(self, args, state, control, **kwargs):
            wall, spent = time.perf_counter() - self._wall, reward.seconds - self._reward
            self.steps.append({"step": state.global_step, "wall_s": round(wall, 3), "reward_s": round(spent, 3),
                               "reward_share": round(spent / wall, 4)})
            self.deciders.update(_decider(r) for r in reward.last_results)

    return StepTimer()


def _decider(result) -> str:
    if result.status != "ok":
        return result.status
    return "reference" if result.trace["judge"].skipped else "judge"


def _figures(steps: list) -> dict:
    """Per-step medians and the reward's share of the whole run's step time."""
    return {"median_wall_s": round(statistics.median(s["wall_s"] for s in steps), 3),
            "median_reward_s": round(statistics.median(s["reward_s"] for s in steps), 3),
            "reward_share": round(sum(s["reward_s"] for s in steps) / sum(s["wall_s"] for s in steps), 4)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "gsm8k"))
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: see the module docstring)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "trl.json"))
    opts = parser.parse_args(argv)
    example = _example()
    with tempfile.TemporaryDirectory() as out:
        args = example.parse_args(["--steps", str(opts.steps), "--data", opts.data, "--output-dir", out,
                                   "--threads", str(opts.threads)])
        trainer, reward = example.build(args, cache=False)
        timer = _step_timer(reward)
        trainer.add_callback(timer)
        start = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - start
    logged = [e for e in trainer.state.log_history if "rewards/math_answer/mean" in e]
    report = _report(opts, args, timer, total, logged, reward)
    save_report(report, opts.out)
    _print(report)
    return report


def _report(opts, args, timer, total: float, logged: list, reward) -> dict:
    import torch
    import trl

    return {
        "command": "python benchmarks/bench_trl.py" + (f" --steps {opts.steps}" if opts.steps != 4 else "")
                   + (f" --threads {opts.threads}" if opts.threads != 1 else ""),
        "load_average_after": os.getloadavg(),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "torch": torch.__version__, "trl": trl.__version__, "threads": torch.get_num_threads()},
        "setup": {"policy": "SmolLM2-135M-Instruct (embedded, float32, CPU)", "skill": reward.__name__,
                  "reward_id": reward.skill.reward_id, "steps": args.steps, "completions_per_step": args.generations,
                  "max_completion_length": args.max_completion_length, "llm_cache": False,
                  "data": "GSM8K test" if (Path(args.data) / "test.jsonl").is_file() else "built-in problems"},
        "train_seconds": round(total, 3),
        "steps": timer.steps,
        **_figures(timer.steps),
        "decided_by": dict(timer.deciders),
        "statuses": reward.summary()["counts"],
        "trl_logs": [{k: e[k] for k in ("step", "rewards/math_answer/mean", "skilldsl/math_answer/ok",
                                       "skilldsl/math_answer/na", "skilldsl/math_answer/error", "step_time")
                      if k in e} for e in logged],
    }


def _print(report: dict) -> None:
    for s in report["steps"]:
        print(f"step {s['step']}: {s['wall_s']:.2f} s, reward {s['reward_s']:.2f} s ({100 * s['reward_share']:.1f} %)")
    print(f"median {report['median_wall_s']} s/step, reward {report['median_reward_s']} s/step; reward share of "
          f"all steps {100 * report['reward_share']:.1f} %; decided by {report['decided_by']}")


if __name__ == "__main__":
    main()
