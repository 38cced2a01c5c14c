"""``skilldsl import skillrm DIR [-o FILE.skill]``: a Skill-RM package -> a ``.skill``.

    skilldsl import skillrm ../shared/skillrm/reward_judge_fair -o imported/reward_judge_fair.skill
    skilldsl build imported/reward_judge_fair.skill
    skilldsl test imported/reward_judge_fair.skill

The files the skill reads (rubrics, references, the SKILL.md procedure) are copied into a folder
named after the skill beside the output (``imported/reward_judge_fair/...``). What could not be
mapped is listed on stderr and in a comment block at the top of the ``.skill``. The written skill
is compiled before the command succeeds. Exit 0 when it was written and builds, 1 on a malformed
package, an output that would overwrite a different file, or a skill that does not build (a
script with a syntax error: the diagnostics point into the written ``.skill``).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ._common import user_error

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``import``."""
    p = subparsers.add_parser("import", help="turn another project's skill package into a .skill",
                              description="Turn a Skill-RM package (SKILL.md, resources.yaml, rubrics, scripts) "
                                          "into a .skill that `skilldsl build` compiles; the files it reads are "
                                          "copied into a folder named after the skill beside it.")
    p.add_argument("format", choices=["skillrm"], help="the package format")
    p.add_argument("directory", metavar="DIR", help="the package folder (holds SKILL.md)")
    p.add_argument("-o", "--output", metavar="FILE.skill",
                   help="where to write the skill (default: ./<name>.skill); its files go to <name>/ beside it")
    p.add_argument("--force", action="store_true", help="overwrite files that exist with other contents")
    p.set_defaults(func=run)


def run(args: Any) -> int:
    """Import ``args.directory``; list what was not mapped on stderr; 0 when written."""
    from ..importers.skillrm import map_package
    from ..importers.skillrm_emit import emit
    from ..importers.skillrm_package import read_package

    mapping = map_package(read_package(args.directory))
    output = Path(args.output or f"{mapping.name}.skill")
    if output.suffix != ".skill":
        return user_error(f"{output}: the output must end in .skill")
    text, files, notes = emit(mapping, output.stem)
    writes = {output: text, **{output.parent / rel: body for rel, body in files.items()}}
    clash = [str(p) for p, body in writes.items() if not args.force and _differs(p, body)]
    if clash:
        return user_error(f"{clash[0]} exists with other contents (--force overwrites)")
    for path, body in writes.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    import skilldsl

    skilldsl.compile(output)  # what was written must build: a SkillError is its diagnostics, exit 1
    left = [n for n in notes if not n.mapped]
    for note in left:
        print(f"not mapped: {note.what}: {note.reason}", file=sys.stderr)
    print(f"wrote {output} and {len(files)} file(s) under {output.parent / output.stem}/ "
          f"({len(notes) - len(left)} mapped, {len(left)} not mapped)", file=sys.stderr)
    return 0


def _differs(path: Path, body: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") != body
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError):
        return True
