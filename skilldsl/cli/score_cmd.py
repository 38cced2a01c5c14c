"""``skilldsl score SKILL DATA.jsonl``: one result line per input line, in order.

Each output line is ``{"line": <input line number>, **Result.to_dict()}`` (reward, status,
reason, reward_id, tokens, seconds, trace), plus the input's ``"id"`` after ``line`` when the
input object has one, so results join with labels kept elsewhere (``skilldsl convert`` writes ids).

A line that cannot be read (invalid JSON or UTF-8, nested too deep, too large: see
:mod:`skilldsl.eval.formats.jsonrows`) or is not a valid sample gets an error result line of its
own, with its line number (never a crash, never a missing row); an id on several lines is
reported on stderr (each line is still scored). Results are the only thing on stdout
(:func:`~skilldsl.cli._common.reserved_stdout`); a progress bar with the rate goes to stderr,
then a summary: counts by status, tokens, time. Blank lines are not samples and are skipped.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from typing import Any, Iterator

from ..data import json_text
from ..runtime.result import sample_id
from ._common import (add_model_arguments, add_plugin_argument, count, load_skill, output, positive,
                      reserved_stdout, runtime_options, sample_lines, user_error)

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
    p.add_argument("--ray", action="store_true",
                   help="score on a Ray cluster: an actor pool, each actor loading the skill once "
                        "(pip install 'skilldsl[ray]'); the same output")
    p.add_argument("--address", metavar="ADDR", help="with --ray: the cluster to join (default: $RAY_ADDRESS, "
                                                     "else a local Ray on this machine)")
    p.add_argument("--workers", type=positive, metavar="N",
                   help="with --ray: scoring actors (default: one per CPU; one per GPU for a skill with a judge)")
    p.set_defaults(func=run)


def run(args: Any) -> int:
    """Score the file; exit 0 when every line scored ok or na, 1 when some erred."""
    if not args.ray and (args.address or args.workers):
        return user_error("--address and --workers go with --ray")
    with reserved_stdout() as stdout:
        skill = load_skill(args, batch_size=args.batch_size)
        try:
            rows = list(itertools.islice(sample_lines(args.data), args.limit))
        except FileNotFoundError:
            return user_error(f"{args.data}: no such file")
        except OSError as exc:
            return user_error(f"{args.data}: cannot read: {exc.strerror or exc}")
        _warn_duplicate_ids(rows)
        start = time.perf_counter()
        if args.ray:
            return _score_on_ray(args, skill, rows, stdout, start)
        with output(args.output, stdout) as out:
            counts, tokens = _write_records(_records(skill, rows, not args.no_progress), out)
    _summary(counts, tokens, time.perf_counter() - start)
    return 1 if counts.get("error") else 0


def _warn_duplicate_ids(rows: list) -> None:
    """One stderr line per id given to more than one line (every line is still scored)."""
    lines: dict = {}
    for number, sample in rows:
        key = sample_id(sample).get("id")
        if isinstance(key, (str, int, float, bool)):
            lines.setdefault(json.dumps(key), []).append(number)
    for key, numbers in lines.items():
        if len(numbers) > 1:
            print(f"warning: id {key} is on lines {', '.join(map(str, numbers))}; "
                  "each line is scored and keeps its line number", file=sys.stderr)


def _records(skill: Any, rows: list, progress: bool) -> Iterator[dict]:
    """Result records for ``(line number, sample or RowError)``, in order: the samples go to
    the skill (its one batching loop and progress bar), a row that could not be read is an
    error record in its place."""
    from ..eval.formats.jsonrows import RowError
    from ..runtime.result import line_error, score_record

    scored = skill.iter_score([s for _, s in rows if not isinstance(s, RowError)], progress=progress)
    for number, sample in rows:
        if isinstance(sample, RowError):
            result = line_error(number, sample, skill.reward_id)
        else:
            result = next(scored)
        yield score_record(number, sample, result.to_dict())


def _score_on_ray(args: Any, skill: Any, rows: list, stdout: Any, start: float) -> int:
    """The same records, scored by an actor pool on Ray (:func:`skilldsl.ray.score_lines`)."""
    try:
        from .. import ray as on_ray

        on_ray.start(args.address)
    except ImportError as exc:
        return user_error(str(exc))
    except Exception as exc:  # noqa: BLE001 - no cluster at that address, a version mismatch...
        return user_error(f"cannot start or join Ray{f' at {args.address}' if args.address else ''}: {exc}")
    if args.no_progress:
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = False
    options = {**runtime_options(args), "plugins": args.plugin, "num_workers": args.workers,
               "batch_size": args.batch_size}
    with output(args.output, stdout) as out:
        try:
            counts, tokens = _write_records(on_ray.score_lines(rows, skill, **options), out)
        except Exception as exc:  # noqa: BLE001 - a batch that failed on every retry: Ray's error, first line
            return user_error(f"the Ray run stopped: {(str(exc).strip() or type(exc).__name__).splitlines()[0]}")
    _summary(counts, tokens, time.perf_counter() - start)
    return 1 if counts.get("error") else 0


def _write_records(records: Iterator[dict], out: Any) -> tuple[Counter, list[int]]:
    counts, tokens = Counter(), [0, 0]
    for record in records:
        counts[record["status"]] += 1
        tokens[0] += record["tokens_in"]
        tokens[1] += record["tokens_out"]
        out.write(json_text(record) + "\n")
        out.flush()
    return counts, tokens


def _summary(counts: Counter, tokens: list[int], seconds: float) -> None:
    n = sum(counts.values())
    by_status = ", ".join(f"{k} {counts[k]}" for k in ("ok", "na", "error") if counts.get(k))
    rate = n / seconds if seconds > 0 else 0.0
    print(f"scored {n} samples ({by_status or 'none'}); tokens {tokens[0]} in / {tokens[1]} out; "
          f"{seconds:.2f}s ({rate:.1f} samples/s)", file=sys.stderr)
