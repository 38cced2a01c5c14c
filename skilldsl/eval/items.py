"""The uniform item every data-set reader produces, and the record of a skipped row.

An :class:`EvalItem` separates what the skill may see (``inputs`` and ``candidates``) from
what only the scorer of the benchmark may see (``label``, ``num_correct``, ``hidden``).
Candidates keep the file's order; the judge never sees that order directly, because the
runner re-orients every comparison with a seeded coin that ignores the label.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

__all__ = ["EvalItem", "Skipped", "Dataset", "EvalError", "UsageError", "KINDS"]

# What an item asks of the judge:
#   pair    two candidates, ``label`` = index of the better one, None = tie
#   bestof  ``num_correct`` chosen candidates first, then the rejected ones (RewardBench 2)
#   matrix  3 chosen style variants then 3 rejected ones (RM-Bench's 3x3 matrix)
#   bon     best-of-N selection; ``hidden["correct"]`` grades every candidate (GSM8K)
#   rank    best-of-N selection with no grades (``skilldsl rank``)
KINDS = ("pair", "bestof", "matrix", "bon", "rank")


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

    def to_json(self) -> dict:
        """Plain-JSON view for the summary."""
        return {"row": self.row, "id": self.id, "reason": self.reason}


@dataclass
class Dataset:
    """What a reader returns: the items, the skipped rows, and where they came from."""

    format: str
    path: str
    items: list
    skipped: list = field(default_factory=list)
