"""Pieces every subcommand shares, so options read and behave the same across commands."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any, Callable, Iterator, TextIO

__all__ = ["sample_lines", "add_plugin_argument", "import_plugins", "add_model_arguments", "backend_option", "runtime_options",
           "load_scorer", "load_skill", "compile_each", "print_diagnostics", "unwritable", "user_error", "eval_error",
           "count", "positive", "reserved_stdout", "output"]


def add_plugin_argument(p: argparse.ArgumentParser) -> None:
    """``--plugin MODULE`` (repeatable): import a module that registers verifiers first."""
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it registers verifiers); repeatable")


def import_plugins(modules: list[str]) -> None:
    """Import the ``--plugin`` modules before a skill is loaded to run: a ``.skillc`` or stock
    skill needs its plugin verifiers at run time just as a ``.skill`` needs them to compile.
    A plugin that fails to import is a one-line :class:`SkillError` (see
    :func:`skilldsl.compiler.import_plugins`). Every command imports plugins through here."""
    from ..compiler import import_plugins as compiler_import_plugins

    compiler_import_plugins(modules)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Where the judge model runs: the same options on ``score``, ``explain``, ``rank``, ``eval``, ``serve``."""
    p.add_argument("--model", metavar="ID",
                   help="judge model for the skill's default alias: Hugging Face id, directory or .gguf "
                        "(default: the embedded judge)")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--dtype", help="float32, bfloat16 ... (default: per device)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the LLM result cache")
    p.add_argument("--backend", metavar="NAME",
                   help="model backend for every model alias: transformers, openai, fake, or one a plugin registers "
                        "(default: each alias's backend in the skill's models:, else transformers)")
    p.add_argument("--backend-option", dest="backend_options", action="append", type=backend_option, default=[],
                   metavar="KEY=VALUE", help="an engine option of the backend (VALUE read as JSON when it parses, "
                                              "else as text); repeatable")
    p.add_argument("--base-url", metavar="URL",
                   help="the chat-completions server of --backend openai, e.g. http://localhost:8000/v1 "
                        "(the same as --backend-option base_url=URL)")


def backend_option(text: str) -> "tuple[str, Any]":
    """An argparse ``type`` for ``--backend-option KEY=VALUE``: ``0.15`` is a number, ``true`` a
    boolean, ``{"a": 1}`` an object, anything that is not JSON (``http://host:8000``) text."""
    from ..data import strict_json

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    try:
        return key.strip(), strict_json(value)
    except ValueError:  # NaN, Infinity and nesting past any setting are not JSON either
        return key.strip(), value


def runtime_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`skilldsl.load` options named by :func:`add_model_arguments`."""
    options = dict(args.backend_options)
    if getattr(args, "base_url", None):
        options["base_url"] = args.base_url
    return {"model": args.model, "device": args.device, "dtype": args.dtype, "cache": not args.no_cache,
            "backend": args.backend, "backend_options": options or None}


def load_scorer(path: str, **options: Any):
    """The runnable skill at ``path`` (``skilldsl.load``), with the options that were given. An
    unknown backend or engine option is a one-line :class:`SkillError` (exit 1)."""
    import skilldsl
    from ..errors import SkillError
    from ..runtime.backends.registry import BackendConfigError

    try:
        return skilldsl.load(path, **{k: v for k, v in options.items() if v is not None})
    except BackendConfigError as exc:
        raise SkillError(str(exc)) from None


def load_skill(args: argparse.Namespace, path: "str | None" = None, *, load: Callable = load_scorer, **extra: Any):
    """The runnable skill ``path`` (default: the command's ``SKILL``), its ``--plugin`` modules
    imported first, with the runtime options of :func:`add_model_arguments` and ``extra``.
    ``load`` stands in for :func:`load_scorer` (a test injects a scorer without a model)."""
    import_plugins(args.plugin)
    return load(path or args.skill, **runtime_options(args), **extra)


def compile_each(paths: list[str], plugins: list[str], done: Callable[[str, Any, list], None]) -> int:
    """Import ``plugins`` once, then compile every path, calling ``done(path, program, warnings)``
    for each that compiles.

    Errors and warnings go to stderr (stdout stays machine-readable); a failure does not stop
    the rest. Returns the exit status: 1 if any path failed, else 0.
    """
    from ..compiler import compile_file
    from ..errors import SkillError

    import_plugins(plugins)  # once for all paths, not once per file
    failed = False
    for path in paths:
        warnings: list = []
        try:
            program = compile_file(path, diagnostics=warnings)
        except SkillError as exc:
            print(exc.render(), file=sys.stderr)
            failed = True
            continue
        finally:
            print_diagnostics(warnings)
        done(path, program, warnings)
    return 1 if failed else 0


def print_diagnostics(diagnostics: list) -> None:
    """Warnings go to stderr, like errors, so stdout stays machine-readable."""
    for diag in diagnostics:
        print(diag.render(), file=sys.stderr)


def unwritable(path: "str | None") -> "str | None":
    """Why the output ``path`` cannot be written (checked before the work, not after), or None."""
    from pathlib import Path

    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        return f"{path}: is a directory"
    if not target.parent.is_dir():
        return f"{path}: no such directory {target.parent}"
    return None


def user_error(message: str) -> int:
    """Report a problem the user can fix as one ``error: ...`` line on stderr; exit status 1."""
    print(f"error: {message}", file=sys.stderr)
    return 1


def eval_error(exc: Exception) -> int:
    """Report an :class:`~skilldsl.eval.items.EvalError`: exit 2 for a usage error, else 1."""
    from ..eval.items import UsageError

    print(f"error: {exc}", file=sys.stderr)
    return 2 if isinstance(exc, UsageError) else 1


def count(text: str) -> int:
    """An argparse ``type`` for ``--limit N``: a whole number >= 0 (else a usage error, exit 2)."""
    return _whole(text, 0)


def positive(text: str) -> int:
    """An argparse ``type`` for sizes such as ``--batch-size N``: a whole number >= 1."""
    return _whole(text, 1)


def _whole(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, not {value}")
    return value


def sample_lines(path: str) -> Iterator[tuple[int, Any]]:
    """``(line number, sample or RowError)`` per non-blank line of the JSONL
    file ``path`` (``-``: stdin), as :mod:`skilldsl.eval.formats.jsonrows` reads them."""
    from ..eval.formats.jsonrows import read_lines

    if path == "-":
        yield from read_lines(sys.stdin.buffer)
        return
    with open(path, "rb") as stream:
        yield from read_lines(stream)


@contextlib.contextmanager
def reserved_stdout() -> Iterator[TextIO]:
    """Reserve stdout for a command's results: yields the stream to write them to.

    For the whole block, file descriptor 1 and ``sys.stdout`` point at stderr, and the yielded
    stream writes to a private duplicate of the real stdout: so nothing else the work prints (a
    verifier plugin's ``print()`` or ``os.write(1, ...)``, a library's chatter, a worker process
    started meanwhile) can inject a line into the results. When ``sys.stdout`` is not file
    descriptor 1 (a test's capture), results go to that object and only ``sys.stdout`` moves.
    """
    original = sys.stdout
    saved = _dup_stdout(original)
    sys.stdout = sys.stderr
    results = os.fdopen(os.dup(saved), "w", encoding="utf-8") if saved is not None else original
    try:
        yield results
    finally:
        sys.stdout = original
        _flush_quietly(results)
        if results is not original:
            _close_quietly(results)
        if saved is not None:
            _flush_quietly(sys.__stdout__)  # what the work left in its buffer belongs to stderr too
            os.dup2(saved, 1)
            os.close(saved)


def output(path: "str | None", stdout: TextIO) -> "contextlib.AbstractContextManager[TextIO]":
    """The file ``path`` opened for the results (closed after), else ``stdout`` (left open)."""
    return open(path, "w", encoding="utf-8") if path else contextlib.nullcontext(stdout)


def _dup_stdout(stream: Any) -> "int | None":
    """A duplicate of file descriptor 1 when ``stream`` writes to it (fd 1 then points at
    stderr), else None."""
    try:
        if stream.fileno() != 1:
            return None
    except (AttributeError, OSError, ValueError):
        return None
    _flush_quietly(stream)
    saved = os.dup(1)
    os.dup2(2, 1)
    return saved


def _close_quietly(stream: TextIO) -> None:
    try:
        stream.close()
    except OSError:  # a broken pipe (``| head``): the reader has gone, nothing left to say
        pass


def _flush_quietly(stream: Any) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):  # gone, closed or broken: nothing to keep
        pass
