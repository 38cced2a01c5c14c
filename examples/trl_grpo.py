"""Train the embedded SmolLM2-135M-Instruct with TRL's GRPO for a few steps on CPU, rewarded by
the ``math_answer`` skill (the reference decides; the judge only when no final answer can be read).

Needs the ``[trl]`` extra. Run from the repository root::

    python examples/trl_grpo.py [--steps 4] [--data ../shared/bench/gsm8k] [--max-completion-length 64] [--threads N]

The prompts are GSM8K test problems when ``--data`` holds GSM8K's ``test.jsonl`` (the
development copy in ``../shared/bench/gsm8k``), else a few built-in problems in the same format.
Each dataset row is a conversational prompt and GSM8K's ``answer`` column (the worked solution
ending in ``#### N``), which reaches the skill as its ``reference`` input. TRL logs the skill's
mean reward as ``rewards/math_answer/mean`` and the share of ``ok``/``na``/``error`` rows as
``skilldsl/math_answer/*``. ``benchmarks/bench_trl.py`` times this trainer.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SYSTEM = "Solve the math problem step by step. End with a last line of the form '#### <number>'."

# GSM8K-style problems (question, worked solution ending in "#### N") for when GSM8K is not at hand.
BUILTIN = [
    ("Tom has 3 boxes with 12 apples each. He gives away 10 apples. How many apples does he have left?",
     "3 * 12 = 36 apples. 36 - 10 = 26.\n#### 26"),
    ("A notebook costs $4 and a pen costs $2. How much do 5 notebooks and 3 pens cost?",
     "5 * 4 = 20 and 3 * 2 = 6, so 20 + 6 = 26.\n#### 26"),
    ("Sara reads 15 pages a day. How many pages does she read in 2 weeks?",
     "2 weeks = 14 days. 14 * 15 = 210.\n#### 210"),
    ("A train travels 60 km per hour for 3 hours and then 40 km per hour for 2 hours. How far does it go?",
     "60 * 3 = 180 and 40 * 2 = 80, so 180 + 80 = 260.\n#### 260"),
]

__all__ = ["problems", "build", "main"]


def problems(data: "str | Path", n: int) -> "list[dict]":
    """``n`` dataset rows: ``prompt`` (system + user messages) and ``answer`` (the worked solution)."""
    path = Path(data) / "test.jsonl"
    if path.is_file():
        with path.open(encoding="utf-8") as f:
            pairs = [(row["question"], row["answer"]) for row in map(json.loads, itertools.islice(f, n))]
    else:
        pairs = [BUILTIN[i % len(BUILTIN)] for i in range(n)]
    return [{"prompt": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}], "answer": a}
            for q, a in pairs]


def build(args: argparse.Namespace, *, cache: bool = True):
    """The GRPOTrainer and its SkillReward. The policy is the embedded model, loaded through
    skilldsl's resolver (the same file the skill's judge uses, as a separate trainable copy)."""
    import torch
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from skilldsl.integrations.trl import SkillReward
    from skilldsl.runtime.backends.models import load_model, resolve_model

    if args.threads:
        torch.set_num_threads(args.threads)  # policy and judge alike: on a shared CPU, 1 can be many times faster
    tokenizer, model = load_model(resolve_model(None), "cpu", torch.float32)
    tokenizer.padding_side = "left"  # GRPO generates from left-padded prompts
    reward = SkillReward("math_answer", columns={"answer": "reference"}, cache=cache)
    config = GRPOConfig(
        output_dir=args.output_dir, max_steps=args.steps, per_device_train_batch_size=args.generations,
        num_generations=args.generations, max_completion_length=args.max_completion_length,
        learning_rate=5e-6, logging_steps=1, report_to="none", use_cpu=True, save_strategy="no", seed=0,
        gradient_checkpointing=False)  # TRL's default recomputes activations: memory a 135M model does not need
    dataset = Dataset.from_list(problems(args.data, args.steps))
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=config, train_dataset=dataset,
                          processing_class=tokenizer)
    return trainer, reward


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps (one prompt each)")
    parser.add_argument("--generations", type=int, default=4, help="completions per prompt (the GRPO group)")
    parser.add_argument("--max-completion-length", type=int, default=64, help="tokens per completion")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "bench" / "gsm8k"),
                        help="a folder with GSM8K's test.jsonl (else built-in problems)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--output-dir", default="trl-grpo-out", help="TRL's output folder (no checkpoints are saved)")
    return parser.parse_args(argv)


METRICS = ("rewards/math_answer/mean", "skilldsl/math_answer/ok", "skilldsl/math_answer/na",
           "skilldsl/math_answer/error", "step_time")


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    trainer, reward = build(args)
    source = "GSM8K test problems" if (Path(args.data) / "test.jsonl").is_file() else "built-in problems"
    print(f"training {args.steps} steps on {source}, {args.generations} completions each")
    trainer.train()
    for entry in trainer.state.log_history:
        if "rewards/math_answer/mean" in entry:
            print(f"step {entry['step']}: " + "  ".join(f"{k}={entry[k]:.3g}" for k in METRICS if k in entry))
    print("reward calls:", json.dumps(reward.summary()))


if __name__ == "__main__":
    main()
