"""``skilldsl graph PATH [--format mermaid|dot]``: print the evidence graph."""
from __future__ import annotations

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``graph``."""
    p = subparsers.add_parser("graph", help="print the evidence graph (Mermaid or DOT)",
                              description="Print the evidence graph of a skill: inputs -> evidence -> reward.")
    p.add_argument("path", metavar="PATH", help=".skill or .skillc file")
    p.add_argument("--format", choices=("mermaid", "dot"), default="mermaid", help="default: mermaid")
    p.set_defaults(func=run)


def run(args) -> int:
    """Compile (or load) the skill and print its graph."""
    from ..compiler import compile_file
    from ..compiler.graph import render
    from ..ir import Program

    if args.path.endswith(".skillc"):
        try:
            program = Program.load(args.path)
        except (OSError, ValueError) as exc:
            import sys

            print(f"{args.path}: error: {exc}", file=sys.stderr)
            return 1
    else:
        program = compile_file(args.path)
    print(render(program, args.format), end="")
    return 0
