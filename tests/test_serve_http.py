"""The reward server over real sockets (uvicorn on 127.0.0.1, a free port): a client that
disconnects mid-batch, graceful shutdown, the client's retries, and ``skilldsl serve`` itself."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

import skilldsl  # noqa: E402
from skilldsl.cli import main  # noqa: E402
from skilldsl.client import AsyncRewardClient, RewardClient, RewardServerError  # noqa: E402
from skilldsl.runtime.backends.fake import FakeBackend  # noqa: E402
from skilldsl.serve import ServeConfig, create_app  # noqa: E402
from skilldsl.serve.app import DrainingServer  # noqa: E402

pytestmark = pytest.mark.serve

SAMPLE = {"prompt": "6*7?", "response": "42"}  # no reference: the (gated) judge decides


def gated_math(gate: threading.Event):
    def choose(prompt, options):
        assert gate.wait(20), "the test never opened the gate"
        return "yes"
    return skilldsl.load("math_answer", backend=FakeBackend(choices=choose))


@contextlib.contextmanager
def live(skills: dict, **config):
    """(base url, uvicorn server, RewardServer) of ``skills`` served on a free loopback port."""
    app = create_app(skills, ServeConfig(**config))
    server = DrainingServer(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait(lambda: server.started or not thread.is_alive())
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", server, app.state.server
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive()


def _wait(condition, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def _in_thread(fn):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", _capture(fn)), daemon=True)
    thread.start()
    return thread, box


def _capture(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - handed to the test's assertions
        return exc


def test_a_client_gone_mid_batch_does_not_break_the_batch():
    gate = threading.Event()
    with live({"math_answer": gated_math(gate)}, max_wait=10.0, max_batch_rows=5) as (url, _, state):
        body = json.dumps({"skill": "math_answer", "samples": [SAMPLE] * 2}).encode()
        port = int(url.rsplit(":", 1)[1])
        leaver = socket.create_connection(("127.0.0.1", port))
        leaver.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        batcher = lambda: state.batchers["math_answer"]  # noqa: E731
        _wait(lambda: batcher().pending_rows == 2)
        with RewardClient(url, retries=0) as client:
            stayer, box = _in_thread(lambda: client.score("math_answer", [SAMPLE, {"prompt": 1}, SAMPLE]))
            _wait(lambda: batcher().pending_rows == 5)  # 5 rows: one batch of both requests starts
            leaver.close()
            time.sleep(0.05)  # let the server see the disconnect while the batch runs
            gate.set()
            stayer.join(20)
            after = client.score("math_answer", [SAMPLE] * 5)  # a full batch: no window to wait out
    results = box["value"]
    assert [r["status"] for r in results] == ["ok", "error", "ok"] and results[0]["reward"] == pytest.approx(0.9)
    assert [r["status"] for r in after] == ["ok"] * 5
    assert batcher().stats["rows"] == 10


def test_shutdown_answers_the_request_in_flight_then_stops():
    gate = threading.Event()
    with live({"math_answer": gated_math(gate)}, max_wait=0) as (url, server, state):
        client = RewardClient(url, retries=0)
        flying, box = _in_thread(lambda: client.score("math_answer", [SAMPLE]))
        _wait(lambda: state.in_flight == 1)
        server.handle_exit(signal.SIGTERM, None)
        assert state.draining
        gate.set()
        flying.join(20)
    assert box["value"][0]["status"] == "ok"
    with pytest.raises(RewardServerError, match="cannot reach"):  # it is gone
        client.score("math_answer", [SAMPLE])
    client.close()


# -- the client's retries (httpx.MockTransport: no server) -----------------------------------

def scripted(answers: list):
    """A transport answering each request with the next of ``answers`` (a status, or an
    exception to raise), recording the requests."""
    seen = []

    def handle(request):
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        body = {"results": [{"reward": 1.0}]} if status == 200 else {"error": f"status {status}"}
        return httpx.Response(status, json=body, headers=headers)
    return handle, seen


RETRIED = [
    ([(429, {"Retry-After": "7"}), 200], [7.0]),              # the server's Retry-After wins over backoff
    ([503, (503, {"Retry-After": "soon"}), 200], [0.5, 1.0]),  # exponential; a date-like value: backoff
    ([httpx.ConnectError("refused"), 200], [0.5]),
]


@pytest.mark.parametrize("answers, delays", RETRIED)
def test_sync_client_retries_busy_and_unreachable_servers(monkeypatch, answers, delays):
    slept = []
    monkeypatch.setattr("skilldsl.client.time.sleep", slept.append)
    handle, seen = scripted(answers)
    with RewardClient("http://x", transport=httpx.MockTransport(handle)) as client:
        assert client.score("s", [SAMPLE]) == [{"reward": 1.0}]
    assert slept == delays and len(seen) == len(delays) + 1


@pytest.mark.parametrize("answers, delays", RETRIED)
def test_async_client_retries_the_same_way(monkeypatch, answers, delays):
    slept = []

    async def sleep(seconds):
        slept.append(seconds)
    monkeypatch.setattr("skilldsl.client.asyncio.sleep", sleep)
    handle, seen = scripted(answers)

    async def go():
        async with AsyncRewardClient("http://x", transport=httpx.MockTransport(handle)) as client:
            return await client.score("s", [SAMPLE])
    assert asyncio.run(go()) == [{"reward": 1.0}]
    assert slept == delays and len(seen) == len(delays) + 1


@pytest.mark.parametrize("status", [400, 401, 404, 413, 504, 500])
def test_client_never_retries_a_request_the_server_refused_for_itself(monkeypatch, status):
    monkeypatch.setattr("skilldsl.client.time.sleep", lambda s: pytest.fail("slept"))
    handle, seen = scripted([status, 200])
    with RewardClient("http://x", transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(RewardServerError) as caught:
            client.score("s", [SAMPLE])
    assert caught.value.status == status and caught.value.message == f"status {status}" and len(seen) == 1


def test_client_gives_up_after_its_retries(monkeypatch):
    monkeypatch.setattr("skilldsl.client.time.sleep", lambda s: None)
    handle, seen = scripted([(429, {"Retry-After": "1"})])
    with RewardClient("http://x", retries=3, transport=httpx.MockTransport(handle)) as client:
        with pytest.raises(RewardServerError) as caught:
            client.score("s", [SAMPLE])
    assert caught.value.status == 429 and len(seen) == 4


def test_sync_client_sends_the_token():
    with live({"math_answer": skilldsl.load("math_answer")}, token="tok") as (url, _, _state):
        with RewardClient(url, token="tok") as client:
            scored = client.score("math_answer", [{"prompt": "1+1?", "response": "2", "reference": "2"}])
        with RewardClient(url, token="bad", retries=0) as client, pytest.raises(RewardServerError) as caught:
            client.skills()
    assert scored[0]["reward"] == 1.0 and caught.value.status == 401


# -- the command ------------------------------------------------------------------------------

def test_serve_refuses_a_mapping_the_skill_cannot_take(capsys):
    assert main(["serve", "math_answer", "--label-input", "nope"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: skill 'math_answer' has no input 'nope' (--label-input); its inputs: prompt, response, reference")
    assert main(["serve", "math_answer", "math_answer"]) == 1
    assert "two skills are named 'math_answer'" in capsys.readouterr().err
    for option in ("--max-wait-ms=-1", "--timeout=0", "--max-body-mb=nan", "--max-batch-rows=0"):
        with pytest.raises(SystemExit) as usage:
            main(["serve", "math_answer", option])
        assert usage.value.code == 2


def test_skilldsl_serve_answers_openrlhf_like_skill_score_and_stops_cleanly_on_sigterm(tmp_path):
    prompts = ["Q: 6*7? A:"] * 4
    queries = [p + r for p, r in zip(prompts, [" 42</s>", " 41</s>", " The answer is 42.</s>", " forty"])]
    labels = ["42", 42, "42", "42"]
    env = {**os.environ, "SKILLDSL_SERVE_TOKEN": "t0k"}
    log = tmp_path / "serve.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "skilldsl", "serve", "math_answer", "--port", "0",
                                 "--strip-suffix", "</s>"], stderr=stderr, env=env)
    try:
        url = _listening_url(proc, log)
        with RewardClient(url, token="t0k") as client:
            body = client.openrlhf(queries, prompts, labels)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
    expected = skilldsl.load("math_answer").score(
        [{"prompt": p, "response": q[len(p):].removesuffix("</s>"), "reference": str(l)}
         for q, p, l in zip(queries, prompts, labels)])
    assert body["rewards"] == [r.reward for r in expected] and body["rewards"][:2] == [1.0, 0.0]
    assert "Application shutdown complete" in log.read_text()


def _listening_url(proc, log) -> str:
    """The URL the server prints once it listens (it writes its log to the file ``log``)."""
    def found():
        assert proc.poll() is None, f"skilldsl serve exited early: {log.read_text()}"
        return re.search(r"running on (http://127\.0\.0\.1:\d+)", log.read_text())
    _wait(found, 60)
    return found().group(1)
