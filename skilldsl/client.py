"""A Python client of the reward server (``skilldsl serve``), sync and async, with retries.

    from skilldsl.client import RewardClient
    with RewardClient("http://127.0.0.1:8000", token=None) as rm:
        results = rm.score("math_answer", [{"prompt": "2+2?", "response": "4", "reference": "4"}])
        results[0]["reward"], results[0]["status"]
        rm.openrlhf(query=["2+2? 4"], prompts=["2+2? "], labels=["4"])["rewards"]

:class:`AsyncRewardClient` has the same methods as coroutines. A busy server (429), one
shutting down (503) and a connection that fails are retried up to ``retries`` times with
exponential backoff (``backoff`` * 2**attempt, at most ``max_backoff`` seconds), waiting at
least the server's ``Retry-After``; any other 4xx/5xx raises :class:`RewardServerError` at once
(the request itself is wrong, or timed out: sending it again would not help). Scoring is
deterministic, so a retried request gets the rewards the first would have. Needs httpx
(the ``[serve]`` extra).
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

__all__ = ["RewardClient", "AsyncRewardClient", "RewardServerError", "RETRY_STATUSES"]

RETRY_STATUSES = (429, 503)


class RewardServerError(RuntimeError):
    """The server answered with an error (``status``, its one-line ``message``), or could not
    be reached after every retry (``status`` None)."""

    def __init__(self, message: str, status: "int | None" = None):
        super().__init__(f"{status}: {message}" if status else message)
        self.status, self.message = status, message


class _Base:
    def __init__(self, url: str, token: "str | None" = None, timeout: float = 300.0, retries: int = 5, *,
                 backoff: float = 0.5, max_backoff: float = 30.0, transport: Any = None):
        self.url = url.rstrip("/")
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # transport: an httpx transport (a test's in-process ASGI app), else the network
        self._options = {"timeout": timeout, "headers": headers, "transport": transport}

    def _delay(self, attempt: int, response: "httpx.Response | None") -> float:
        """Seconds before retry ``attempt`` (0-based): exponential, at least ``Retry-After``."""
        delay = min(self.max_backoff, self.backoff * 2 ** attempt)
        if response is not None:
            try:
                delay = max(delay, float(response.headers.get("retry-after", 0)))
            except ValueError:  # an HTTP date: keep our own backoff
                pass
        return delay

    def _outcome(self, attempt: int, response: "httpx.Response | None", error: "Exception | None") -> "float | Any":
        """The seconds to wait before retrying, or the decoded JSON answer; raises when done."""
        retryable = error is not None or response.status_code in RETRY_STATUSES
        if retryable and attempt < self.retries:
            return self._delay(attempt, response)
        if error is not None:
            raise RewardServerError(f"cannot reach {self.url}: {type(error).__name__}: {error}") from error
        if response.status_code >= 400:
            raise RewardServerError(_message(response), response.status_code)
        return _Answer(response.json())

    @staticmethod
    def _score_body(skill: str, samples: list, trace: bool) -> dict:
        return {"skill": skill, "samples": list(samples), "trace": trace}

    @staticmethod
    def _openrlhf_body(query: list, prompts: list, labels: "list | None") -> dict:
        return {"query": list(query), "prompts": list(prompts), "labels": None if labels is None else list(labels)}

    @staticmethod
    def _reward_path(skill: "str | None") -> str:
        return f"/reward/{skill}" if skill else "/reward"


class _Answer:
    """A decoded answer, told apart from a retry delay (a float)."""

    def __init__(self, data: Any):
        self.data = data


# connection-level failures worth another try; a read timeout is not (the server is working on it)
_RETRY_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError, httpx.ReadError,
                 httpx.WriteError, httpx.PoolTimeout)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.text)
    except (ValueError, AttributeError):
        return response.text.strip()[:300] or response.reason_phrase


class RewardClient(_Base):
    """Blocking client. ``url``: the server's base URL (``http://host:8000``); ``options``:
    ``backoff``, ``max_backoff`` (seconds), ``transport`` (an httpx transport)."""

    def __init__(self, url: str, token: "str | None" = None, timeout: float = 300.0, retries: int = 5, **options: Any):
        super().__init__(url, token, timeout, retries, **options)
        self._http = httpx.Client(**self._options)

    def score(self, skill: str, samples: list, *, trace: bool = False) -> list[dict]:
        """One result dict per sample (reward, status, reason, reward_id, tokens ...; ``trace``
        when asked), in order."""
        return self._request("POST", "/v1/score", self._score_body(skill, samples, trace))["results"]

    def openrlhf(self, query: list, prompts: list, labels: "list | None" = None, *, skill: "str | None" = None) -> dict:
        """What OpenRLHF gets for this batch: ``rewards``, ``scores``, ``extra_logs``, ``statuses``..."""
        return self._request("POST", self._reward_path(skill), self._openrlhf_body(query, prompts, labels))

    def skills(self) -> list[dict]:
        """The loaded skills (``GET /v1/skills``)."""
        return self._request("GET", "/v1/skills")["skills"]

    def _request(self, method: str, path: str, body: "dict | None" = None) -> Any:
        for attempt in range(self.retries + 1):
            response, error = None, None
            try:
                response = self._http.request(method, self.url + path, json=body)
            except _RETRY_ERRORS as exc:
                error = exc
            outcome = self._outcome(attempt, response, error)
            if isinstance(outcome, _Answer):
                return outcome.data
            time.sleep(outcome)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RewardClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRewardClient(_Base):
    """The asyncio client: the methods of :class:`RewardClient` as coroutines."""

    def __init__(self, url: str, token: "str | None" = None, timeout: float = 300.0, retries: int = 5, **options: Any):
        super().__init__(url, token, timeout, retries, **options)
        self._http = httpx.AsyncClient(**self._options)

    async def score(self, skill: str, samples: list, *, trace: bool = False) -> list[dict]:
        """See :meth:`RewardClient.score`."""
        return (await self._request("POST", "/v1/score", self._score_body(skill, samples, trace)))["results"]

    async def openrlhf(self, query: list, prompts: list, labels: "list | None" = None, *,
                       skill: "str | None" = None) -> dict:
        """See :meth:`RewardClient.openrlhf`."""
        return await self._request("POST", self._reward_path(skill), self._openrlhf_body(query, prompts, labels))

    async def skills(self) -> list[dict]:
        """See :meth:`RewardClient.skills`."""
        return (await self._request("GET", "/v1/skills"))["skills"]

    async def _request(self, method: str, path: str, body: "dict | None" = None) -> Any:
        for attempt in range(self.retries + 1):
            response, error = None, None
            try:
                response = await self._http.request(method, self.url + path, json=body)
            except _RETRY_ERRORS as exc:
                error = exc
            outcome = self._outcome(attempt, response, error)
            if isinstance(outcome, _Answer):
                return outcome.data
            await asyncio.sleep(outcome)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncRewardClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
