"""``skilldsl build PATH... [-o DIR]``: compile skills to ``DIR/<skill>.skillc``."""
from __future__ import annotations

from pathlib import Path

from ._common import add_plugin_argument, compile_each, user_error

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> None:
    """Register ``build``."""
    p = subparsers.add_parser("build", help="compile .skill files to .skillc IR",
                              description="Compile each .skill file to DIR/<skill>.skillc (canonical JSON) and "
                                          "print its path and reward id. Exit 1 if any file has an error.")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".skill files")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="output directory (default: .)")
    add_plugin_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Build every path; report all failures, exit 1 if any."""
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        return user_error(f"{out} is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}  # skill name -> the source it was built from in this run
    clashes: list[str] = []

    def save(path, program, warnings) -> None:
        if program.name in written:  # one output file per name: never overwrite a sibling's build
            clashes.append(path)
            user_error(f"{path}: skill '{program.name}' was already built from {written[program.name]} "
                       f"to {out / f'{program.name}.skillc'}; not overwritten")
            return
        written[program.name] = path
        target = program.save(out / f"{program.name}.skillc")
        print(f"{target}  {program.reward_id}")

    status = compile_each(args.paths, args.plugin, save)
    return 1 if clashes else status
