"""Code evidence on top of the sandbox: HumanEval-style tests and skill ``run`` evidence.

- :func:`check_program` builds ``prompt + response + test + check(entry_point)`` and passes iff
  the program exits 0 within the limits *and* reaches its end (a per-run marker printed after
  ``check``), so a response calling ``sys.exit(0)`` or ``os._exit(0)`` early does not pass.
- :func:`run_skill_code` runs a skill's ``run`` code with the sample's inputs bound as globals
  (sent as JSON on the sandbox's stdin and written to ``inputs.json``, never interpolated into
  the source) and reads its value from the ``result`` global or the last JSON line printed.
"""
from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from ..values import Value as Verdict
from ._boot import RESULT_KEY
from .core import Limits, SandboxResult, run
from .pool import SandboxPool

__all__ = ["extract_code", "build_program", "check_program", "run_skill_code", "run_skill_code_many", "value_verdict"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_DETAIL_CHARS = 2000


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


def build_program(response: str, test: str, entry_point: str, prompt: str = "", marker: str = "") -> str:
    """prompt + completion + test + ``check(entry_point)`` (+ print of ``marker``).

    A response that defines ``entry_point`` itself replaces the prompt's definition: only the
    prompt's preamble (imports, helper functions before the signature) is kept.
    """
    body = extract_code(response, entry_point)
    head = prompt
    defines = _def_pattern(entry_point).search
    if defines(body):
        found = defines(prompt)
        head = prompt[: found.start()] if found else prompt
    tail = f"\n\ncheck({entry_point})\n" + (f"print({marker!r})\n" if marker else "")
    return f"{head}{body}\n\n{test}{tail}"


def _detail(result: SandboxResult) -> dict:
    output = (result.stderr[-_DETAIL_CHARS:] or result.stdout[-_DETAIL_CHARS:]).strip()
    return {
        "status": result.status,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "limit": result.limit,
        "seconds": round(result.seconds, 4),
        "isolation": list(result.isolation),
        "output": output,
    }


def check_program(
    response: Any, test: Any, entry_point: Any, *, prompt: Any = "", timeout: Any = 10, limits: "Limits | None" = None
) -> Verdict:
    """``code.passes``: True iff the completed program passes its tests within the limits.

    A failing or limit-hitting program is ``ok(False)`` with the failing output in the detail;
    ``error`` only when the inputs are unusable or the sandbox itself could not run.
    """
    bad = _bad_inputs(response, test, entry_point, prompt, timeout)
    if bad:
        return Verdict.error(bad)
    marker = f"skilldsl-check-done-{secrets.token_hex(8)}"
    program = build_program(response, test, entry_point, prompt, marker)
    limits = limits or Limits(timeout=float(timeout))
    result = run(program, limits=limits)
    if result.status == "error":
        return Verdict.error(result.reason or "sandbox error", **_detail(result))
    completed = result.passed and marker in result.stdout.splitlines()
    detail = _detail(result)
    if result.passed and not completed:
        detail["reason"] = "the program exited before its tests finished"
    return Verdict.ok(completed, **detail)


def _bad_inputs(response: Any, test: Any, entry_point: Any, prompt: Any, timeout: Any) -> str | None:
    for name, value in (("response", response), ("test", test), ("entry_point", entry_point), ("prompt", prompt)):
        if not isinstance(value, str):
            return f"code.passes: {name} must be text, got {type(value).__name__}"
    if not entry_point.isidentifier():
        return f"code.passes: entry_point {entry_point[:80]!r} is not a Python identifier"
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 600:
        return f"code.passes: timeout must be a number of seconds in (0, 600], got {timeout!r}"
    return None


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
    return Verdict.ok(value)


def _last_json(stdout: str) -> tuple[bool, Any]:
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and set(value) == {RESULT_KEY}:
            value = value[RESULT_KEY]
        return True, value
    return False, None


def run_skill_code(code: str, inputs: dict, limits: "Limits | dict | None" = None) -> Verdict:
    """Run a skill's ``run`` code over ``inputs`` (bound as globals) -> Verdict of its value."""
    try:
        payload = json.dumps(inputs, allow_nan=False)
        limits = Limits.of(limits)
    except (TypeError, ValueError) as exc:
        return Verdict.error(f"run: unusable inputs or limits: {exc}")
    result = run(code, limits=limits, globals=json.loads(payload), files={"inputs.json": payload}, emit_result=True)
    if not result.passed:
        return Verdict.error(f"run: {result.describe()}", **_detail(result))
    found, value = _last_json(result.stdout)
    if not found:
        return Verdict.error("run: the code set no `result` and printed no JSON line", **_detail(result))
    verdict = value_verdict(value)
    return Verdict(verdict.status, verdict.value, verdict.reason, {**_detail(result), **verdict.detail})


def run_skill_code_many(payloads: "list[tuple[str, dict, Limits | dict | None]]", workers: int | None = None) -> list[Verdict]:
    """``run_skill_code`` over a wave of ``(code, inputs, limits)`` in parallel; results in order."""
    with SandboxPool(workers) as pool:
        futures = [pool.call(run_skill_code, code, inputs, limits) for code, inputs, limits in payloads]
        outcomes = [f.result() for f in futures]
    return [o if isinstance(o, Verdict) else Verdict.error(o.reason or "sandbox failed") for o in outcomes]
