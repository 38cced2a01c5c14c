"""``skilldsl test SKILL...``: run the tests each skill carries in its ``tests:`` section.

Pytest-like: a line per skill with a ``.`` per passing test and an ``F`` per failing one (``-v``:
a line per test), then each failure with what was expected, what came, and the result's
evidence trace, then a summary. Tests run on the scripted fake backend unless ``--model`` or
``--backend`` names a real one (see :mod:`skilldsl.testing`).

Exit status: 0 every test passed; 1 a test failed; 2 a usage error or a skill that does not
build (the other skills still run); 5 no test ran (no skill has tests, or ``-k`` matched none),
as pytest's "no tests ran", so a CI job whose glob tests nothing is noticed.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from ._common import add_model_arguments, add_plugin_argument, import_plugins, load_scorer, runtime_options

__all__ = ["add_parser", "run", "NO_TESTS"]

NO_TESTS = 5
_WIDTH = 78


def add_parser(subparsers: Any) -> None:
    """Register ``test``."""
    p = subparsers.add_parser("test", help="run the tests inside skills (their tests: section)",
                              description="Run each skill's tests: on the scripted fake backend (no model) unless "
                                          "--model/--backend name a real one. Exit 0 all passed, 1 a test failed, "
                                          "2 a usage or build error, 5 no test ran.")
    p.add_argument("skills", nargs="+", metavar="SKILL", help=".skill, .skillc or the name of a stock skill")
    p.add_argument("-k", dest="keyword", metavar="TEXT", help="run only tests whose name contains TEXT")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per test instead of a dot")
    add_model_arguments(p)
    add_plugin_argument(p)
    p.set_defaults(func=run)


def run(args: Any) -> int:
    """Run every skill's tests; print the report; return the exit status (see the module doc)."""
    from ..errors import SkillError

    try:
        import_plugins(args.plugin)
    except SkillError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    if _real(args):
        print("tests run on the model --model/--backend chose; their judge: scripts are ignored", file=sys.stderr)
    start = time.perf_counter()
    outcomes, broken = [], 0
    for skill in args.skills:
        try:
            found = _run_one(skill, args)
        except SkillError as exc:
            print(f"{skill} E", flush=True)
            print(exc.render(), file=sys.stderr)
            broken += 1
            continue
        _progress(skill, found, args)
        outcomes.extend((skill, o) for o in found)
    _failures([(s, o) for s, o in outcomes if not o.passed])
    _summary(outcomes, broken, time.perf_counter() - start)
    return _status(outcomes, broken)


def _run_one(skill: str, args: Any) -> list:
    from ..testing import run_tests

    scorer = (lambda program: load_scorer(program, **runtime_options(args))) if _real(args) else None
    return run_tests(skill, keyword=args.keyword, scorer=scorer)


def _real(args: Any) -> bool:
    """Whether a real model was asked for (else each test scripts its own fake judge)."""
    return args.model is not None or args.backend is not None


def _progress(skill: str, outcomes: list, args: Any) -> None:
    if not outcomes:
        print(f"{skill}: no tests" + (f" matching -k {args.keyword!r}" if args.keyword else ""), flush=True)
    elif args.verbose:
        for o in outcomes:
            print(f"{skill}::{o.name} {'PASSED' if o.passed else 'FAILED'}", flush=True)
    else:
        print(f"{skill} {''.join('.' if o.passed else 'F' for o in outcomes)}", flush=True)


def _failures(failed: list) -> None:
    """Each failed test: where it is, why it exists, what did not hold, and the result's trace."""
    from ..runtime.result import format_result

    if not failed:
        return
    print("\n" + " FAILURES ".center(_WIDTH, "="))
    for skill, o in failed:
        print(f" {o.skill}: {o.name} ".center(_WIDTH, "_"))
        print(f"{skill}:{o.line}")
        if o.about:
            print(f"  about: {o.about}")
        for line in o.failures:
            print(f"  {line}")
        print("  result:")
        print("\n".join(f"    {line}" for line in format_result(o.result).splitlines()))


def _summary(outcomes: list, broken: int, seconds: float) -> None:
    failed = sum(1 for _, o in outcomes if not o.passed)
    parts = [f"{failed} failed"] if failed else []
    parts.append(f"{len(outcomes) - failed} passed")
    if broken:
        parts.append(f"{broken} skill{'s' if broken > 1 else ''} did not build")
    text = f" {', '.join(parts)} in {seconds:.2f}s " if outcomes or broken else f" no tests ran in {seconds:.2f}s "
    print(text.center(_WIDTH, "="))


def _status(outcomes: list, broken: int) -> int:
    if broken:
        return 2
    if not outcomes:
        return NO_TESTS
    return 1 if any(not o.passed for _, o in outcomes) else 0
