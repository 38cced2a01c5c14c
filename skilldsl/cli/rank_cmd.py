"""``skilldsl rank SKILL DATA.jsonl``: pick the best of N candidates for every row.

Rows are ``{prompt, candidates[], id?, reference?}``; for a listwise skill the list is under the
skill's own ``candidates:`` input (e.g. ``responses``), as in the samples ``score`` reads. Output: one JSON line per row with the
selected index and candidate, the per-candidate scores when the method has them, and the
row's status (an error is reported, never turned into a pick).
"""
from __future__ import annotations

import json
import sys

from ._common import count, eval_error, load_scorer, load_skill, output, reserved_stdout, unwritable, user_error
from .eval_cmd import add_judge_arguments, judge_options

__all__ = ["add_parser", "execute"]


def add_parser(subparsers) -> None:
    """Register ``rank`` and its options."""
    p = subparsers.add_parser("rank", help="best-of-N: pick the best candidate of every row",
                              description="Select the best candidate per row with a skill.")
    p.add_argument("skill", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    p.add_argument("data", metavar="DATA", help="JSONL rows with prompt and candidates")
    p.add_argument("-o", "--output", metavar="FILE", help="write the picks here (default: stdout)")
    p.add_argument("--limit", type=count, metavar="N", help="rank only the first N rows")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_judge_arguments(p)
    p.set_defaults(func=lambda args: execute(args, load_scorer))


def execute(args, load_scorer) -> int:
    """Rank every row of ``args.data``; write one JSON line per row; return the exit code."""
    from ..eval.items import EvalError
    from ..eval.judge import Judge
    from ..eval.formats import read_dataset
    from ..eval.runner import run_items

    problem = unwritable(args.output)
    if problem:
        return user_error(problem)
    with reserved_stdout() as stdout:
        try:
            scorer = load_skill(args, load=load_scorer)
            judge = Judge(scorer, judge_options(args))
            # a listwise skill's rows are its own samples: the list under its `candidates:` input
            field = judge.info.candidates if judge.info.mode == "listwise" else "candidates"
            dataset = read_dataset(args.data, "candidates", args.limit, candidates=field)
            records, skipped = run_items(judge, dataset, progress=not args.no_progress)
        except EvalError as exc:
            return eval_error(exc)
        items = {item.id: item for item in dataset.items}
        lines = [json.dumps(_pick(r, items[r["id"]])) for r in records]
        lines += [json.dumps({"id": s.id, "row": s.row, "status": "skipped", "reason": s.reason}) for s in skipped]
        with output(args.output, stdout) as out:
            out.write("".join(line + "\n" for line in lines))
    for s in skipped:
        print(f"skipped {s.row}: {s.reason}", file=sys.stderr)
    return 0 if not skipped and all(r["status"] == "ok" for r in records) else 1


def _pick(record: dict, item) -> dict:
    out = {"id": record["id"], "status": record["status"], "reason": record["reason"],
           "selected": record.get("selected"), "scores": record.get("scores")}
    if record.get("selected") is not None:
        out["best"] = item.candidates[record["selected"]]
    if "value" in record and record["value"] is not None:
        out["correct"] = bool(record["value"])
    return out
