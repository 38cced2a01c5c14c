"""Process sandbox for untrusted code: hard limits, namespaces, an unprivileged uid, kill tree.

``run(code, limits=...)`` runs one program and returns a :class:`SandboxResult`;
:class:`SandboxPool` / ``run_many`` run many on a bounded pool; ``check_program`` (behind the
``code.passes`` verifier) and ``run_skill_code`` (``run`` evidence) build on it.
See ``docs/internals.md`` ("Sandbox") for what is isolated and what is not.
"""
from .code import build_program, check_program, extract_code, run_skill_code, run_skill_code_many, value_verdict
from .core import HIDDEN_DIRS, Limits, SandboxResult, run
from .pool import SandboxPool, default_workers, run_many

__all__ = [
    "HIDDEN_DIRS",
    "Limits",
    "SandboxPool",
    "SandboxResult",
    "build_program",
    "check_program",
    "default_workers",
    "extract_code",
    "run",
    "run_many",
    "run_skill_code",
    "run_skill_code_many",
    "value_verdict",
]
