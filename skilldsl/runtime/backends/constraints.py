"""Compile IR answer constraints into token-level guides, once, cached by content hash.

An IR answer constraint (``{"type": "regex", "pattern": ...}``, ``{"type": "json", "schema":
{...}}``, ``{"type": "choice", "labels": [...]}``, ``{"type": "score", "min", "max"}``) becomes a
regex (:mod:`skilldsl.ir.constraints`), then an outlines_core ``Index`` over the model's vocabulary. Building an index is the
expensive part (a DFA walk over the whole vocabulary); it is memoised in memory and pickled
on disk under ``<cache home>/constraints/`` keyed by sha256(vocabulary id, regex), so a
constraint is compiled once per machine, not once per call. ``text`` needs no index.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

from ...ir.constraints import JSON_WHITESPACE, canonical_constraint, constraint_regex, engine_problem

__all__ = ["constraint_regex", "constraint_key", "engine_problem", "IndexCache", "JSON_WHITESPACE"]


def constraint_key(constraint: dict) -> str:
    """A stable hash of a constraint (canonical JSON)."""
    return hashlib.sha256(canonical_constraint(constraint).encode()).hexdigest()


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
