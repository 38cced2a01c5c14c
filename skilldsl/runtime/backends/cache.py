"""On-disk cache of LLM results, and a backend wrapper that serves from it.

Keys are sha256 over canonical JSON of (backend name, request kind, messages, options or
constraint, decoding settings): the backend name carries model id, quantisation and dtype, so
a different model or precision never hits another's entries. Values are the result fields as
JSON. The store is one sqlite file (WAL journal, busy timeout) so several processes can read
and write it at once; a broken or locked cache degrades to a miss, never to a failure.

``CachingBackend(inner)`` implements the same Backend protocol: the executor cannot tell it
apart from ``inner``, except that results served from the cache say ``cached=True``. It sends
only the misses of a wave to ``inner``, still as one call. A result with an ``error`` is
passed on but never stored: the next call asks ``inner`` again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from .base import ChoiceRequest, ChoiceResult, GenerateRequest, Generation

__all__ = ["ResultCache", "CachingBackend", "default_cache_path", "request_key"]


def default_cache_path() -> Path:
    """``<cache home>/llm-cache.sqlite`` (see :func:`skilldsl.runtime.backends.models.cache_home`)."""
    from .models import cache_home

    return cache_home() / "llm-cache.sqlite"


def request_key(backend_name: str, request) -> str:
    """The cache key of a choice or generate request for backend ``backend_name``."""
    if isinstance(request, ChoiceRequest):
        body = {"kind": "choice", "options": list(request.options)}
    else:
        body = {"kind": "generate", "constraint": request.constraint, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "seed": request.seed}
    body.update(backend=backend_name, messages=[dict(m) for m in request.messages])
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultCache:
    """A key -> JSON value store in one sqlite file, safe across processes and threads."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # never share a connection across fork
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        """The stored values of those ``keys`` that are present."""
        found: dict[str, dict] = {}
        try:
            with self._lock:
                conn = self._connect()
                for start in range(0, len(keys), 500):  # stay under sqlite's variable limit
                    part = keys[start:start + 500]
                    marks = ",".join("?" * len(part))
                    for key, value in conn.execute(f"SELECT key, value FROM results WHERE key IN ({marks})", part):
                        found[key] = json.loads(value)
        except (sqlite3.Error, ValueError, OSError):
            return found
        return found

    def put_many(self, items: Iterable[tuple[str, dict]]) -> None:
        """Store (key, value) pairs in one transaction (last writer wins)."""
        rows = [(k, json.dumps(v, sort_keys=True)) for k, v in items]
        if not rows:
            return
        try:
            with self._lock:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
        except (sqlite3.Error, OSError):
            self._rollback()

    def _rollback(self) -> None:
        try:
            if self._conn is not None:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def __len__(self) -> int:
        with self._lock:
            return self._connect().execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class CachingBackend:
    """``inner`` behind a :class:`ResultCache`; ``enabled=False`` passes every call through.

    ``hits``/``misses`` count requests served from / sent past the cache.
    """

    def __init__(self, inner, path: str | os.PathLike | None = None, *, enabled: bool = True,
                 cache: ResultCache | None = None):
        self.inner = inner
        self.enabled = enabled
        self.store = cache if cache is not None else ResultCache(path)
        self.hits = self.misses = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Cached choice results; misses go to ``inner`` in one call."""
        return self._serve(requests, self.inner.choice_logprobs, ChoiceResult)

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Cached generations; misses go to ``inner`` in one call."""
        return self._serve(requests, self.inner.generate, Generation)

    def _serve(self, requests, call, result_type):
        if not self.enabled or not requests:
            return call(requests)
        keys = [request_key(self.name, r) for r in requests]
        found = self.store.get_many(list(dict.fromkeys(keys)))
        first_miss = {k: i for i, k in reversed(list(enumerate(keys))) if k not in found}
        miss = sorted(first_miss.values())  # identical requests in a wave are computed once
        self.hits += len(requests) - len(miss)
        self.misses += len(miss)
        fresh = dict(zip(miss, call([requests[i] for i in miss]))) if miss else {}
        self.store.put_many((keys[i], _to_json(res)) for i, res in fresh.items() if not getattr(res, "error", None))
        return [
            fresh[i] if i in fresh else
            fresh[first_miss[k]] if k in first_miss else _from_json(result_type, found[k])
            for i, k in enumerate(keys)
        ]


def _to_json(result) -> dict:
    data = dataclasses.asdict(result)
    data.pop("cached", None)
    data.pop("error", None)  # only error-free results are stored
    return data


def _from_json(result_type, data: dict):
    fields = {f.name for f in dataclasses.fields(result_type)}
    data = {k: v for k, v in data.items() if k in fields}
    if "logprobs" in data:
        data["logprobs"] = tuple(data["logprobs"])
    return result_type(**data, cached=True)
