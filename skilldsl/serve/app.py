"""The reward server: a Starlette app scoring samples for many clients in shared batches.

Endpoints (JSON in and out; every error is ``{"error": "<one line>"}`` with a 4xx/5xx):

- ``POST /reward/{skill}``, ``POST /reward`` and ``POST /get_reward`` (the last two when one
  skill is loaded): OpenRLHF's remote reward protocol (:mod:`skilldsl.serve.openrlhf`).
- ``POST /v1/score``: ``{"skill": name, "samples": [{...}, ...], "trace": false}`` ->
  ``{"skill", "reward_id", "results": [Result.to_dict() ...]}`` (trace only when asked).
- ``GET /v1/skills``: the loaded skills, their inputs and OpenRLHF mapping.
- ``GET /health`` (no token needed; 503 while draining), ``GET /metrics`` (Prometheus text).

Rows of concurrent requests for one skill go to that skill's
:class:`~skilldsl.runtime.batching.ScoreBatcher`, which scores them together in a worker
thread: the event loop only parses, admits and answers. Admission is bounded: rows admitted
and not yet answered over ``max_pending_rows`` -> 429, draining -> 503 (both with
``Retry-After``); bodies over ``max_body_bytes`` (or the whole ``max_buffered_bytes``) -> 413, a
body not received within ``read_timeout`` -> 408, bodies being received at once over
``max_buffered_bytes`` -> 503, a client gone before its body is whole -> 400 (not a 500); a
request not answered within ``timeout`` -> 504 (its rows still finish in their batch, so no other
request loses a row). A 500 (a bug of ours) names the exception's kind; its message goes to the log.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..data import strict_json
from . import openrlhf
from .metrics import CONTENT_TYPE, Metrics
from .openrlhf import BadRequest, OpenRLHFMapping

__all__ = ["ServeConfig", "RewardServer", "create_app", "serve"]

log = logging.getLogger("skilldsl.serve")


@dataclass(frozen=True)
class ServeConfig:
    """Limits and batching of a server (the ``skilldsl serve`` options)."""

    max_batch_rows: int = 64      # rows per runtime batch (ScoreBatcher max_rows)
    max_wait: float = 0.005       # seconds a batch waits for more rows before it starts
    max_pending_rows: int = 4096  # rows admitted and not yet answered, over all skills
    max_body_bytes: int = 16 << 20
    timeout: float = 300.0        # seconds per request
    read_timeout: float = 30.0    # seconds to receive a body (a slow sender cannot hold a slot)
    max_buffered_bytes: int = 128 << 20  # request bodies held in memory at once, over all requests
    token: "str | None" = None    # bearer token; None: no auth
    retry_after: int = 1          # seconds, in 429/503 answers

    @property
    def body_limit(self) -> int:
        """The largest body taken: ``max_body_bytes``, and never more than the whole buffer budget
        (such a body could never be received; a 503 would have its client retry forever)."""
        return min(self.max_body_bytes, self.max_buffered_bytes)


class RewardServer:
    """The state behind the app: skills, their batchers, admission and metrics.

    ``skills``: name -> runnable :class:`~skilldsl.runtime.Skill`; ``mappings``: name ->
    :class:`OpenRLHFMapping` (default: :func:`openrlhf.resolve_mapping` with no options).
    :meth:`start` / :meth:`aclose` run in the app's lifespan (a test may call them itself).
    """

    def __init__(self, skills: dict, config: "ServeConfig | None" = None, mappings: "dict | None" = None):
        self.skills = dict(skills)
        self.config = config or ServeConfig()
        self.mappings = {name: (mappings or {}).get(name) or openrlhf.resolve_mapping(skill.program)
                         for name, skill in self.skills.items()}
        self.metrics = Metrics()
        self.batchers: dict = {}
        self.admitted_rows = 0
        self.in_flight = 0
        self.buffered_bytes = 0  # bodies being received right now
        self.draining = False
        self._idle: "asyncio.Event | None" = None
        self.metrics.live("skilldsl_queue_rows", "gauge", "rows waiting or being scored, by skill", self._queue_depth)
        self.metrics.live("skilldsl_batches_total", "counter", "runtime batches run, by skill", self._batches)
        self.metrics.live("skilldsl_in_flight_requests", "gauge", "scoring requests not yet answered",
                          lambda: [({}, self.in_flight)])

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Create one batcher per skill on the running event loop."""
        from ..runtime.batching import ScoreBatcher

        self._idle = asyncio.Event()
        self._idle.set()
        self.batchers = {name: ScoreBatcher(skill, max_rows=self.config.max_batch_rows, max_wait=self.config.max_wait)
                         for name, skill in self.skills.items()}

    def begin_drain(self) -> None:
        """Refuse new scoring requests (503); those in flight go on."""
        self.draining = True

    async def aclose(self) -> None:
        """Drain: wait for requests in flight to be answered, then stop the batchers."""
        self.begin_drain()
        if self._idle is not None:
            await self._idle.wait()
        for batcher in self.batchers.values():
            await batcher.aclose()

    # -- scoring -------------------------------------------------------------------------
    async def score(self, name: str, samples: list) -> list:
        """Results of ``samples`` with skill ``name``, batched with other requests' rows."""
        if name not in self.batchers:
            raise BadRequest(f"unknown skill {name!r}; loaded: {', '.join(sorted(self.skills))}", 404)
        self._admit(len(samples))
        self.in_flight += 1
        self.admitted_rows += len(samples)
        self._idle.clear()
        try:
            if not samples:
                return []
            results = await asyncio.wait_for(self.batchers[name].score(samples), self.config.timeout)
        except asyncio.TimeoutError:
            raise BadRequest(f"not scored within {self.config.timeout:g}s (--timeout)", 504) from None
        finally:
            self.in_flight -= 1
            self.admitted_rows -= len(samples)
            if not self.in_flight:
                self._idle.set()
        self.metrics.count_results(name, results)
        return results

    def _admit(self, rows: int) -> None:
        if self.draining:
            raise Refused(503, "server is shutting down", self.config.retry_after)
        limit = self.config.max_pending_rows
        if rows > limit:
            raise BadRequest(f"request has {rows} rows; the server takes at most {limit} (--max-pending-rows)", 413)
        pending = max(self.admitted_rows, sum(self._pending().values()))
        if pending + rows > limit:
            raise Refused(429, f"queue full: {pending} rows pending, limit {limit}", self.config.retry_after)

    def _pending(self) -> dict:
        return {name: b.pending_rows for name, b in self.batchers.items()}

    def _queue_depth(self) -> list:
        return [({"skill": name}, rows) for name, rows in self._pending().items()]

    def _batches(self) -> list:
        return [({"skill": name}, b.stats.get("batches", 0)) for name, b in self.batchers.items()]

    def describe(self) -> list[dict]:
        """What ``GET /v1/skills`` lists."""
        return [{"name": name, "mode": skill.mode, "reward_id": skill.reward_id,
                 "inputs": skill.program.doc.get("inputs", {}), "openrlhf_path": f"/reward/{name}",
                 "openrlhf": vars(self.mappings[name]) | {"strip": list(self.mappings[name].strip)}}
                for name, skill in self.skills.items()]


class Refused(BadRequest):
    """Busy or draining: the client should retry after ``retry_after`` seconds."""

    def __init__(self, status: int, message: str, retry_after: int):
        super().__init__(message, status)
        self.retry_after = retry_after


# -- HTTP ------------------------------------------------------------------------------------
Handler = Callable[[RewardServer, Request], Awaitable[Response]]


def _endpoint(name: str, handler: Handler, server: RewardServer, *, auth: bool = True):
    """Wrap ``handler`` with auth, error answers, metrics and timing."""

    async def endpoint(request: Request) -> Response:
        start = time.perf_counter()
        try:
            if auth:
                _check_token(request, server.config.token)
            response = await handler(server, request)
        except BadRequest as exc:
            response = _error(exc)
        except Exception as exc:  # noqa: BLE001 - a bug of ours: one line, logged with its traceback
            log.exception("internal error in %s", name)
            # the message may hold paths or data: the client gets the kind, the log the rest
            response = JSONResponse({"error": f"internal error ({type(exc).__name__}); see the server log"}, 500)
        server.metrics.requests.add(endpoint=name, code=response.status_code)
        server.metrics.latency.observe(time.perf_counter() - start, endpoint=name)
        return response

    return endpoint


def _error(exc: BadRequest) -> JSONResponse:
    headers = {}
    if isinstance(exc, Refused):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": str(exc)}, exc.status, headers=headers)


def _check_token(request: Request, token: "str | None") -> None:
    if token is None:
        return
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise BadRequest("missing or wrong bearer token (Authorization: Bearer ...)", 401)


async def read_json(request: Request, server: RewardServer) -> Any:
    """The request's JSON body: 413 over ``config.body_limit``, 503 while the bodies being received
    would pass ``max_buffered_bytes``, 408 if it takes over ``read_timeout``, 400 if not JSON
    (NaN and Infinity included: not JSON, Python's reader would hand a skill a float NaN) or if
    the client leaves before it is whole."""
    config = server.config
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > config.body_limit:
        raise BadRequest(f"body of {declared} bytes is over the limit of {config.body_limit} (--max-body-mb)", 413)
    try:
        body = await asyncio.wait_for(_receive(request, server), config.read_timeout)
    except asyncio.TimeoutError:
        raise BadRequest(f"body not received within {config.read_timeout:g}s", 408) from None
    try:
        return strict_json(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest(f"body is not valid JSON: {str(exc).splitlines()[0][:200]}") from None


async def _receive(request: Request, server: RewardServer) -> bytes:
    """The body's bytes, counted against the server's buffer budget while they arrive."""
    limit, budget = server.config.body_limit, server.config.max_buffered_bytes
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            server.buffered_bytes += len(chunk)
            if size > limit:
                raise BadRequest(f"body is over the limit of {limit} bytes (--max-body-mb)", 413)
            if server.buffered_bytes > budget:
                raise Refused(503, "server is receiving too many bodies at once", server.config.retry_after)
            chunks.append(chunk)
    except ClientDisconnect:  # the client's doing, not a bug of ours: no 500 in the log
        raise BadRequest("the client left before its body was received") from None
    finally:
        server.buffered_bytes -= size
    return b"".join(chunks)


async def _native_score(server: RewardServer, request: Request) -> Response:
    body = await read_json(request, server)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object {\"skill\": ..., \"samples\": [...]}")
    name, samples, trace = body.get("skill"), body.get("samples"), body.get("trace", False)
    if not isinstance(name, str):
        raise BadRequest("skill must be a string (a name from GET /v1/skills)")
    if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
        raise BadRequest("samples must be a list of JSON objects")
    if not isinstance(trace, bool):
        raise BadRequest("trace must be true or false")
    results = await server.score(name, samples)
    rows = [_result_dict(r, trace) for r in results]
    return JSONResponse({"skill": name, "reward_id": server.skills[name].reward_id, "results": rows})


def _result_dict(result: Any, trace: bool) -> dict:
    row = result.to_dict()
    if not trace:
        row.pop("trace", None)
    return row


async def _openrlhf(server: RewardServer, request: Request) -> Response:
    name = request.path_params.get("skill") or _only_skill(server)
    if name not in server.skills:
        raise BadRequest(f"unknown skill {name!r}; loaded: {', '.join(sorted(server.skills))}", 404)
    mapping: OpenRLHFMapping = server.mappings[name]
    rows = openrlhf.rows_from_body(await read_json(request, server), mapping)
    samples = [row for row in rows if isinstance(row, dict)]
    scored = iter(await server.score(name, samples))
    results = [next(scored) if isinstance(row, dict) else _unsplit(row, server.skills[name]) for row in rows]
    return JSONResponse(openrlhf.response_body(results, mapping))


def _unsplit(reason: str, skill: Any) -> Any:
    from ..runtime import Result

    return Result(None, "error", reason, reward_id=skill.reward_id)


def _only_skill(server: RewardServer) -> str:
    if len(server.skills) != 1:
        raise BadRequest(f"several skills are loaded: POST to /reward/<skill> ({', '.join(sorted(server.skills))})")
    return next(iter(server.skills))


async def _skills(server: RewardServer, request: Request) -> Response:
    return JSONResponse({"skills": server.describe()})


async def _health(server: RewardServer, request: Request) -> Response:
    status = "draining" if server.draining else "ok"
    return JSONResponse({"status": status, "skills": sorted(server.skills)}, 503 if server.draining else 200)


async def _metrics(server: RewardServer, request: Request) -> Response:
    return Response(server.metrics.render(), media_type=CONTENT_TYPE)


def create_app(skills: dict, config: "ServeConfig | None" = None, mappings: "dict | None" = None) -> Starlette:
    """The ASGI app serving ``skills`` (name -> Skill); ``app.state.server`` is its
    :class:`RewardServer`. Its lifespan starts the batchers and, at shutdown, drains."""
    server = RewardServer(skills, config, mappings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await server.start()
        try:
            yield
        finally:
            await server.aclose()

    routes = [
        Route("/reward/{skill}", _endpoint("reward", _openrlhf, server), methods=["POST"]),
        Route("/reward", _endpoint("reward", _openrlhf, server), methods=["POST"]),
        Route("/get_reward", _endpoint("reward", _openrlhf, server), methods=["POST"]),
        Route("/v1/score", _endpoint("score", _native_score, server), methods=["POST"]),
        Route("/v1/skills", _endpoint("skills", _skills, server), methods=["GET"]),
        Route("/health", _endpoint("health", _health, server, auth=False), methods=["GET"]),
        Route("/metrics", _endpoint("metrics", _metrics, server), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app


class DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the app to refuse new work (503) the moment a signal arrives;
    uvicorn then stops accepting, waits for the requests in flight, and runs the app's shutdown.
    The signal is not raised again afterwards (uvicorn's habit): a clean drain exits 0."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.config.app.state.server.begin_drain()
        super().handle_exit(sig, frame)
        getattr(self, "_captured_signals", []).clear()  # uvicorn >= 0.29 re-raises what it captured


def serve(app: Starlette, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run ``app`` (from :func:`create_app`) on uvicorn until SIGINT/SIGTERM, then drain."""
    timeout = app.state.server.config.timeout
    DrainingServer(uvicorn.Config(app, host=host, port=port, log_level="info",
                                  timeout_graceful_shutdown=int(timeout) + 5)).run()
