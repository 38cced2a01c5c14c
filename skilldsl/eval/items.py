"""The uniform item every data-set reader produces, and the record of a skipped row.

An :class:`EvalItem` separates what the skill may see (``inputs`` and ``candidates``) from
what only the scorer of the benchmark may see (``label``, ``num_correct``, ``hidden``).
Candidates keep the file's order; the judge never sees that order directly, because the
runner re-orients every comparison with a seeded coin that ignores the label.

A data set splits into fixed halves, ``dev`` to tune on and the held-out ``test`` to report
(tuning on the items one then reports overstates a skill): an item is in ``dev`` when the
first 8 bytes of ``sha256(SPLIT_SALT + ":" + id)``, as a big-endian integer, are even. The hash
ignores file order, subset and label, so the split is the same on every run and machine and
cuts every subset close to half (a fair coin per item).
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

__all__ = ["EvalItem", "Skipped", "Dataset", "EvalError", "UsageError", "KINDS", "SPLITS", "SPLIT_SALT",
           "split_of", "select_split"]

# What an item asks of the judge:
#   pair    two candidates, ``label`` = index of the better one, None = tie
#   bestof  ``num_correct`` chosen candidates first, then the rejected ones (RewardBench 2)
#   matrix  3 chosen style variants then 3 rejected ones (RM-Bench's 3x3 matrix)
#   bon     best-of-N selection; ``hidden["correct"]`` grades every candidate (GSM8K)
#   rank    best-of-N selection with no grades (``skilldsl rank``)
KINDS = ("pair", "bestof", "matrix", "bon", "rank")

SPLITS = ("all", "dev", "test")
SPLIT_SALT = "skilldsl-split-v1"  # changing it re-deals every item: never, once numbers are reported


class EvalError(ValueError):
    """A user-facing problem with an evaluation: unknown format, unreadable file, bad data."""


class UsageError(EvalError):
    """Options that do not go together (the CLI exits 2 for these, 1 for other :class:`EvalError`)."""


@dataclass
class EvalItem:
    """One benchmark item in the uniform shape the runner understands."""

    id: str
    subset: str
    kind: str
    candidates: list
    inputs: dict = field(default_factory=dict)  # visible fields: prompt, reference, checklist...
    label: "int | None" = None
    num_correct: int = 0
    hidden: dict = field(default_factory=dict)  # never reaches the skill

    def to_json(self) -> dict:
        """Plain-JSON view (for reports and debugging)."""
        return asdict(self)


@dataclass(frozen=True)
class Skipped:
    """A row that could not become an item, with the reason (never a silent drop)."""

    row: str
    reason: str
    id: "str | None" = None
    # how many items its reader had made when it met this row (None: not a reader's skip);
    # a --limit that stops before the row leaves its skip out
    items_before: "int | None" = field(default=None, compare=False)

    def to_json(self) -> dict:
        """Plain-JSON view for the summary."""
        return {"row": self.row, "id": self.id, "reason": self.reason}


@dataclass
class Dataset:
    """What a reader returns: the items, the skipped rows, where they came from, and which
    half of the data they are (``all``, ``dev`` or ``test``: :func:`split_of`)."""

    format: str
    path: str
    items: list
    skipped: list = field(default_factory=list)
    split: str = "all"


def split_of(item_id: str) -> str:
    """``"dev"`` or ``"test"``: the half of its data set the item with this id belongs to."""
    digest = hashlib.sha256(f"{SPLIT_SALT}:{item_id}".encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:8], "big") % 2 == 0 else "test"


def select_split(rows: list, split: str) -> list:
    """The rows (items, or skipped rows) of ``split`` in their order; ``all``: every row.
    A skipped row without an id cannot be placed and stays in both halves."""
    if split not in SPLITS:
        raise UsageError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
    return [row for row in rows if split == "all" or row.id is None or split_of(row.id) == split]
