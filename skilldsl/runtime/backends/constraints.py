"""Compile IR answer constraints into token-level guides, once, cached by content hash.

An IR answer constraint (``{"type": "regex", "pattern": ...}``, ``{"type": "json", "schema":
{...}}``, ``{"type": "choice", "labels": [...]}``, ``{"type": "score", "min", "max"}``) becomes a
regex, then an outlines_core ``Index`` over the model's vocabulary. Building an index is the
expensive part (a DFA walk over the whole vocabulary); it is memoised in memory and pickled
on disk under ``<cache home>/constraints/`` keyed by sha256(vocabulary id, regex), so a
constraint is compiled once per machine, not once per call. ``text`` needs no index.

outlines_core is the structured-generation backend: it is what outlines 1.x ships and
installs by default; xgrammar and llguidance are optional extras not installed here.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from functools import lru_cache
from pathlib import Path

__all__ = ["constraint_regex", "constraint_key", "engine_problem", "IndexCache", "JSON_WHITESPACE"]

# Between JSON tokens allow at most one space: a small judge otherwise pads with newlines
# until it runs out of tokens, and the output no longer parses.
JSON_WHITESPACE = r"[ ]?"


def _canonical(constraint: dict) -> str:
    return json.dumps(constraint, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def constraint_key(constraint: dict) -> str:
    """A stable hash of a constraint (canonical JSON)."""
    return hashlib.sha256(_canonical(constraint).encode()).hexdigest()


def constraint_regex(constraint: dict) -> str | None:
    """The regex a generated answer must match in full; ``None`` for free ``text``.
    Computed once per distinct constraint (memoised on its canonical JSON)."""
    return _regex_of(_canonical(constraint))


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


class IndexCache:
    """outlines_core indexes for one vocabulary, in memory and (optionally) on disk."""

    def __init__(self, vocabulary, vocab_id: str, directory: Path | None):
        self._vocabulary = vocabulary
        self._vocab_id = vocab_id
        self._dir = directory
        self._memory: dict[str, object] = {}
        self.compiled = 0  # how many indexes were built (not loaded): for tests and benchmarks

    def get(self, regex: str):
        """The index for ``regex``: from memory, else disk, else built (and saved)."""
        key = hashlib.sha256(f"{self._vocab_id}\0{regex}".encode()).hexdigest()
        index = self._memory.get(key)
        if index is None:
            index = self._load(key)
        if index is None:
            from outlines_core import Index

            index = Index(regex, self._vocabulary)
            self.compiled += 1
            self._save(key, index)
        self._memory[key] = index
        return index

    def _path(self, key: str) -> Path | None:
        return self._dir / f"{key}.index" if self._dir else None

    def _load(self, key: str):
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # noqa: BLE001 - a corrupt cache entry is rebuilt, never fatal
            return None

    def _save(self, key: str, index) -> None:
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(index, f)
            os.replace(tmp, path)  # atomic: concurrent writers never expose a partial file
        except (OSError, TypeError, pickle.PicklingError):
            pass
