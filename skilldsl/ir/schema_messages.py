"""JSON Schema errors in the author's words: one implementation for the ``.skill`` loader (which
adds source positions) and for loading a ``.skillc`` (which names the JSON path).

``problems(validator, data)`` turns jsonschema's errors into :class:`Problem` s: inside an
``anyOf``/``oneOf`` only the branch the value was meant for speaks (the one that got furthest into
the value; else the one whose type fits), and each validator gets a sentence (a missing key, an
unknown key with a suggestion, a wrong type, a value outside an enum, a bound).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

__all__ = ["Problem", "problems", "where", "did_you_mean"]


@dataclass(frozen=True)
class Problem:
    """One schema error: where (a JSON path), what, and whether it is about a key under ``path``
    (``key``: an unknown or misnamed key) or about ``path``'s own key (``at_key``: a missing key)."""

    path: tuple
    message: str
    key: "str | None" = None
    at_key: bool = False


def did_you_mean(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def where(path: tuple, root: str = "the skill") -> str:
    """``evidence.judge.answer``, ``each[1]``; ``root`` for the document itself."""
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    return ".".join(parts).replace(".[", "[") or root


def problems(validator, data: Any, root: str = "the skill") -> list[Problem]:
    """Every schema error of ``data``, as problems sorted by path, without duplicates."""
    found: dict = {}
    for err in validator.iter_errors(data):
        for leaf in _leaf_errors(err):
            problem = _problem(leaf, root)
            found.setdefault((problem.path, problem.message), problem)
    return sorted(found.values(), key=lambda p: ([str(x) for x in p.path], p.message))


def _leaf_errors(err) -> list:
    """For anyOf/oneOf, the errors of the branch the value was meant for: the one whose shape fits
    and that got furthest into the value; else the first whose root type fits; else the anyOf itself."""
    if err.validator not in ("anyOf", "oneOf") or not err.context:
        return [err]
    branches: dict[int, list] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    # the meant branch: none of its errors at the value itself (its shape fits), then the deepest
    fit = {k: (not any(not e.relative_path for e in b), max(len(e.relative_path) for e in b))
           for k, b in branches.items()}
    best = max(fit.values())
    if best[1] > 0:
        chosen = next(b for k, b in branches.items() if fit[k] == best)
    else:
        chosen = _fitting(list(branches.values()))
    if chosen is None:
        return [err]
    return [leaf for sub in chosen for leaf in _leaf_errors(sub)]


def _fitting(branches: list):
    """The first branch whose root does not reject the value's type (an enum or bound speaks then)."""
    for branch in branches:
        if not any(e.validator == "type" and not e.relative_path for e in branch):
            if not any(e.validator == "required" and not e.relative_path for e in branch):
                return branch
    return None


_TYPE_WORDS = {"string": "text", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping (key: value)", "array": "a list", "null": "empty"}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text {value!r}" if len(value) < 40 else "text"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def _problem(err, root: str) -> Problem:
    path = tuple(err.absolute_path)
    handler = _HANDLERS.get(err.validator)
    if handler is not None:
        return handler(err, path, root)
    message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
    return Problem(path, f"{where(path, root)}: {message}")


def _unknown_key(err, path, root) -> Problem:
    allowed = sorted(err.schema.get("properties", {}))
    extra = sorted(k for k in err.instance if k not in allowed)
    # `{answer: choice(yes, no)}`: a flow mapping's comma split the call, leaving the key `no)`
    split = [k for k in extra if ")" in k and "(" not in k]
    key = (split or extra or [""])[0]
    hint = '; inside { } a comma ends a value: quote it, as in answer: "choice(yes, no)"' if split \
        else did_you_mean(key, allowed)
    at = "at the top level" if not path else f"in {where(path, root)}"
    return Problem(path, f"unknown key '{key}' {at}{hint} (allowed: {', '.join(allowed)})", key=key)


def _missing(err, path, root) -> Problem:
    missing = [k for k in err.validator_value if k not in err.instance]
    return Problem(path, f"{where(path, root)} needs a '{missing[0]}' key", at_key=True)


def _wrong_type(err, path, root) -> Problem:
    want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in want)
    return Problem(path, f"{where(path, root)} must be {words}, not {_describe(err.instance)}")


def _bad_enum(err, path, root) -> Problem:
    options = [str(o) for o in err.validator_value]
    hint = did_you_mean(str(err.instance), options)
    return Problem(path, f"{where(path, root)} must be one of {', '.join(options)}; "
                   f"got {_describe(err.instance)}{hint}")


def _bad_pattern(err, path, root) -> Problem:
    key = err.instance if isinstance(err.instance, str) else None
    return Problem(path, f"{err.instance!r} is not a valid name: use letters, digits and _, "
                   "not starting with a digit", key=key)


def _bound(err, path, root) -> Problem:
    words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
             "minLength": "at least", "minItems": "at least", "minProperties": "at least"}
    unit = {"minLength": " character(s) long", "minItems": " item(s)", "minProperties": " entry(ies)"}
    return Problem(path, f"{where(path, root)} must be {words[err.validator]} "
                   f"{err.validator_value}{unit.get(err.validator, '')}")


def _no_branch(err, path, root) -> Problem:
    kinds = [e.validator_value for e in err.context if e.validator == "type" and not e.relative_path]
    kinds = [k for v in kinds for k in (v if isinstance(v, list) else [v])]
    if kinds and not isinstance(err.instance, dict):
        words = " or ".join(dict.fromkeys(_TYPE_WORDS.get(k, k) for k in kinds))
        return Problem(path, f"{where(path, root)} must be {words}, not {_describe(err.instance)}")
    return Problem(path, f"{where(path, root)}: this is not {err.schema.get('title', 'of an allowed shape')}")


_HANDLERS = {
    "anyOf": _no_branch, "oneOf": _no_branch,
    "additionalProperties": _unknown_key,
    "required": _missing,
    "type": _wrong_type,
    "enum": _bad_enum,
    "pattern": _bad_pattern,
    "minimum": _bound, "maximum": _bound, "exclusiveMinimum": _bound,
    "minLength": _bound, "minItems": _bound, "minProperties": _bound,
}
