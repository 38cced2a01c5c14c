"""The runtime: Program -> Results. Imports ir/, verifiers/, sandbox/; never the compiler,
and never torch until a model is actually needed."""
from .evaluate import Outcome, Pending, evaluate
from .result import EvidenceTrace, Result, format_result
from .skill import Skill
from ..values import Value, error, na, ok

__all__ = [
    "Skill", "Result", "EvidenceTrace", "format_result",
    "Value", "ok", "na", "error", "evaluate", "Pending", "Outcome",
]
