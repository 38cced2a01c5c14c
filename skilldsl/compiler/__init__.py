"""The compiler: ``.skill`` -> checked, content-hashed IR (:class:`~skilldsl.ir.Program`).

Stages, each inspectable on its own (``skilldsl dump --stage ast|ir``):
``loader`` (YAML with positions + JSON Schema) -> ``parse`` (skill AST with expressions and
templates) -> ``expand`` (evidence templates, ``for:``, into plain evidence) -> ``checker`` (names,
types, visibility, cycles) -> ``lower`` (IR + plan).
The runtime never imports this package.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import Diagnostic, InternalError, SkillError
from ..ir import Program
from .ast import Skill

__all__ = ["compile_file", "compile_source", "parse_file", "check_file", "import_plugins"]


def import_plugins(modules: "list[str] | None") -> None:
    """Import verifier plugin modules (``--plugin``) before a skill that uses them is compiled or run.
    A plugin that fails to import is the author's to fix: a one-line :class:`SkillError`."""
    if not modules:
        return
    from ..verifiers import load_plugins

    try:
        load_plugins(list(modules))
    except Exception as exc:  # an author's module: ImportError, SyntaxError, whatever it raises
        raise SkillError(f"cannot import verifier plugin: {type(exc).__name__}: {exc}") from None


def parse_file(path: "str | Path") -> Skill:
    """Load and parse a ``.skill`` file into its AST (not yet checked)."""
    from .loader import load_document
    from .parse import build_skill

    if Path(path).suffix == ".skillc":
        raise SkillError(Diagnostic(None, f"{path}: this is a compiled skill; the compiler reads .skill sources"))
    return _guarded(lambda: build_skill(load_document(path), Path(path).parent))


def compile_file(path: "str | Path", *, diagnostics: "list[Diagnostic] | None" = None,
                 plugins: "list[str] | None" = None, **_options) -> Program:
    """Compile a ``.skill`` file; raises :class:`SkillError` on any mistake in it.

    Warnings (e.g. unused evidence) are appended to ``diagnostics`` when a list is given;
    ``plugins`` names modules registering extra verifiers (imported first). Other options
    (the runtime's) are ignored.
    """
    import_plugins(plugins)
    return _guarded(lambda: _compile(parse_file(path), diagnostics))


def compile_source(text: str, file: str = "<skill>", base_dir: "str | Path" = ".", *,
                   diagnostics: "list[Diagnostic] | None" = None) -> Program:
    """Compile ``.skill`` text held in memory (files are looked up under ``base_dir``)."""
    from .loader import parse_document
    from .parse import build_skill

    found: list[Diagnostic] = []
    try:
        return _guarded(lambda: _compile(build_skill(parse_document(text, file), Path(base_dir)), found))
    except SkillError as exc:  # the text is not on disk: diagnostics carry their source lines
        raise exc.with_source(file, text) from None
    finally:
        if diagnostics is not None:
            diagnostics.extend(d.with_source(file, text) for d in found)


def check_file(path: "str | Path") -> "list[Diagnostic]":
    """Check a ``.skill`` file: its warnings (errors raise :class:`SkillError`)."""
    found: list[Diagnostic] = []
    compile_file(path, diagnostics=found)
    return found


def _compile(skill: Skill, diagnostics) -> Program:
    from .checker import check_skill
    from .expand import expand
    from .lower import lower

    skill = expand(skill)  # evidence templates (for:) -> plain evidence
    analysis = check_skill(skill)
    if diagnostics is not None:
        diagnostics.extend(analysis.warnings)
    return lower(skill, analysis)


def _guarded(step):
    """Run a compiler step; anything but a SkillError is our bug, reported as such."""
    try:
        return step()
    except (SkillError, InternalError):
        raise
    except RecursionError as exc:
        raise SkillError("the skill is nested too deeply to compile") from exc
    except Exception as exc:
        raise InternalError(f"compiler failed: {type(exc).__name__}: {exc}", exc) from exc
