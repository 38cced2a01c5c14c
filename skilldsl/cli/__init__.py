"""``skilldsl`` command line: one module per subcommand, each exposing ``add_parser(subparsers)``
which registers its arguments and sets ``func(args) -> int`` as the handler."""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import InternalError, SkillError

__all__ = ["main"]

# subcommand modules, in the order --help lists them
_COMMANDS = ["build", "check", "dump", "graph", "verifiers", "convert", "score", "explain", "rank", "eval"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skilldsl",
        description="Compile and run Reward-Evaluation Skills.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"skilldsl.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"skilldsl.cli.{name}_cmd":
                raise
            continue  # subcommand not built yet
        module.add_parser(sub)
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
    except InternalError as exc:
        print(str(exc), file=sys.stderr)
        return 70
    except Exception as exc:  # never show an author a bare traceback
        print(str(InternalError(f"{type(exc).__name__}: {exc}", exc)), file=sys.stderr)
        if _debug():
            raise
        return 70


def _debug() -> bool:
    import os

    return bool(os.environ.get("SKILLDSL_DEBUG"))
