"""``skilldsl dump --stage ast|ir PATH``: print one compiler stage's output as JSON."""
from __future__ import annotations

from ..data import json_text
from ._common import add_plugin_argument, reserved_stdout

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``dump``."""
    p = subparsers.add_parser("dump", help="print the AST or IR of a skill",
                              description="Print a compiler stage as JSON: the parsed AST (with source spans) "
                                          "or the checked IR (what build writes to .skillc).")
    p.add_argument("--stage", choices=("ast", "ir"), default="ir", help="which stage (default: ir)")
    p.add_argument("path", metavar="PATH", help=".skill file")
    add_plugin_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the stage as indented JSON."""
    from ..compiler import compile_file, parse_file
    from ..compiler.ast import to_data

    with reserved_stdout() as stdout:  # a plugin printing as it loads must not break the JSON
        if args.stage == "ast":
            data = to_data(parse_file(args.path))
        else:
            data = compile_file(args.path, plugins=args.plugin).doc
        print(json_text(data, indent=2, sort_keys=args.stage == "ir", default=str), file=stdout)
    return 0
