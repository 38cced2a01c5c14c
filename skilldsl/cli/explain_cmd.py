"""``skilldsl explain SKILL (--sample JSON | DATA)``: score samples and print their evidence traces.

``--sample`` takes the JSON object itself or ``@file.json``; ``DATA`` is a JSONL file of samples
(``-`` for stdin; ``--limit N`` explains the first N). ``--json`` prints each Result as JSON.
``--prompts`` also prints every prompt the judges were sent, as their backend sends it (after the
chat template and truncation: :func:`skilldsl.runtime.backends.base.sent_prompt`) with its
constraint (choice options, regex, JSON schema): see what the judge sees.
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

from ..data import json_text
from ._common import count, load_skill, reserved_stdout, sample_lines, user_error
from .score_cmd import add_runtime_arguments

__all__ = ["add_parser", "run", "format_prompts"]


def add_parser(subparsers: Any) -> None:
    """Register ``explain``."""
    p = subparsers.add_parser("explain", help="print the evidence trace (and prompts) of samples",
                              description="Score samples and show which evidence ran, its values and costs; "
                                          "with --prompts, every prompt the judges were sent and its constraint.")
    add_runtime_arguments(p)
    p.add_argument("data", nargs="?", metavar="DATA", help="JSONL samples ('-' for stdin), instead of --sample")
    p.add_argument("--sample", metavar="JSON", help="one sample as JSON, or @file.json")
    p.add_argument("--limit", type=count, metavar="N", help="explain only the first N samples of DATA")
    p.add_argument("--prompts", action="store_true",
                   help="print every prompt sent (after the chat template and truncation) and its constraint")
    p.add_argument("--json", action="store_true", help="print JSON: the Result (with --prompts: and the prompts)")
    p.set_defaults(func=run)


def _read_sample(text: str) -> Any:
    """The sample of ``--sample``, read by the rules of every data file (BOM, UTF-8, depth and
    size limits: :mod:`skilldsl.eval.formats.jsonrows`)."""
    from ..eval.formats.jsonrows import parse_row

    data = Path(text[1:]).read_bytes() if text.startswith("@") else text
    return parse_row(data)


def run(args: Any) -> int:
    """Print the traces (and prompts); exit 1 when a sample's reward is an error or a file is
    missing, 2 when the samples are not given once or ``--sample`` is not JSON."""
    if (args.sample is None) == (args.data is None):
        print("error: give the samples once: --sample JSON or a DATA file", file=sys.stderr)
        return 2
    try:
        rows = _rows(args)
    except FileNotFoundError:
        return user_error(f"--sample: {args.sample[1:]}: no such file" if args.sample else f"{args.data}: no such file")
    except (OSError, ValueError) as exc:
        if args.sample is None:
            return user_error(f"{args.data}: cannot read: {exc}")
        print(f"error: --sample: {exc}", file=sys.stderr)
        return 2
    with reserved_stdout() as stdout:
        skill = load_skill(args)
        results, prompts = _explain(skill, [s for _, s in rows], args.prompts)
        per_sample: dict = {}
        for p in prompts:  # grouped once: DATA may hold many samples
            per_sample.setdefault(p.sample, []).append(p)
        for (line, _), result in zip(rows, results):
            print(_render(args, skill, line, result, per_sample.get(line[0], [])), file=stdout)
    return 1 if any(r.status == "error" for r in results) else 0


def _rows(args: Any) -> list:
    """``((index, line number or None), sample)`` for each sample to explain."""
    if args.sample is not None:
        sample = _read_sample(args.sample)
        return [((0, None), sample)]
    numbered = itertools.islice(sample_lines(args.data), args.limit)
    return [((i, line), sample) for i, (line, sample) in enumerate(numbered)]


def _explain(skill: Any, samples: list, prompts: bool) -> tuple:
    """The Results (a row that could not be read is an error Result) and, with ``prompts``, the
    prompts sent (:func:`skilldsl.runtime.prompts.sent_prompts`), each with its row's index."""
    from dataclasses import replace

    from ..eval.formats.jsonrows import RowError
    from ..runtime import Result
    from ..runtime.prompts import sent_prompts

    rows = [i for i, s in enumerate(samples) if not isinstance(s, RowError)]
    good = [samples[i] for i in rows]
    scored, sent = sent_prompts(skill, good) if prompts else (skill.score(good), [])
    results = iter(scored)
    out = [Result(None, "error", str(s), reward_id=skill.reward_id) if isinstance(s, RowError) else next(results)
           for s in samples]
    return out, [replace(p, sample=rows[p.sample]) for p in sent]


def _render(args: Any, skill: Any, line: tuple, result: Any, prompts: list) -> str:
    where = {} if line[1] is None else {"line": line[1]}
    if args.json:
        data = {**where, **result.to_dict()} if not args.prompts else \
            {**where, "result": result.to_dict(), "prompts": [p.to_dict() for p in prompts]}
        return json_text(data, indent=None if args.data is not None else 2)
    from ..runtime import format_result

    head = f"== line {line[1]} ==\n" if line[1] is not None else ""
    text = format_result(result, skill.program)
    return head + (format_prompts(prompts) + "\n" + text if args.prompts else text)


def format_prompts(records: list) -> str:
    """The prompts of one sample, readable: a header per request, its constraint, its text."""
    if not records:
        return "prompts: none (no judge was asked)"
    blocks = [f"prompts: {len(records)} sent"]
    for r in records:
        blocks.append(_header(r) + "\n" + _body(r.prompt))
    return "\n".join(blocks) + "\n"


def _header(r) -> str:
    where = [f"model {r.model}"]
    if r.candidate is not None:
        where.insert(0, f"candidate {r.candidate}")
    if r.orders > 1:
        where.append(f"order {r.order + 1} of {r.orders}" + (" (a and b exchanged)" if r.order else " (as given)"))
    if r.draws > 1:
        where.append(f"sample {r.draw + 1} of {r.draws}")
    return f"--- {r.evidence} · {' · '.join(where)}\nconstraint: {_constraint(r.constraint)}"


def _constraint(c: dict) -> str:
    if "options" in c:
        think = f", reasoning first (up to {c['think']} tokens)" if c.get("think") else ""
        return f"{c['type']} over {', '.join(map(repr, c['options']))}{think}"
    rest = {k: v for k, v in c.items() if k != "type"}
    return f"{c.get('type', 'text')} {json.dumps(rest, ensure_ascii=False, sort_keys=True)}"


def _body(p) -> str:
    if p.error:
        return f"not sent: {p.error}"
    size = f"{p.tokens} tokens" if p.tokens is not None else "as sent to the server (its chat template applies)"
    cut = ", cut to fit the context (truncated)" if p.truncated else ""
    return f"prompt ({size}{cut}):\n{p.text}"
