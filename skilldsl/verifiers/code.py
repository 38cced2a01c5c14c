"""Code evidence: a candidate program against unit tests (HumanEval style) or stdin/stdout cases
(LiveCodeBench/APPS style), in the sandbox, through the trusted harness (``sandbox/code.py``)."""
from __future__ import annotations

from .registry import Verdict, verifier

__all__ = ["passes", "io_passes"]


@verifier(
    "code.passes",
    version="2",  # 2: tests in their own process, the candidate in another (was: one program)
    params=("response: text", "test: text", "entry_point: text", "prompt: text = ''", "timeout: number = 10"),
    isolate=False,  # manages its own sandboxed subprocess (with its own wall-clock limit) ...
    concurrent=True,  # ... and only waits for it: a batch's calls run side by side on threads
)
def passes(response: str, test: str, entry_point: str, *, prompt: str = "", timeout: float = 10) -> Verdict:
    """True iff the tests' ``check(candidate)`` returns with ``prompt + response`` as the candidate.

    The tests run in a harness process and call the candidate, which runs in a separate process
    (forked from the harness before the tests reached it), over a pipe with plain data; the detail
    carries the failing output, the exit status, the limit hit and the isolation level.
    """
    from ..sandbox.code import check_program

    return check_program(response, test, entry_point, prompt=prompt, timeout=timeout)


@verifier(
    "code.io_passes",
    version="1",
    params=("response: text", "inputs: list", "outputs: list", "timeout: number = 6"),
    isolate=False,
    concurrent=True,
)
def io_passes(response: str, inputs: list, outputs: list, *, timeout: float = 6) -> Verdict:
    """True iff the response's program prints ``outputs[i]`` for stdin ``inputs[i]``, every case.

    Each case runs in a process of its own in the sandbox, ``timeout`` seconds each; the outputs
    are compared outside it (line by line, ignoring runs of white space and trailing blank lines),
    so the expected outputs never enter the sandbox.
    """
    from ..sandbox.code import io_program

    return io_program(response, inputs, outputs, timeout=timeout)
