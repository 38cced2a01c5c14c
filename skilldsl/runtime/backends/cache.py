"""On-disk cache of LLM results, and a backend wrapper that serves from it.

Keys are sha256 over canonical JSON of (backend name, request kind, messages, options or
constraint, decoding settings, prompt encoding): the backend name carries model id, quantisation
and dtype, so a different model or precision never hits another's entries, and the backend's
``prompt_policy`` (prompt budget, context, truncation) is added to it, so neither does a prompt
cut another way. Values are the result fields as
JSON. The store is one sqlite file (WAL journal, busy timeout) so several processes can read
and write it at once; a locked cache degrades to a miss, never to a failure, and a damaged one
is set aside and rebuilt, with a warning (:class:`ResultCache`).

``CachingBackend(inner)`` implements the same Backend protocol: the executor cannot tell it
apart from ``inner``, except that results served from the cache say ``cached=True``. It sends
only the misses of a wave to ``inner``, still as one call. A result with an ``error`` is
passed on but never stored: the next call asks ``inner`` again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Iterable

from .base import PROMPT_ENCODING, REASONING_LEAD, ChoiceRequest, ChoiceResult, GenerateRequest, Generation

__all__ = ["ResultCache", "CachingBackend", "default_cache_path", "request_key"]


def default_cache_path() -> Path:
    """``<cache home>/llm-cache.sqlite`` (see :func:`skilldsl.runtime.backends.models.cache_home`)."""
    from .models import cache_home

    return cache_home() / "llm-cache.sqlite"


def request_key(backend_name: str, request) -> str:
    """The cache key of a choice or generate request for backend ``backend_name``."""
    if isinstance(request, ChoiceRequest):
        body = {"kind": "choice", "options": list(request.options)}
        if request.think:  # keys of choices without reasoning stay as they were
            body.update(think=request.think, temperature=request.temperature, seed=request.seed, lead=REASONING_LEAD)
    else:
        body = {"kind": "generate", "constraint": request.constraint, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "seed": request.seed}
    body.update(backend=backend_name, messages=[dict(m) for m in request.messages], encoding=PROMPT_ENCODING)
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResultCache:
    """A key -> JSON value store in one sqlite file, safe across processes and threads.

    A file sqlite reports as damaged (not a database, a malformed page) is set aside, renamed
    ``<name>.corrupt-<time>`` with its journal files, and a new cache is started in its place,
    with one warning on stderr; otherwise every later run would miss, silently. A lock or any
    other failure only costs the cache: a miss, never a failed request."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._inode: int | None = None  # of the file we opened: set aside only that one

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # never share a connection across fork
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._inode = _inode(self.path)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            except sqlite3.Error:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _run(self, work):
        """``work(connection)`` under the lock; a damaged file is set aside and ``work`` runs
        once more on a new one. Raises what else fails (callers turn it into a miss)."""
        with self._lock:
            try:
                return work(self._connect())
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise
                self._set_aside(exc)
            return work(self._connect())

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        """The stored values of those ``keys`` that are present (a value that does not parse is a miss)."""
        def select(conn: sqlite3.Connection) -> dict:
            found: dict[str, dict] = {}
            for start in range(0, len(keys), 500):  # stay under sqlite's variable limit
                part = keys[start:start + 500]
                marks = ",".join("?" * len(part))
                for key, value in conn.execute(f"SELECT key, value FROM results WHERE key IN ({marks})", part):
                    with contextlib.suppress(ValueError):
                        found[key] = json.loads(value)
            return found

        try:
            return self._run(select)
        except (sqlite3.Error, OSError):
            return {}

    def put_many(self, items: Iterable[tuple[str, dict]]) -> None:
        """Store (key, value) pairs in one transaction (last writer wins)."""
        rows = [(k, json.dumps(v, sort_keys=True)) for k, v in items]
        if not rows:
            return

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise

        try:
            self._run(insert)
        except (sqlite3.Error, OSError):
            pass

    def _set_aside(self, exc: Exception) -> None:
        """Move the damaged file (and its WAL/shm journals, which would be replayed into a new
        file) out of the way, unless another process has already replaced it."""
        self._close_connection()
        if _inode(self.path) != self._inode:  # someone else set it aside already: just reopen
            return
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        print(f"warning: the LLM result cache {self.path} is damaged ({exc}); moved it to {aside} "
              "and started a new, empty cache", file=sys.stderr, flush=True)

    def __len__(self) -> int:
        return self._run(lambda conn: conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        with self._lock:
            self._close_connection()

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """sqlite's SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), not a lock or a full disk."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (11, 26)
    text = str(exc)
    return "malformed" in text or "not a database" in text


def _inode(path: Path) -> "int | None":
    try:
        return path.stat().st_ino
    except OSError:
        return None


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

    @property
    def reasoning(self) -> bool:
        """Whether ``inner`` serves choice requests with ``think`` > 0 (see ``base.serve_choices``)."""
        return bool(getattr(self.inner, "reasoning", False))

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
        # what else decides the answer to the same messages: how a long prompt is cut
        identity = self.name + str(getattr(self.inner, "prompt_policy", ""))
        keys = [request_key(identity, r) for r in requests]
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
