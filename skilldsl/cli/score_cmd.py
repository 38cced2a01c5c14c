"""``skilldsl score SKILL DATA.jsonl``: one result line per input line, in order.

Each output line is ``{"line": <input line number>, **Result.to_dict()}`` (reward, status,
reason, reward_id, tokens, seconds, trace), plus the input's ``"id"`` after ``line`` when the
input object has one, so results join with labels kept elsewhere (``skilldsl convert`` writes ids).

A malformed line gets an error result line of its own (never a crash, never a missing row);
a progress bar with the rate goes to stderr, then a summary: counts by status, tokens, time.
Blank lines are not samples and are skipped.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from typing import Any, Iterator

from ._common import add_model_arguments, add_plugin_argument, count, load_skill, positive, user_error

__all__ = ["add_parser", "run", "add_runtime_arguments"]


def add_runtime_arguments(p: Any) -> None:
    """Options shared by ``score`` and ``explain``: the skill, its plugins and where the judge model runs."""
    p.add_argument("skill", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    add_model_arguments(p)
    add_plugin_argument(p)


def add_parser(subparsers: Any) -> None:
    """Register ``score``."""
    p = subparsers.add_parser("score", help="score a JSONL file of samples with a skill",
                              description="Score every line of DATA.jsonl; one JSON result per line. "
                                          "Exit 0 when every line scored ok or na, 1 when some erred.")
    add_runtime_arguments(p)
    p.add_argument("data", metavar="DATA", help="JSONL samples ('-' for stdin)")
    p.add_argument("-o", "--output", metavar="FILE", help="write results here (default: stdout)")
    p.add_argument("--limit", type=count, metavar="N", help="score only the first N samples")
    p.add_argument("--batch-size", type=positive, default=64, metavar="N", help="samples per batch (default 64)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: Any) -> int:
    """Score the file; exit 0 when every line scored ok or na, 1 when some erred."""
    skill = load_skill(args, batch_size=args.batch_size)
    try:
        lines = list(itertools.islice(_read_lines(args.data), args.limit))
    except FileNotFoundError:
        return user_error(f"{args.data}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        return user_error(f"{args.data}: cannot read: {exc}")
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    start = time.perf_counter()
    try:
        counts, tokens = _score_lines(skill, lines, out, args)
    finally:
        if out is not sys.stdout:
            out.close()
    _summary(counts, tokens, time.perf_counter() - start)
    return 1 if counts.get("error") else 0


def _read_lines(path: str) -> Iterator[tuple[int, str]]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    try:
        for number, line in enumerate(stream, 1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


def _parse(number: int, line: str) -> tuple[Any, str | None]:
    try:
        return json.loads(line), None
    except ValueError as exc:
        return None, f"line {number}: invalid JSON: {exc}"


def _score_lines(skill: Any, lines: list, out: Any, args: Any) -> tuple[Counter, list[int]]:
    counts, tokens = Counter(), [0, 0]
    bar = None if args.no_progress else _bar(len(lines))
    for start in range(0, len(lines), skill.batch_size):
        chunk = lines[start:start + skill.batch_size]
        for record in _score_chunk(skill, chunk):
            counts[record["status"]] += 1
            tokens[0] += record["tokens_in"]
            tokens[1] += record["tokens_out"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return counts, tokens


def _score_chunk(skill: Any, chunk: list) -> list[dict]:
    """Result records for a chunk of (line number, text), in order; bad JSON in place."""
    from ..runtime import Result

    parsed = [(number, *_parse(number, line)) for number, line in chunk]
    good = [sample for _, sample, problem in parsed if problem is None]
    scored = iter(skill.score(good))
    records = []
    for number, sample, problem in parsed:
        result = next(scored) if problem is None else Result(None, "error", problem, reward_id=skill.reward_id)
        records.append({"line": number, **_sample_id(sample), **result.to_dict()})
    return records


def _sample_id(sample: Any) -> dict:
    """``{"id": ...}`` of an input object that has one (a malformed sample still keeps it)."""
    return {"id": sample["id"]} if isinstance(sample, dict) and "id" in sample else {}


def _bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)


def _summary(counts: Counter, tokens: list[int], seconds: float) -> None:
    n = sum(counts.values())
    by_status = ", ".join(f"{k} {counts[k]}" for k in ("ok", "na", "error") if counts.get(k))
    rate = n / seconds if seconds > 0 else 0.0
    print(f"scored {n} samples ({by_status or 'none'}); tokens {tokens[0]} in / {tokens[1]} out; "
          f"{seconds:.2f}s ({rate:.1f} samples/s)", file=sys.stderr)
