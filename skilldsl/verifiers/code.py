"""Code evidence: run a candidate program against its tests in the sandbox (HumanEval style)."""
from __future__ import annotations

from .registry import Verdict, verifier

__all__ = ["passes"]


@verifier(
    "code.passes",
    version="1",
    params=("response: text", "test: text", "entry_point: text", "prompt: text = ''", "timeout: number = 10"),
    isolate=False,  # manages its own sandboxed subprocess (with its own wall-clock limit) ...
    concurrent=True,  # ... and only waits for it: a batch's calls run side by side on threads
)
def passes(response: str, test: str, entry_point: str, *, prompt: str = "", timeout: float = 10) -> Verdict:
    """True iff ``prompt + response`` passes ``test`` and ``check(entry_point)`` in the sandbox.

    The detail carries the failing output (stderr tail), the exit status and the limit hit.
    """
    from ..sandbox.code import check_program

    return check_program(response, test, entry_point, prompt=prompt, timeout=timeout)
