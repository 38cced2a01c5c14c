"""``skilldsl`` command line: one module per subcommand, each exposing ``add_parser(subparsers)``
which registers its arguments and sets ``func(args) -> int`` as the handler; ``_common`` holds
what they share. Exit status: 0 ok, 1 user error, 2 usage error, 70 internal error, 130 interrupted."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import InternalError, SkillError

__all__ = ["main"]

# subcommand modules, in the order --help lists them
_COMMANDS = ["build", "check", "dump", "graph", "verifiers", "convert", "import", "score", "test", "explain", "rank", "eval", "serve", "doctor", "cache"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skilldsl",
        description="Compile and run Reward-Evaluation Skills.",
        epilog="SKILL is a .skill file, a built .skillc or the name of a stock skill (e.g. math_answer). "
               "See 'skilldsl COMMAND --help'. Exit status: 0 ok, 1 user error (malformed skill, missing "
               "file, bad data, rows that erred), 2 usage error.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        importlib.import_module(f"skilldsl.cli.{name}_cmd").add_parser(sub)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    """Entry point of ``skilldsl`` and ``python -m skilldsl``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SkillError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.filename is None:  # not about a path the user named: ours
            return _internal(exc)
        print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except InternalError as exc:
        print(str(exc), file=sys.stderr)
        return 70
    except Exception as exc:  # never show an author a bare traceback
        return _internal(exc)


def _internal(exc: Exception) -> int:
    """Report a bug in skilldsl (exit 70); ``SKILLDSL_DEBUG=1`` re-raises it for the traceback."""
    print(str(InternalError(f"{type(exc).__name__}: {exc}", exc)), file=sys.stderr)
    if os.environ.get("SKILLDSL_DEBUG"):
        raise exc
    return 70
