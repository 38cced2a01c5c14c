"""Run a scorer over a data set: skips, batching, progress, checkpoint and resume."""
from __future__ import annotations

from dataclasses import asdict

from ..data import takes_alternatives
from ..progress import progress_bar
from .checkpoint import Checkpoint
from .items import Dataset, Skipped
from .judge import Judge, JudgeOptions, drive, keep_traces

__all__ = ["run_items", "checkpoint_header"]


def checkpoint_header(judge: Judge, dataset: Dataset) -> dict:
    """What must match for a checkpoint to be resumed: reward id, data, format, split, options."""
    return {"reward_id": judge.info.reward_id, "skill": judge.info.name, "data": dataset.path,
            "format": dataset.format, "split": dataset.split, "options": _options_json(judge.options)}


def _options_json(options: JudgeOptions) -> dict:
    out = asdict(options)
    out["withhold"] = sorted(out["withhold"])
    return out


def run_items(judge: Judge, dataset: Dataset, *, checkpoint: "str | None" = None, resume: bool = False,
              chunk: int = 16, progress: bool = True):
    """Evaluate every item of ``dataset``; return ``(records, skipped)``.

    Items the skill cannot take (a required input missing) are skipped with the reason.
    With ``checkpoint``, records are appended as each chunk finishes; with ``resume`` the
    items already in a matching checkpoint are not asked again.
    """
    todo, skipped = _runnable(judge, dataset)
    store = Checkpoint(checkpoint, checkpoint_header(judge, dataset)) if checkpoint else None
    previous = store.open(resume) if store else []
    wanted = {item.id for item in todo}
    records = [r for r in previous if r["id"] in wanted]
    done = {r["id"] for r in records}
    todo = [item for item in todo if item.id not in done]
    bar = progress_bar(len(todo) + len(done), unit="item", desc=judge.info.name, initial=len(done), enabled=progress)
    traced = keep_traces(records, 0)
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        got = drive(judge.scorer, [judge.evaluate(item) for item in part])
        traced = keep_traces(got, traced)
        if store:
            store.append(got)
        records += got
        bar.update(len(part))
    bar.close()
    order = {item.id: k for k, item in enumerate(dataset.items)}
    records.sort(key=lambda r: order.get(r["id"], len(order)))
    return records, skipped


def _runnable(judge: Judge, dataset: Dataset):
    judge.check_kinds({item.kind for item in dataset.items})
    todo, skipped = [], list(dataset.skipped)
    for item in dataset.items:
        reason = _unfit(judge, item)
        if reason:
            skipped.append(Skipped(f"item {item.id}", reason, item.id))
        else:
            todo.append(item)
    return todo, skipped


def _unfit(judge: Judge, item) -> "str | None":
    """Why the skill cannot take ``item`` (a required input missing, or a list of answers that
    would reach a plain text input), or None."""
    missing = judge.missing_inputs(item)
    if missing:
        return f"skill {judge.info.name!r} requires input(s) {missing} that this row lacks"
    inputs = judge.info.inputs
    listed = next((name for name, value in judge.visible(item).items() if isinstance(value, list)
                   and inputs[name].get("type") == "text" and not takes_alternatives(inputs[name])), None)
    if listed:
        return (f"field {listed!r} is a list of answers, but skill {judge.info.name!r} declares {listed!r} as text "
                "that is not a reference input (only `visibility: reference` reads a list as alternatives)")
    return None
