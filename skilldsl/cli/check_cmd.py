"""``skilldsl check PATH...``: check skills without writing anything."""
from __future__ import annotations

from ._common import add_plugin_argument, compile_each

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``check``."""
    p = subparsers.add_parser("check", help="check .skill files (no output written)",
                              description="Check each .skill file; exit 1 if any has an error "
                                          "(warnings do not fail the check).")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".skill files")
    add_plugin_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Check every path; exit 1 if any has an error, 0 if only warnings."""

    def report(path, program, warnings) -> None:
        note = f" ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})" if warnings else ""
        print(f"{path}: ok{note}")

    return compile_each(args.paths, args.plugin, report)
