"""``skilldsl graph SKILL [--format mermaid|dot]``: print the evidence graph."""
from __future__ import annotations

from ._common import add_plugin_argument

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``graph``."""
    p = subparsers.add_parser("graph", help="print the evidence graph (Mermaid or DOT)",
                              description="Print the evidence graph of a skill: inputs -> evidence -> reward.")
    p.add_argument("path", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid", help="default: mermaid")
    add_plugin_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Compile (or load) the skill and print its graph."""
    import skilldsl

    from ..compiler.graph import render

    print(render(skilldsl.program(args.path, plugins=args.plugin), args.format), end="")
    return 0
