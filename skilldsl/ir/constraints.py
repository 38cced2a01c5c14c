"""What an IR answer constraint means to constrained decoding: the regex an answer must match in
full (``constraint_regex``), and whether the decoding engine can build a guide for it
(``engine_problem``). The compiler and the ``.skillc`` verifier refuse a constraint the engine
cannot follow; the backends (``runtime/backends/constraints.py``) build their guides from the regex.

outlines_core is the structured-generation engine: it is what outlines 1.x ships and installs by
default (a core dependency); xgrammar and llguidance are optional extras not installed here.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache

__all__ = ["constraint_regex", "engine_problem", "canonical_constraint", "JSON_WHITESPACE", "PROBE_SECONDS",
           "PROBE_MEMORY"]

# Between JSON tokens allow at most one space: a small judge otherwise pads with newlines
# until it runs out of tokens, and the output no longer parses.
JSON_WHITESPACE = r"[ ]?"


def canonical_constraint(constraint: dict) -> str:
    """A constraint as canonical JSON (sorted keys, no spaces): equal constraints, equal text."""
    return json.dumps(constraint, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def constraint_regex(constraint: dict) -> str | None:
    """The regex a generated answer must match in full; ``None`` for free ``text``.
    Computed once per distinct constraint (memoised on its canonical JSON)."""
    return _regex_of(canonical_constraint(constraint))


@lru_cache(maxsize=256)
def _regex_of(blob: str) -> str | None:
    constraint = json.loads(blob)
    kind = constraint.get("type", "text")
    if kind == "text":
        return None
    if kind == "regex":
        return constraint["pattern"]
    if kind == "json":
        from outlines_core.json_schema import build_regex_from_schema

        schema = constraint.get("schema", {})
        return build_regex_from_schema(json.dumps(schema, sort_keys=True), JSON_WHITESPACE)
    if kind == "choice":
        return "|".join(re.escape(str(label)) for label in constraint["labels"])
    if kind == "score":
        labels = range(int(constraint["min"]), int(constraint["max"]) + 1)
        return "|".join(str(n) for n in labels)
    raise ValueError(f"unknown answer constraint type {kind!r}")


def engine_problem(constraint: dict) -> "str | None":
    """Why constrained decoding cannot build a guide for ``constraint``, or None. outlines_core
    (every local engine's guide) turns a JSON schema into a regex and a regex into a DFA: a schema
    feature it lacks, or lookaround, a backreference or ``\\b`` in a regex, fails there. Built over a
    vocabulary of the 256 single bytes (every model's tokens are byte strings), so no model is
    needed, in a child process bounded by :data:`PROBE_SECONDS` and :data:`PROBE_MEMORY`: a regex
    whose automaton explodes (``(a|b)*a(a|b){24}``) is refused, not a hang of the checker or of the
    ``.skillc`` loader. A problem is the first line of outlines_core's message. Choices and scores
    (escaped labels) and free text always decode."""
    if constraint.get("type", "text") not in ("regex", "json"):
        return None
    return _probe(canonical_constraint(constraint))


PROBE_SECONDS = 10.0
PROBE_MEMORY = 2 << 30  # bytes of address space for the probe
# The child runs this file by path, not as skilldsl.ir.constraints: it needs no importable
# package (nor a sys.path like its parent's), and no directory of the caller's shadows a module.
_CHILD = "import runpy, sys; del sys.path[0]; runpy.run_path(sys.argv[1], run_name='__main__')"


@lru_cache(maxsize=256)
def _probe(blob: str) -> "str | None":
    import subprocess
    import sys

    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, __file__], input=blob, capture_output=True,
                              text=True, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return f"its automaton is not built within {PROBE_SECONDS:g} s: too many states"
    except OSError:  # no child process here: check in this one, without the deadline
        return _guide_problem(json.loads(blob))
    if done.returncode == 0:
        return None
    if done.returncode < 0 or not done.stdout.strip():  # a signal (an allocation refused), or a crash
        return f"building its automaton failed (over {PROBE_MEMORY >> 30} GiB of memory, or a crash)"
    return done.stdout.strip()


def _guide_problem(constraint: dict) -> "str | None":
    """Build ``constraint``'s guide over the 256 single bytes: why that fails, or None."""
    from outlines_core import Index, Vocabulary

    try:
        regex = constraint_regex(constraint)
        if regex is not None:
            Index(regex, Vocabulary(256, {bytes([b]): [b] for b in range(256)}))
    except (ValueError, TypeError, MemoryError) as exc:
        return _first_line(exc)
    return None


def _probe_child() -> None:
    """The probe's child process: a constraint as JSON on stdin; exit 0 when its guide is built,
    else exit 1 with the first line of the reason on stdout."""
    import resource
    import sys

    resource.setrlimit(resource.RLIMIT_AS, (PROBE_MEMORY, PROBE_MEMORY))
    problem = _guide_problem(json.loads(sys.stdin.read()))
    if problem is not None:
        print(problem)
        sys.exit(1)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()


if __name__ == "__main__":
    _probe_child()
