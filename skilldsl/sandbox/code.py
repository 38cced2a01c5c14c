"""Code evidence on top of the sandbox, through the trusted harness (``_harness.py``).

- :func:`check_program` (``code.passes``, HumanEval style): the problem's tests run in the
  harness process; the candidate (prompt + response) runs in a separate process, forked before
  the tests (sealed in the job) reached the sandbox's memory, that the tests call over a pipe
  with plain data. Passing means the harness saw
  ``check(candidate)`` return; its report carries a one-time secret and travels on a descriptor
  the candidate never holds. Prompts that do not compile on their own, and tests that send the
  candidate values plain data cannot carry, fall back to the shared harness (below), recorded in
  the detail as ``harness: shared`` with the reason.
- :func:`io_program` (``code.io_passes``, LiveCodeBench/APPS style): the candidate program runs
  once per input in the sandbox; its outputs are compared here, so expected outputs never enter.
- :func:`run_skill_code` (``run`` evidence): the skill's code (which may exec the response) runs
  in one process behind audit hooks; its value is the ``result`` global, delivered with the
  secret only when the code ran to its end. Stdout is never read as a value. A run that did not
  end normally is the evidence's ``on_failure`` value when the skill gives one, else an error.

``error`` is kept for what the candidate cannot cause: bad arguments, a sandbox that could not
start, broken tests, a harness failure (one that could not read its sealed frame included).
"""
from __future__ import annotations

import ast
import functools
import json
import marshal
import math
import re
import secrets
from pathlib import Path
from typing import Any

from ..values import Value as Verdict
from . import _candidate, _harness
from .core import Limits, SandboxResult, run
from .pool import SandboxPool

__all__ = [
    "extract_code", "candidate_program", "build_program", "check_program", "io_program", "compare_output",
    "run_skill_code", "run_skill_code_many", "value_verdict", "REQUIRED",
]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_DETAIL_CHARS = 2000
REQUIRED = object()  # ``on_failure`` not given: a run that did not finish is an error


def extract_code(response: str, entry_point: str = "") -> str:
    """The code in a response: its fenced block (the one defining ``entry_point`` if several),
    else the response itself."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(response)]
    if not blocks:
        return response
    python = [b for lang, b in blocks if lang in ("", "python", "py", "python3")] or [b for _, b in blocks]
    if entry_point:
        defines = _def_pattern(entry_point).search
        python = [b for b in python if defines(b)] or python
    return python[0]


def _def_pattern(entry_point: str) -> "re.Pattern[str]":
    return re.compile(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)


def candidate_program(response: str, entry_point: str, prompt: str = "") -> str:
    """prompt + completion: what the candidate process runs.

    A response that defines ``entry_point`` itself replaces the prompt's definition: only the
    prompt's preamble (imports, helper functions before the signature) is kept.
    """
    body = extract_code(response, entry_point)
    head = prompt
    if _def_pattern(entry_point).search(body):
        found = _def_pattern(entry_point).search(prompt)
        head = prompt[: found.start()] if found else prompt
    return f"{head}{body}\n"


def build_program(response: str, test: str, entry_point: str, prompt: str = "") -> str:
    """prompt + completion + test + ``check(entry_point)``: one program (the shared harness)."""
    return f"{candidate_program(response, entry_point, prompt)}\n{test}\n\ncheck({entry_point})\n"


def trusted_prompt(prompt: str, entry_point: str) -> str | None:
    """The part of the prompt the tests process runs (its helpers, e.g. HumanEval/32's ``poly``):
    the prompt if it compiles, else its preamble before ``def entry_point``; None if neither does."""
    found = _def_pattern(entry_point).search(prompt)
    for text in (prompt, prompt[: found.start()] if found else None):
        if text is not None and _compiles(text):
            return text
    return None


@functools.lru_cache(maxsize=32)
def _tests_prompt(prompt: str, test: str, entry_point: str) -> str | None:
    """What the tests process runs of the prompt ("" when the tests read no name it binds); None
    when it does not compile on its own. Cached: best-of-N scores one problem N times."""
    head = trusted_prompt(prompt, entry_point)
    if head is None:
        return None
    return head if _tests_need(head, test, entry_point) else ""


def _tests_need(prompt: str, test: str, entry_point: str) -> bool:
    """Whether the tests read a name the prompt binds (a helper such as ``poly``, an import): only
    then does the tests process run the prompt (which saves it e.g. importing ``typing``)."""
    try:
        test_code = compile(test, "<test>", "exec", dont_inherit=True)
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError):
        return True
    bound: set = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        else:
            bound |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return bool((_names(test_code) & bound) - {entry_point})


def _names(code: Any) -> set:
    """Every global or attribute name a code object and the ones nested in it mention."""
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names


def _compiles(text: str) -> bool:
    try:
        compile(text, "<prompt>", "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError):
        return False


# -- talking to the harness -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _harness_code() -> tuple:
    """The code objects the sandbox runs in one namespace: the candidate's side, then the harness."""
    paths = (Path(_candidate.__file__), Path(_harness.__file__))
    return tuple(compile(p.read_text(encoding="utf-8"), str(p), "exec", dont_inherit=True) for p in paths)


def _harness_job(mode: str, limits: Limits, **fields: Any) -> dict:
    """The harness's part of the job. The secret and the tests are not in it: they go to ``run`` as
    ``sealed``, a second frame that only the harness reads, after it has started the candidate."""
    return {"mode": mode, "code_objects": _harness_code(), "output_bytes": limits.output_bytes, **fields}


def _genuine_report(result: SandboxResult, secret: str) -> dict | None:
    """The harness's report when there is exactly one and it carries this run's secret; as an
    ``error`` report, the harness's unsigned one saying it could not read its sealed frame (the
    secret was in it; only the harness holds the report pipe)."""
    reports = result.harness
    if len(reports) != 1 or not isinstance(reports[0], dict):
        return None
    report = reports[0]
    if report.get("secret") == secret:
        return {k: v for k, v in report.items() if k != "secret"}
    if report.keys() == {"sealed", "error"} and report["sealed"] is False and isinstance(report["error"], str):
        return {"error": report["error"]}
    return None


def _detail(result: SandboxResult, harness: str) -> dict:
    output = (result.stderr[-_DETAIL_CHARS:] or result.stdout[-_DETAIL_CHARS:]).strip()
    return {
        "status": result.status,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "limit": result.limit,
        "seconds": round(result.seconds, 4),
        "isolation": list(result.isolation),
        "isolation_level": result.level,
        "harness": harness,
        "output": output,
    }


def _missing_report(result: SandboxResult) -> str:
    if result.harness:
        return "the harness's report was forged or duplicated"
    return f"no report from the harness ({result.describe()})"


# -- code.passes ----------------------------------------------------------------------------------


def check_program(
    response: Any, test: Any, entry_point: Any, *, prompt: Any = "", timeout: Any = 10, limits: "Limits | None" = None
) -> Verdict:
    """``code.passes``: True iff ``check(entry_point)`` of the tests returns, the candidate having
    answered every call. A failing, crashing or limit-hitting candidate is ``ok(False)``;
    ``error`` only for unusable arguments, broken tests, tests the harness cannot read (over 64 MiB,
    or more than the memory limit holds) or a sandbox that could not run."""
    bad = _bad_inputs(response, test, entry_point, prompt, timeout)
    if bad:
        return Verdict.error(bad)
    limits = limits or Limits(timeout=float(timeout))
    secret = secrets.token_hex(16)
    sealed = {"secret": secret, "test": test}
    size = len(marshal.dumps(sealed))
    if size > _candidate._FRAME_CAP:  # refused before anything caches or runs them
        return Verdict.error(f"code.passes: the tests are larger than the harness reads ({size} bytes, "
                             f"at most {_candidate._FRAME_CAP})")
    head = _tests_prompt(prompt, test, entry_point)
    if head is None:
        return _shared_tests(response, test, entry_point, prompt, limits, "the prompt does not compile on its own")
    job = _harness_job("tests", limits, prompt=head, entry_point=entry_point)
    result = run(candidate_program(response, entry_point, prompt), limits=limits, harness=job, sealed=sealed)
    if result.status == "error":
        return Verdict.error(result.reason or "sandbox error", **_detail(result, "separate"))
    report, detail = _genuine_report(result, secret), _detail(result, "separate")
    if report is None:
        return Verdict.ok(False, reason=_missing_report(result), **detail)
    if "error" in report:
        return Verdict.error(f"code.passes: {report['error']}", **detail)
    if "unsupported" in report:
        return _shared_tests(response, test, entry_point, prompt, limits, report["unsupported"])
    detail.update(calls=report.get("calls"), reason=report.get("reason"))
    return Verdict.ok(report.get("passed") is True and result.passed, **detail)


def _shared_tests(response: str, test: str, entry_point: str, prompt: str, limits: Limits, why: str) -> Verdict:
    """The documented fallback: tests and candidate in one process behind the audit hooks."""
    secret = secrets.token_hex(16)
    result = run(build_program(response, test, entry_point, prompt), limits=limits,
                 harness=_harness_job("shared", limits), sealed={"secret": secret})
    detail = {**_detail(result, "shared"), "fallback": why}
    if result.status == "error":
        return Verdict.error(result.reason or "sandbox error", **detail)
    report = _genuine_report(result, secret)
    if report is not None and "error" in report:
        return Verdict.error(f"code.passes: {report['error']}", **detail)
    finished = report is not None and report.get("finished") is True and result.passed
    if not finished:
        detail["reason"] = _missing_report(result) if report is None else report.get("reason")
    return Verdict.ok(finished, **detail)


def _bad_inputs(response: Any, test: Any, entry_point: Any, prompt: Any, timeout: Any) -> str | None:
    for name, value in (("response", response), ("test", test), ("entry_point", entry_point), ("prompt", prompt)):
        if not isinstance(value, str):
            return f"code.passes: {name} must be text, got {type(value).__name__}"
    if not entry_point.isidentifier():
        return f"code.passes: entry_point {entry_point[:80]!r} is not a Python identifier"
    return _bad_timeout("code.passes", timeout)


def _bad_timeout(name: str, timeout: Any) -> str | None:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        return f"{name}: timeout must be a number of seconds in (0, 600], got {timeout!r}"
    return None


# -- code.io_passes -------------------------------------------------------------------------------


def compare_output(got: str, expected: str) -> bool:
    """Outputs agree line by line, token by token: runs of spaces and tabs, trailing white space,
    ``\\r\\n`` vs ``\\n`` and trailing blank lines do not matter; everything else does (numbers
    are compared as text)."""
    return _tokens(got) == _tokens(expected)


def _tokens(text: str) -> list:
    lines = [line.split() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def io_program(response: Any, inputs: Any, outputs: Any, *, timeout: Any = 6, limits: "Limits | None" = None) -> Verdict:
    """``code.io_passes``: True iff the response's program, run once per input (stdin), exits 0
    within ``timeout`` seconds per case and prints the expected output every time. Its output is
    capped at ``output_bytes`` per case and at a 32nd of ``memory_mb`` over all cases (a limit)."""
    bad = _bad_io(response, inputs, outputs, timeout)
    if bad:
        return Verdict.error(bad)
    base = limits or Limits(timeout=float(timeout))
    # each case's CPU budget is Limits' default for its own wall budget (a second above it, see
    # Limits.to_job), not that of the whole run's
    case_cpu = Limits(timeout=base.timeout).to_job()["cpu_seconds"]
    case_limits = Limits(**{**base.__dict__, "timeout": base.timeout * len(inputs) + 5, "cpu_seconds": case_cpu})
    secret = secrets.token_hex(16)
    # the harness holds every case's stdout for its one report: in all at most a 32nd of its memory
    kept = base.memory_mb << 15
    job = _harness_job("io", base, inputs=list(inputs), case_timeout=base.timeout, kept_bytes=kept)
    result = run(extract_code(response), limits=case_limits, harness=job, sealed={"secret": secret})
    detail = _detail(result, "separate")
    if result.status == "error":
        return Verdict.error(result.reason or "sandbox error", **detail)
    report = _genuine_report(result, secret)
    if report is None or "error" in report:
        reason = _missing_report(result) if report is None else report["error"]
        return Verdict.ok(False, reason=reason, **detail) if report is None else Verdict.error(f"code.io_passes: {reason}", **detail)
    return _io_verdict(report.get("cases") or [], outputs, detail)


def _io_verdict(cases: list, outputs: list, detail: dict) -> Verdict:
    summary = []
    for index, (case, expected) in enumerate(zip(cases, outputs)):
        matched = case.get("status") == "ok" and compare_output(case.get("stdout", ""), expected)
        summary.append({"status": case.get("status"), "seconds": case.get("seconds"), "matched": matched})
        if not matched:
            detail.update(failed_case=index, stdout=str(case.get("stdout", ""))[:200],
                          reason=f"case {index}: " + ("wrong output" if case.get("status") == "ok" else str(case.get("status"))))
            break
    detail["cases"] = summary
    passed = len(summary) == len(outputs) and all(c["matched"] for c in summary)
    return Verdict.ok(passed, **detail)


def _bad_io(response: Any, inputs: Any, outputs: Any, timeout: Any) -> str | None:
    if not isinstance(response, str):
        return f"code.io_passes: response must be text, got {type(response).__name__}"
    for name, value in (("inputs", inputs), ("outputs", outputs)):
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            return f"code.io_passes: {name} must be a list of texts"
    if len(inputs) != len(outputs) or not inputs:
        return f"code.io_passes: {len(inputs)} inputs and {len(outputs)} outputs (need as many, at least one)"
    return _bad_timeout("code.io_passes", timeout)


# -- run evidence ---------------------------------------------------------------------------------


def value_verdict(value: Any) -> Verdict:
    """A ``run`` value as evidence: bool, number in [0, 1] or other JSON -> ok; null -> na."""
    if value is None:
        return Verdict.na("the code's value is null")
    if isinstance(value, bool):
        return Verdict.ok(value)
    if isinstance(value, (int, float)):
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            return Verdict.error(f"the code's value {value!r} is a number outside [0, 1]")
        return Verdict.ok(float(value))
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return Verdict.error(f"the code's value is not JSON data: {type(value).__name__}")
    return Verdict.ok(value)


def run_skill_code(code: str, inputs: dict, limits: "Limits | dict | None" = None, on_failure: Any = REQUIRED) -> Verdict:
    """Run a skill's ``run`` code over ``inputs`` (bound as globals) -> Verdict of its ``result``.

    The code did not finish (it raised, exited early, hit a limit, set no ``result``, or wrote to
    the harness's pipe): ``ok(on_failure)`` with the reason in the detail, or an error when the
    skill gives no ``on_failure``. A sandbox that cannot start is always an error.
    """
    try:
        payload = json.dumps(inputs, allow_nan=False)
        limits = Limits.of(limits)
    except (TypeError, ValueError) as exc:
        return Verdict.error(f"run: unusable inputs or limits: {exc}")
    secret = secrets.token_hex(16)
    result = run(code, limits=limits, globals=json.loads(payload), files={"inputs.json": payload},
                 harness=_harness_job("shared", limits), sealed={"secret": secret})
    detail = _detail(result, "shared")
    if result.status == "error":
        return Verdict.error(f"run: {result.describe()}", **detail)
    report = _genuine_report(result, secret)
    if report is not None and "error" in report:
        return Verdict.error(f"run: {report['error']}", **detail)
    if report is not None and "unsupported" in report:
        return Verdict.error(f"run: the code's `result` is not plain data: {report['unsupported']}", **detail)
    if report is None or "value" not in report or not result.passed:
        return _failed_run(_failure(result, report), detail, on_failure)
    verdict = value_verdict(_candidate.decode(report["value"]))
    return Verdict(verdict.status, verdict.value, verdict.reason, {**detail, **verdict.detail})


def _failure(result: SandboxResult, report: dict | None) -> str:
    """Why a run did not finish: the limit it hit, else what the harness saw."""
    if result.status in ("timeout", "limit"):
        return result.describe()
    if report is None:
        return _missing_report(result)
    return report.get("reason") or result.describe()


def _failed_run(reason: str, detail: dict, on_failure: Any) -> Verdict:
    if on_failure is REQUIRED:
        return Verdict.error(f"run: {reason}", **detail)
    value = on_failure if isinstance(on_failure, bool) else float(on_failure)  # the IR writes 0.0 as 0
    return Verdict.ok(value, failure=reason, **detail)


def run_skill_code_many(payloads: "list[tuple]", workers: int | None = None) -> list[Verdict]:
    """``run_skill_code`` over a wave of ``(code, inputs, limits[, on_failure])`` in parallel; in order."""
    with SandboxPool(workers) as pool:
        futures = [pool.call(run_skill_code, *payload) for payload in payloads]
        outcomes = [f.result() for f in futures]
    return [o if isinstance(o, Verdict) else Verdict.error(o.reason or "sandbox failed") for o in outcomes]
