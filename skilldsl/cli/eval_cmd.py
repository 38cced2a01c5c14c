"""``skilldsl eval SKILL DATA``: measure a skill as a reward model on a benchmark.

The command's core, :func:`execute`, takes a ``load_scorer(path, **options)`` function so a
test can inject a scorer without a model; the CLI passes :func:`skilldsl.cli._common.load_scorer`
(:func:`skilldsl.load`).
"""
from __future__ import annotations

import argparse
import json
import sys

from ._common import (add_model_arguments, add_plugin_argument, count, eval_error, load_scorer, load_skill,
                      reserved_stdout)

__all__ = ["add_parser", "execute", "add_judge_arguments", "judge_options"]


def add_parser(subparsers) -> None:
    """Register ``eval`` and its options."""
    p = subparsers.add_parser("eval", help="measure a skill on a benchmark (accuracy, CI, report)",
                              description="Evaluate a skill as a reward model on a native benchmark file.")
    p.add_argument("skill", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    p.add_argument("data", metavar="DATA",
                   help="benchmark file or directory (LLMBar, PandaLM, JudgeBench, RM-Bench, ...)")
    from ..eval.formats import FORMATS  # pure-Python registry: cheap to import
    from ..eval.items import SPLITS

    p.add_argument("--format", dest="fmt", choices=list(FORMATS),
                   help="data format (auto-detected from the fields when omitted)")
    p.add_argument("--baseline", metavar="SKILL", help="a second skill scored on the same items (paired test)")
    p.add_argument("--limit", type=count, metavar="N", help="evaluate only the first N items")
    p.add_argument("--per-subset", type=count, metavar="N",
                   help="evaluate only the first N items of every subset (applied before --limit)")
    p.add_argument("--split", choices=SPLITS, default="all",
                   help="the dev half (to tune on) or the held-out test half, by a salted hash of each "
                        "item id (applied before --per-subset and --limit; default all)")
    p.add_argument("--report", metavar="FILE", help="write a report: FILE.html (self-contained) or FILE.md")
    # --checkpoint, not -o/--output: elsewhere that is a command's main output; --out is the old name
    p.add_argument("--checkpoint", "--out", dest="checkpoint", metavar="FILE",
                   help="per-item JSONL checkpoint that --resume continues (default: the report path with "
                        ".jsonl; --out is an older name for it)")
    p.add_argument("--resume", action="store_true", help="skip items already in a matching checkpoint")
    p.add_argument("--max-skipped", type=share, default=DEFAULT_MAX_SKIPPED, metavar="SHARE",
                   help="exit 1 when more than this share of the rows were skipped (default "
                        f"{DEFAULT_MAX_SKIPPED}): the accuracy of what is left would not be the benchmark's")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_judge_arguments(p)
    p.set_defaults(func=lambda args: execute(args, load_scorer))


def add_judge_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``eval`` and ``rank``: plugins, model, seed, orientation, selection."""
    add_model_arguments(p)
    add_plugin_argument(p)
    p.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the candidate-order coin (default 0)")
    p.add_argument("--both-orders", action="store_true", help="ask every comparison in both orders")
    p.add_argument("--tie-margin", type=float, default=0.0, metavar="X", help="|P(a better) - 0.5| <= margin is a tie")
    p.add_argument("--method", choices=["argmax", "knockout", "round-robin"],
                   help="best-of-N selection (argmax: pointwise and listwise skills; the others: pairwise; "
                        "default: knockout for a pairwise skill, else argmax)")
    p.add_argument("--rating", default="bt", choices=["bt", "elo", "borda"], help="round-robin ratings")
    p.add_argument("--votes", type=int, default=1, metavar="N", help="ask each comparison N times; the mean decides")
    p.add_argument("--withhold", default="", metavar="FIELDS", help="comma-separated visible fields never passed (e.g. reference)")


def judge_options(args):
    """:class:`JudgeOptions` from parsed arguments."""
    from ..eval.judge import JudgeOptions

    withhold = tuple(sorted(f.strip() for f in args.withhold.split(",") if f.strip()))
    return JudgeOptions(seed=args.seed, both_orders=args.both_orders, tie_margin=args.tie_margin,
                        method=args.method, rating=args.rating, votes=max(1, args.votes), withhold=withhold)


def execute(args, load_scorer) -> int:
    """Run the evaluation described by ``args``; print the JSON summary (the only thing on
    stdout); return the exit code."""
    from ..eval.items import EvalError

    with reserved_stdout() as stdout:
        try:
            summary = _evaluate(args, load_scorer)
        except EvalError as exc:
            return eval_error(exc)
        print(json.dumps(summary, indent=2, default=str), file=stdout)
    return _too_many_skipped(summary, args.max_skipped)


DEFAULT_MAX_SKIPPED = 0.05


def share(text: str) -> float:
    """A share in [0, 1], for ``--max-skipped``."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1")
    return value


def _too_many_skipped(summary: dict, most: float) -> int:
    """1, with the count and the most common reasons on stderr, when more than ``most`` of the
    rows were skipped; else 0."""
    skipped = summary["skipped"]["count"]
    rows = skipped + summary["items"]
    if not rows or skipped / rows <= most:
        return 0
    reasons = "; ".join(f"{reason} ({n})" for reason, n in list(summary["skipped"]["reasons"].items())[:3])
    print(f"error: {skipped} of {rows} rows ({skipped / rows:.0%}) were skipped, more than --max-skipped "
          f"{most:g}; the accuracy above is not the benchmark's. Most common: {reasons}", file=sys.stderr)
    return 1


def _evaluate(args, load_scorer) -> dict:
    """The summary of the evaluation ``args`` describe (raises :class:`EvalError`)."""
    from ..eval.items import UsageError
    from ..eval.report import write_report
    from ..eval.session import checkpoint_paths, run_eval

    ckpt = None
    try:
        scorer = load_skill(args, load=load_scorer)
        baseline = load_skill(args, args.baseline, load=load_scorer) if args.baseline else None
        ckpt, base_ckpt = checkpoint_paths(args.checkpoint, args.report)
        if args.resume and ckpt is None:
            raise UsageError("--resume needs a checkpoint: give --checkpoint FILE.jsonl or --report FILE")
        run = run_eval(scorer, args.data, fmt=args.fmt, baseline=baseline, limit=args.limit,
                       per_subset=args.per_subset, split=args.split,
                       options=judge_options(args), checkpoint=ckpt, baseline_checkpoint=base_ckpt,
                       resume=args.resume, progress=not args.no_progress)
    except KeyboardInterrupt:
        if ckpt:
            print(f"finished items are saved in {ckpt}; run again with --resume to continue", file=sys.stderr)
        raise
    run.summary["model"] = args.model or "the skill's default"
    if args.report:
        run.summary["report"] = str(write_report(run, args.report))
    if ckpt:
        run.summary["checkpoint"] = ckpt
    return run.summary
