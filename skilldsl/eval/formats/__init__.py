"""Data-set formats: one reader per native format, registered in :data:`FORMATS`.

``read_dataset(path, fmt=None)`` auto-detects the format from the rows' fields when ``fmt``
is not given and fails with the list of known formats when nothing matches.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..items import Dataset, EvalError, select_split
from . import lists, pairs
from .common import skips_within, sniff_rows

__all__ = ["Format", "FORMATS", "read_dataset", "detect_format", "format_names"]


@dataclass(frozen=True)
class Format:
    """A registered data-set format: how to read it, recognise it, and its shipped baselines."""

    name: str
    about: str
    read: Callable
    detect: Callable
    baselines: "Callable | None" = None


# Detection tries formats in this order: the more specific field sets first.
FORMATS = {f.name: f for f in (
    Format("pandalm", "PandaLM test set (3 annotators, ties)", pairs.read_pandalm, pairs.detect_pandalm,
           pairs.pandalm_baselines),
    Format("llmbar", "LLMBar pairs (label 1|2); a directory = all subsets", pairs.read_llmbar, pairs.detect_llmbar),
    Format("judgebench", "JudgeBench, original (label A>B|B>A) or OpenRS form (ground_truth -> reference)", pairs.read_judgebench,
           pairs.detect_judgebench),
    Format("rmbench", "RM-Bench (3 chosen x 3 rejected style variants)", lists.read_rmbench, lists.detect_rmbench),
    Format("rewardbench2", "RewardBench 2 (best-of-4, Ties)", lists.read_rewardbench2, lists.detect_rewardbench2),
    Format("gsm8k-bon", "GSM8K best-of-4 graded solutions", lists.read_gsm8k_bon, lists.detect_gsm8k_bon),
    Format("candidates", "prompt + candidates[] (+ correct[]) for best-of-N", lists.read_candidates,
           lists.detect_candidates),
    Format("openrs", "OpenRS prompt/chosen/rejected JSONL", pairs.read_openrs, pairs.detect_openrs),
)}


def format_names() -> str:
    """``name (about)`` of every format, for error messages and ``--help``."""
    return "; ".join(f"{f.name} ({f.about})" for f in FORMATS.values())


def detect_format(path: Path) -> str:
    """The first registered format whose detector accepts the file's first rows."""
    rows = sniff_rows(path)
    for fmt in FORMATS.values():
        # most of the first rows must fit: one bad row must not hide the format
        fits = sum(bool(fmt.detect(path, [row])) for row in rows) if rows else int(fmt.detect(path, rows))
        if fits * 2 > len(rows):
            return fmt.name
    near = lists.near_formats(rows)
    raise EvalError(f"{path}: cannot tell the data format from its fields{f' ({near})' if near else ''}; "
                    f"pass --format, one of: {format_names()}")


def read_dataset(path, fmt: "str | None" = None, limit: "int | None" = None,
                 per_subset: "int | None" = None, split: str = "all", candidates: str = "candidates") -> Dataset:
    """Read ``path`` in format ``fmt`` (auto-detected if None) into a :class:`Dataset`.

    ``split`` keeps the ``dev`` or ``test`` half (:func:`~skilldsl.eval.items.split_of`); then
    ``per_subset`` keeps the first N items of every subset (so a capped run still covers every
    subset of a multi-file set); ``limit`` then keeps the first N items overall, and the skipped
    rows up to the last of them (so ``limit`` counts items, where ``score --limit`` counts rows).
    ``candidates``: the list field of the ``candidates`` format."""
    path = Path(path)
    if not path.exists():
        raise EvalError(f"{path}: no such file or directory")
    name = fmt or detect_format(path)
    if name not in FORMATS:
        raise EvalError(f"unknown format {name!r}; known formats: {format_names()}")
    if name == "candidates":
        read, skipped = lists.read_candidates(path, candidates)
    else:
        read, skipped = FORMATS[name].read(path)
    items, skipped = select_split(read, split), select_split(skipped, split)
    if per_subset is not None:
        items = _first_per_subset(items, per_subset)
    if limit is not None and limit < len(items):
        items = items[:limit]
        # the rows after the last item kept were not asked for: their skips are not reported
        last = next((k for k, item in enumerate(read) if item is items[-1]), -1) if items else -1
        skipped = skips_within(skipped, last + 1)
    return Dataset(format=name, path=str(path), items=items, skipped=skipped, split=split)


def _first_per_subset(items: list, n: int) -> list:
    seen: dict = {}
    kept = []
    for item in items:
        seen[item.subset] = seen.get(item.subset, 0) + 1
        if seen[item.subset] <= n:
            kept.append(item)
    return kept
