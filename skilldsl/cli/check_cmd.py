"""``skilldsl check PATH...``: check skills without writing anything."""
from __future__ import annotations

import sys

from ..errors import SkillError
from .build_cmd import print_diagnostics

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``check``."""
    p = subparsers.add_parser("check", help="check .skill files (no output written)",
                              description="Check each .skill file; warnings do not fail the check.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".skill files")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it registers verifiers); repeatable")
    p.set_defaults(func=run)


def run(args) -> int:
    """Check every path; exit 1 if any has an error, 0 if only warnings."""
    from ..compiler import compile_file

    failed = False
    for path in args.paths:
        warnings: list = []
        try:
            compile_file(path, diagnostics=warnings, plugins=args.plugin)
        except SkillError as exc:
            print(exc.render(), file=sys.stderr)
            failed = True
            continue
        finally:
            print_diagnostics(warnings)
        note = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
        print(f"{path}: ok{note}")
    return 1 if failed else 0
