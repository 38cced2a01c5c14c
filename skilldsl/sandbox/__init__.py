"""Process sandbox for untrusted code: namespaces, an allow-listed root, hard limits, kill tree.

``run(code, limits=...)`` runs one program and returns a :class:`SandboxResult`;
:class:`SandboxPool` / ``run_many`` run many on a bounded pool. Code evidence builds on it through
a trusted harness (``code.py``, ``_harness.py``): ``check_program`` (``code.passes``),
``io_program`` (``code.io_passes``) and ``run_skill_code`` (``run`` evidence).
See ``docs/internals.md`` ("Sandbox") for what is isolated and what is not.
"""
from .code import (
    build_program, candidate_program, check_program, compare_output, extract_code, io_program, run_skill_code,
    run_skill_code_many, value_verdict,
)
from .core import Limits, SandboxResult, isolation_level, run
from .pool import SandboxPool, default_workers, run_many

__all__ = [
    "Limits",
    "SandboxPool",
    "SandboxResult",
    "build_program",
    "candidate_program",
    "check_program",
    "compare_output",
    "default_workers",
    "extract_code",
    "isolation_level",
    "io_program",
    "run",
    "run_many",
    "run_skill_code",
    "run_skill_code_many",
    "value_verdict",
]
