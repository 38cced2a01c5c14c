"""IFBench's 58 instruction types (allenai/IFBench, Pyatkin et al. 2025) as checkers.

Each family module (``count``, ``ratio``, ``words``, ``formatting``, ``repeat``, ``custom``,
``sentence``) holds its checkers in the shape of :class:`skilldsl.verifiers.ifeval.Instruction`
and, in ``DERIVE``, how to read an instruction's kwargs from its wording when the data has none
(RewardBench 2's Precise IF rows). ``ifeval.follows`` and ``ifeval.all`` reach them through
:func:`skilldsl.verifiers.ifeval.instruction_for`, with IFEval's strict and loose semantics.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..ifeval import Instruction
from . import count, custom, formatting, ratio, repeat, sentence, words

__all__ = ["DERIVE", "INSTRUCTIONS"]

_FAMILIES = (count, custom, formatting, ratio, repeat, sentence, words)

INSTRUCTIONS: "dict[str, Instruction]" = {
    iid: instruction for family in _FAMILIES for iid, instruction in family.INSTRUCTIONS.items()
}
"""Every IFBench instruction id with a checker -> its :class:`Instruction`."""

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {
    iid: derive for family in _FAMILIES for iid, derive in family.DERIVE.items()
}
"""IFBench instruction id -> a function reading its kwargs from the prompt's wording (raises
ValueError with the reason when the wording does not say them)."""
