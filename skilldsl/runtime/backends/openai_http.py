"""The HTTP side of the ``openai`` backend: JSON over ``http.client``, retries, a bounded pool.

Standard library only (no new dependency): one keep-alive connection per worker thread, at most
``concurrency`` requests in flight. A request is retried, with exponential backoff and full jitter
(``backoff * 2**attempt`` seconds at most, capped at ``max_backoff``), on HTTP 429, on 5xx and on
connection errors and timeouts, up to ``retries`` times; a ``Retry-After`` header (seconds or an
HTTP date) is honoured instead, up to ``max_backoff``. Any other 4xx is the request's own fault and
is not retried. Every failure ends as one :class:`~.base.RequestError` of one line, for the row that
asked: the API key never appears in it (it lives only in the ``Authorization`` header).

``timeout`` bounds each socket operation (connect, send, each read): a server that sends nothing for
that long fails the attempt, and so does one whose body, once its headers came, takes longer than
``timeout`` to arrive (a drip of bytes). A body over ``max_answer_bytes`` (64 MiB: a long prompt's
``prompt_logprobs`` are a few MB) is the request's error, read no further. An error text quoting the
server never shows the API key, even where the server echoes it.
"""
from __future__ import annotations

import email.utils
import http.client
import json
import math
import random
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from .base import RequestError

__all__ = ["HttpSettings", "JsonClient", "check_url"]

_RETRIED_STATUS = frozenset({429, *range(500, 600)})
_BLANK = b"<api key>"
_KEY_PART = 6  # a word holding this many of the key's first characters quotes the key
_WORD = re.compile(rb"[A-Za-z0-9_.*+/=-]+")
_NETWORK_ERRORS = (OSError, http.client.HTTPException)  # socket.timeout, refused, reset, bad status line


@dataclass(frozen=True)
class HttpSettings:
    """How the client talks to the server (see the module doc)."""

    concurrency: int = 8
    retries: int = 3
    timeout: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    max_answer_bytes: int = 64 << 20


class _Retry(Exception):
    """One attempt failed in a way worth retrying; ``wait`` is the server's Retry-After, if any."""

    def __init__(self, reason: str, wait: "float | None" = None):
        super().__init__(reason)
        self.wait = wait


class _TooLarge(Exception):
    """The server's body passed ``max_answer_bytes``."""


class JsonClient:
    """POST/GET JSON to one server, with the retry policy of the module doc.

    ``base_url`` is the API root (``http://host:8000/v1``); paths are relative to it, and a path
    starting with ``/`` is relative to the server root (vLLM's ``/tokenize``)."""

    def __init__(self, base_url: str, settings: HttpSettings, api_key: "str | None" = None):
        parts = check_url(base_url)
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host, self._port, self.prefix = parts.hostname, parts.port, parts.path
        self.settings = settings
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._secret = api_key.encode() if api_key else None
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._local = threading.local()
        self._open: set = set()  # every thread's connection, closed by close()
        self._pool: "ThreadPoolExecutor | None" = None
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"JsonClient({self.base_url!r})"

    # ---------------------------------------------------------------- fan-out
    def map(self, work: Callable[[Any], Any], items: list) -> list:
        """``work(item)`` for each item, ``concurrency`` at a time, results in order."""
        if len(items) <= 1 or self.settings.concurrency <= 1:
            return [work(item) for item in items]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="skilldsl-openai")
        return list(self._pool.map(work, items))

    # ---------------------------------------------------------------- one request, retried
    def post(self, path: str, body: dict) -> dict:
        """The JSON object the server answers to ``body`` (see the module doc for failures)."""
        return self._with_retries("POST", path, json.dumps(body, ensure_ascii=False).encode())

    def get(self, path: str) -> dict:
        """The JSON object the server answers to a GET of ``path``."""
        return self._with_retries("GET", path, None)

    def _with_retries(self, method: str, path: str, payload: "bytes | None") -> dict:
        attempt = 0
        while True:
            try:
                return self._once(method, path, payload)
            except _Retry as exc:
                if attempt == self.settings.retries:
                    tries = attempt + 1
                    raise RequestError(f"{exc} (gave up after {tries} attempt{'s' if tries > 1 else ''})") from None
                time.sleep(self._delay(attempt, exc.wait))
                attempt += 1

    def _delay(self, attempt: int, wait: "float | None") -> float:
        cap = self.settings.max_backoff
        if wait is not None:
            return min(max(wait, 0.0), cap)
        return random.uniform(0, min(cap, self.settings.backoff * 2 ** attempt))

    def _once(self, method: str, path: str, payload: "bytes | None") -> dict:
        target = path if path.startswith("/") else f"{self.prefix}/{path}"
        try:
            status, data, retry_after = self._exchange(method, target, payload)
        except socket.timeout:
            self._drop_connection()
            raise _Retry(f"no answer from {self.base_url} within timeout={self.settings.timeout:g}s") from None
        except _TooLarge:
            self._drop_connection()  # the rest of the body is never read
            raise RequestError(f"the server's answer is over {self.settings.max_answer_bytes} bytes") from None
        except _NETWORK_ERRORS as exc:
            self._drop_connection()
            raise _Retry(f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}") from None
        if status in _RETRIED_STATUS:
            raise _Retry(f"the server answered HTTP {status}{_said(self._hidden(data))}", _retry_after(retry_after))
        if status >= 400:
            raise RequestError(f"the server refused the request: HTTP {status}{_said(self._hidden(data))}")
        try:
            answer = json.loads(data)
        except ValueError:
            raise RequestError(f"the server's answer is not JSON: {_snippet(self._hidden(data))}") from None
        if not isinstance(answer, dict):
            raise RequestError(f"the server's answer is not a JSON object: {_snippet(self._hidden(data))}")
        return answer

    def _hidden(self, data: bytes) -> bytes:
        """``data`` with the API key blanked, before any of it is quoted in an error: the whole key,
        and a word that quotes part of it (``sk-proj-ab****wxyz``, as servers quote a wrong key)."""
        if not self._secret:
            return data
        data = data.replace(self._secret, _BLANK)
        if len(self._secret) < _KEY_PART + 2:
            return data
        head, tail = self._secret[:_KEY_PART], self._secret[-4:]
        return _WORD.sub(lambda m: _BLANK if _quotes_key(m.group(), head, tail) else m.group(), data)

    def _exchange(self, method: str, target: str, payload: "bytes | None") -> tuple:
        """(status, body, Retry-After) of one request. A kept-alive connection the server has
        closed meanwhile fails at once: that is tried again on a new connection, uncounted."""
        reused = getattr(self._local, "conn", None) is not None
        try:
            return self._send(self._connection(), method, target, payload)
        except (ConnectionError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
            if not reused:
                raise
            self._drop_connection()
            return self._send(self._connection(), method, target, payload)

    def _send(self, conn, method: str, target: str, payload: "bytes | None") -> tuple:
        conn.request(method, target, body=payload, headers=self._headers)
        response = conn.getresponse()
        return response.status, self._body(response), response.getheader("Retry-After")

    def _body(self, response) -> bytes:
        """The response body, within ``max_answer_bytes`` and ``timeout`` seconds (module doc)."""
        limit, deadline = self.settings.max_answer_bytes, time.monotonic() + self.settings.timeout
        declared = response.getheader("Content-Length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise _TooLarge
        parts, size = [], 0
        while chunk := response.read1(1 << 16):
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            if time.monotonic() > deadline:
                raise socket.timeout
            parts.append(chunk)
        parts.append(response.read())  # nothing is left; read() marks the response done (read1 does not)
        return b"".join(parts)

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = kind(self._host, self._port, timeout=self.settings.timeout)
            self._local.conn = conn
            with self._pool_lock:
                self._open.add(conn)
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._pool_lock:
                self._open.discard(conn)
            conn.close()

    def close(self) -> None:
        """Stop the worker threads and close every connection (reopened on next use)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            conns, self._open = list(self._open), set()
        if pool is not None:
            pool.shutdown(wait=False)
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit the modules may be gone
            pass


def check_url(base_url: Any):
    """``urlsplit(base_url)`` of an http(s) URL with a host; ValueError otherwise."""
    parts = urlsplit(base_url.rstrip("/")) if isinstance(base_url, str) else None
    if parts is not None and "@" in parts.netloc:  # never echoed: it would put the secret in the error
        raise ValueError("base_url must not carry credentials (user:key@host); pass the key as api_key "
                         "or OPENAI_API_KEY (the URL is the backend's name, shown in traces and cache keys)")
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL such as http://localhost:8000/v1, not {base_url!r}")
    return parts


def _retry_after(value: "str | None") -> "float | None":
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None  # "nan" would make time.sleep raise
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time() if when is not None else None


def _quotes_key(word: bytes, head: bytes, tail: bytes) -> bool:
    """Whether ``word`` quotes part of a key that starts with ``head`` and ends with ``tail``: its
    beginning, or a masked form (``*``) that ends like it."""
    return head in word or (b"*" in word and word.endswith(tail))


def _said(data: bytes) -> str:
    """``: <the server's error message>`` from an error body, short, or nothing."""
    try:
        body = json.loads(data)
    except ValueError:
        return f": {_snippet(data)}" if data.strip() else ""
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message", error) if isinstance(error, dict) else error
    return f": {_snippet(str(message).encode())}"


def _snippet(data: bytes, limit: int = 200) -> str:
    text = " ".join(data.decode("utf-8", "replace").split())
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
