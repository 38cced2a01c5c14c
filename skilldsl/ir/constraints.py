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

__all__ = ["constraint_regex", "engine_problem", "canonical_constraint", "JSON_WHITESPACE"]

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
    feature it lacks, or lookaround, a backreference or ``\\b`` in a regex, fails there. Checked
    over a vocabulary of the 256 single bytes (every model's tokens are byte strings), so the
    compiler needs no model; a problem is the first line of outlines_core's message."""
    try:
        regex = constraint_regex(constraint)
    except (ValueError, TypeError) as exc:
        return _first_line(exc)
    return None if regex is None else _dfa_problem(regex)


@lru_cache(maxsize=256)
def _dfa_problem(regex: str) -> "str | None":
    from outlines_core import Index, Vocabulary

    try:
        Index(regex, Vocabulary(256, {bytes([b]): [b] for b in range(256)}))
    except ValueError as exc:
        return _first_line(exc)
    return None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0].strip()
