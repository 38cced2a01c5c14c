"""``skilldsl explain SKILL --sample JSON``: score one sample and print its evidence trace.

``--sample`` takes the JSON object itself or ``@file.json``; ``--json`` prints the Result as JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..data import json_text
from ._common import load_skill, reserved_stdout, user_error
from .score_cmd import add_runtime_arguments

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``explain``."""
    p = subparsers.add_parser("explain", help="print the evidence trace of one sample",
                              description="Score one sample and show which evidence ran, its values and costs.")
    add_runtime_arguments(p)
    p.add_argument("--sample", required=True, metavar="JSON", help="the sample as JSON, or @file.json")
    p.add_argument("--json", action="store_true", help="print the Result as JSON")
    p.set_defaults(func=run)


def _read_sample(text: str) -> Any:
    """The sample of ``--sample``, read by the rules of every data file (BOM, UTF-8, depth and
    size limits: :mod:`skilldsl.eval.formats.jsonrows`)."""
    from ..eval.formats.jsonrows import parse_row

    data = Path(text[1:]).read_bytes() if text.startswith("@") else text
    return parse_row(data)


def run(args: Any) -> int:
    """Print the trace; exit 1 when the sample's reward is an error or its file is missing,
    2 when ``--sample`` is not JSON."""
    try:
        sample = _read_sample(args.sample)
    except FileNotFoundError:
        return user_error(f"--sample: {args.sample[1:]}: no such file")
    except (OSError, ValueError) as exc:
        print(f"error: --sample: {exc}", file=sys.stderr)
        return 2
    with reserved_stdout() as stdout:
        skill = load_skill(args)
        result = skill.score([sample])[0]
        if args.json:
            print(json_text(result.to_dict(), indent=2), file=stdout)
        else:
            from ..runtime import format_result

            print(format_result(result, skill.program), file=stdout)
    return 1 if result.status == "error" else 0
