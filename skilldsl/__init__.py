"""skilldsl: Reward-Evaluation Skills as a compiled language.

``compile`` turns a ``.skill`` file into a checked, content-hashed :class:`Program`;
``load`` gives a runnable :class:`~skilldsl.runtime.Skill`. Importing skilldsl never imports torch.
"""
from __future__ import annotations

from .errors import InternalError, SkillError, Span
from .ir import Program

__all__ = ["compile", "load", "stock_skill", "Program", "SkillError", "InternalError", "Span", "__version__"]
__version__ = "0.1.0"


def compile(path, **options) -> Program:  # noqa: A001 - the facade's verb
    """Compile a ``.skill`` file into a :class:`Program` (raises :class:`SkillError`)."""
    from .compiler import compile_file

    return compile_file(path, **options)


def load(path, **options):
    """Load a ``.skill`` (compiled on the fly) or ``.skillc``, or a stock skill by name
    (``"pairwise_judge"``), as a runnable :class:`~skilldsl.runtime.Skill`.

    Options go to the runtime: ``model``, ``device``, ``dtype``, ``backend``, ``cache``...
    The facade compiles; the runtime itself never imports the compiler.
    """
    from .runtime import Skill

    return Skill(_program(path), **options)


def _program(path) -> Program:
    from pathlib import Path

    if isinstance(path, Program):
        return path
    path = Path(path)
    if path.suffix == ".skillc":
        return Program.load(path)
    if path.suffix != ".skill" and not path.exists():
        path = stock_skill(str(path))
    return compile(path)


def stock_skill(name: str):
    """Path of a stock skill shipped with skilldsl (``skills/<name>.skill``)."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for folder in (here / "_data" / "skills", here.parent / "skills"):
        candidate = folder / f"{name}.skill"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no skill file {name!r} and no stock skill of that name")
