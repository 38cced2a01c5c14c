"""One evaluation end to end: read the data, judge it (and a baseline), summarise.

This is the core of ``skilldsl eval`` as a function of scorer objects, so tests (and
notebooks) can pass any object with ``score(samples) -> results``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import metrics
from .formats import FORMATS, read_dataset
from .items import Dataset
from .judge import Judge, JudgeOptions
from .runner import checkpoint_header, run_items
from .summary import summarize

__all__ = ["EvalRun", "run_eval", "checkpoint_paths"]


@dataclass
class EvalRun:
    """Everything an evaluation produced: summary, per-item records, the data set."""

    summary: dict
    records: list
    dataset: Dataset
    baseline_records: list = field(default_factory=list)


def checkpoint_paths(out: "str | None", report: "str | None") -> "tuple[str | None, str | None]":
    """Checkpoints for the skill and the baseline: ``--checkpoint`` or the report path as ``.jsonl``."""
    base = Path(out) if out else (Path(report).with_suffix(".jsonl") if report else None)
    if base is None:
        return None, None
    return str(base), str(base.with_name(base.stem + ".baseline" + base.suffix))


def run_eval(scorer, data, *, fmt: "str | None" = None, baseline=None, limit: "int | None" = None,
             per_subset: "int | None" = None, split: str = "all",
             options: JudgeOptions = JudgeOptions(), checkpoint: "str | None" = None,
             baseline_checkpoint: "str | None" = None, resume: bool = False, progress: bool = True) -> EvalRun:
    """Evaluate ``scorer`` (and optionally ``baseline``) on the data set at ``data``
    (its ``split`` half, see :func:`~skilldsl.eval.items.split_of`)."""
    started = time.perf_counter()
    dataset = read_dataset(data, fmt, limit, per_subset, split)
    judge = Judge(scorer, options)
    records, skipped = run_items(judge, dataset, checkpoint=checkpoint, resume=resume, progress=progress)
    summary = summarize(records, skipped, dataset, judge.info, seed=options.seed)
    summary["options"] = checkpoint_header(judge, dataset)["options"]
    run = EvalRun(summary, records, dataset)
    if baseline is not None:
        _add_baseline(run, Judge(baseline, options), baseline_checkpoint, resume, progress)
    _add_dataset_baselines(run)
    run.summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    return run


def _add_baseline(run: EvalRun, judge: Judge, checkpoint, resume: bool, progress: bool) -> None:
    records, skipped = run_items(judge, run.dataset, checkpoint=checkpoint, resume=resume, progress=progress)
    run.baseline_records = records
    base = summarize(records, skipped, run.dataset, judge.info)
    run.summary["baseline"] = {
        "skill": base["skill"], "reward_id": base["reward_id"], "accuracy": base["accuracy"], "ci": base["ci"],
        "n": base["n"], "errors": base["errors"], "subsets": base["subsets"], "cost": base["cost"],
        "paired": metrics.paired_difference(run.records, records),
    }


def _add_dataset_baselines(run: EvalRun) -> None:
    hook = FORMATS[run.dataset.format].baselines
    if hook is None:
        return
    judged_ids = {r["id"] for r in run.records}
    items = [item for item in run.dataset.items if item.id in judged_ids]
    found = hook(Path(run.dataset.path), items)
    if found:
        run.summary["dataset_baselines"] = found
