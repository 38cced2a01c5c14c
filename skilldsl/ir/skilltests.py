"""The ``tests`` field of a compiled skill: what compiler (lowering) and runtime (``skilldsl test``)
both read. Tests sit outside the reward id (`_NOT_HASHED` in :mod:`skilldsl.ir.program`): changing
only a skill's tests does not change the reward it computes, so its id stays.

An IR test is ``{"name", "line", "sample", "expect"}`` plus ``"about"`` and ``"judge"`` when given;
``expect`` holds the keys the author wrote, normalised: ``reward`` and each ``scores`` entry as
``[lo, hi]``, ``decided_by``/``not_asked`` as lists of evidence references (``"judge"``,
``"judge[1]"``).
"""
from __future__ import annotations

import re

__all__ = ["REF_PATTERN", "parse_ref", "REWARD_TOLERANCE"]

# `name` or `name[i]`: i is a candidate (listwise) or an item of an `each` evidence
REF_PATTERN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$")
# `reward: 0.9` means [0.9 - tol, 0.9 + tol]: rewards are floats from probabilities
REWARD_TOLERANCE = 1e-6


def parse_ref(text: str) -> "tuple[str, int | None] | None":
    """``("judge", None)`` for ``judge``, ``("judge", 1)`` for ``judge[1]``, None if malformed."""
    found = REF_PATTERN.match(text)
    if found is None:
        return None
    return found.group(1), (int(found.group(2)) if found.group(2) is not None else None)
