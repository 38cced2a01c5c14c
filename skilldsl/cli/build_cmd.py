"""``skilldsl build PATH... [-o DIR]``: compile skills to ``DIR/<skill>.skillc``."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import SkillError

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``build``."""
    p = subparsers.add_parser("build", help="compile .skill files to .skillc IR",
                              description="Compile each .skill file to DIR/<skill>.skillc (canonical JSON).")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".skill files")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="output directory (default: .)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (it registers verifiers); repeatable")
    p.set_defaults(func=run)


def run(args) -> int:
    """Build every path; report all failures, exit 1 if any."""
    from ..compiler import compile_file

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        print(f"skilldsl build: {out} is not a directory", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    failed = False
    for path in args.paths:
        warnings: list = []
        try:
            program = compile_file(path, diagnostics=warnings, plugins=args.plugin)
        except SkillError as exc:
            print(exc.render(), file=sys.stderr)
            failed = True
            continue
        finally:
            print_diagnostics(warnings)
        target = program.save(out / f"{program.name}.skillc")
        print(f"{target}  {program.reward_id}")
    return 1 if failed else 0


def print_diagnostics(diagnostics: list) -> None:
    """Warnings go to stderr, like errors, so stdout stays machine-readable."""
    for diag in diagnostics:
        print(diag.render(), file=sys.stderr)
