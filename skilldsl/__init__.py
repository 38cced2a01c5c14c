"""skilldsl: Reward-Evaluation Skills as a compiled language.

``compile`` turns a ``.skill`` file into a checked, content-hashed :class:`Program`;
``load`` gives a runnable :class:`~skilldsl.runtime.Skill`. Importing skilldsl never imports torch.
"""
from __future__ import annotations

from .errors import InternalError, SkillError, Span
from .ir import Program

__all__ = ["compile", "load", "program", "stock_skill", "Program", "SkillError", "InternalError", "Span", "__version__"]
__version__ = "0.2.0"


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

    return Skill(program(path), **options)


def program(path, **options) -> Program:
    """The :class:`Program` of a ``.skill`` (compiled with ``options``), a ``.skillc`` (read) or a
    stock skill name.

    Every problem the author can fix (a missing file, an edited ``.skillc``, an unknown name)
    is a one-line :class:`SkillError`, so the CLI never shows it as an internal error.
    """
    from pathlib import Path

    if isinstance(path, Program):
        return path
    path = Path(path)
    if path.suffix == ".skillc":
        return _load_skillc(path)
    if path.suffix != ".skill" and not path.exists():
        try:
            path = stock_skill(str(path))
        except FileNotFoundError as exc:
            raise SkillError(str(exc)) from None
    return compile(path, **options)


def _load_skillc(path) -> Program:
    try:
        return Program.load(path)
    except FileNotFoundError:
        raise SkillError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:  # unreadable, not JSON, not IR, or edited after build
        message = str(exc)
        raise SkillError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def stock_skill(name: str):
    """Path of a stock skill shipped with skilldsl (``skills/<name>.skill``)."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for folder in (here / "_data" / "skills", here.parent / "skills"):
        candidate = folder / f"{name}.skill"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no skill file {name!r} and no stock skill of that name")
