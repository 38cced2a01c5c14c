"""``skilldsl convert FORMAT SRC -o OUT.jsonl``: a native benchmark file -> samples to score.

    skilldsl convert gsm8k-solutions ../shared/bench/gsm8k -o gsm8k.jsonl
    skilldsl convert ifeval ../shared/bench/ifeval -o ifeval.jsonl
    skilldsl convert ifbench ../shared/bench/ifbench --responses responses.jsonl -o ifbench.jsonl
    skilldsl convert humaneval ../shared/bench/humaneval --response empty -o humaneval-empty.jsonl
    skilldsl score math_answer gsm8k.jsonl -o scored.jsonl     # each result keeps the sample's id

Rows that cannot become samples are listed on stderr with their reason (``file:line``).
Exit 0 when at least one sample was written, 1 on a data error or when no row was usable,
2 on a usage error.
"""
from __future__ import annotations

import sys
from typing import Any

from ._common import count, eval_error, unwritable, user_error

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``convert``."""
    from ..eval.formats.samples import RESPONSES, SAMPLE_FORMATS  # pure Python: cheap to import

    formats = "; ".join(f"{f.name}: {f.about} -> {{{', '.join(f.fields)}}}" for f in SAMPLE_FORMATS.values())
    p = subparsers.add_parser("convert", help="convert a native benchmark file to JSONL samples for `score`",
                              description=f"Convert a native benchmark file to one JSON sample per line. {formats}")
    p.add_argument("format", choices=list(SAMPLE_FORMATS), help="the sample set to write")
    p.add_argument("src", metavar="SRC", help="the native file or its directory (e.g. ../shared/bench/gsm8k)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the samples here (default: stdout)")
    p.add_argument("--response", choices=RESPONSES, help="humaneval: the canonical solution (default) or nothing")
    p.add_argument("--responses", metavar="FILE",
                   help="ifeval, ifbench: the {prompt, response} file (default beside SRC: ifeval's "
                        "input_response_data_*.jsonl, ifbench's sample_output.jsonl)")
    p.add_argument("--limit", type=count, metavar="N", help="write only the first N samples")
    p.set_defaults(func=run)


def run(args: Any) -> int:
    """Convert ``args.src``; list skipped rows on stderr; 0 if any sample was written, else 1."""
    from ..eval.formats.samples import SAMPLE_FORMATS, convert_samples
    from ..eval.items import EvalError

    problem = unwritable(args.output)
    if problem:
        return user_error(problem)
    given = {name: getattr(args, name) for name in ("response", "responses") if getattr(args, name) is not None}
    try:
        samples, skipped = convert_samples(args.format, args.src, limit=args.limit, **given)
    except EvalError as exc:
        return eval_error(exc)
    written = _write(samples, args.output)
    for skip in skipped:
        print(f"skipped {skip.row}: {skip.reason}", file=sys.stderr)
    where = args.output or "stdout"
    fields = ", ".join(SAMPLE_FORMATS[args.format].fields)
    print(f"wrote {written} {args.format} samples {{{fields}}} to {where}"
          f" ({len(skipped)} rows skipped)", file=sys.stderr)
    return 0 if written else 1


def _write(samples: list, output: "str | None") -> int:
    from ..eval.formats.samples import write_samples

    if output is None:
        return write_samples(samples, sys.stdout)
    with open(output, "w", encoding="utf-8") as out:
        return write_samples(samples, out)
