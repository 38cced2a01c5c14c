"""A small local chat-completions server for tests of the ``openai`` backend (standard library only).

It answers like ``vllm serve`` from a script, as :class:`~skilldsl.runtime.backends.fake.FakeBackend`
does: ``choices={substring: answer}`` decides guided choices (an answer is a label, which gets
``confidence`` and the other labels share the rest, or ``{label: probability}``; first match wins,
else the first label), ``texts={substring: text}`` decides other generations. Its "tokenizer" cuts
text into words with their leading spaces (``"Output (a)"`` is ``"Output"``, ``" (a)"``); its chat
template is ChatML over those tokens. It returns what vLLM returns: ``logprobs.content[0]`` with
``top_logprobs`` (each label's first token, plus a distractor), ``prompt_logprobs`` for a closed
assistant turn, ``n`` sampled answers, ``usage``, ``/v1/models`` and ``/tokenize``.

Faults: ``server.faults`` is a queue, one fault taken per chat request (``"429"``, ``"429-wait"``
with ``Retry-After: 0``, ``"500"``, ``"400"``, ``"hang"``, ``"garbage"``, and three bodies that never
end: ``"huge"`` declares a terabyte, ``"flood"`` declares no length, ``"drip"`` sends a byte every
50 ms; each streams until the client hangs up); ``server.modes`` applies to
every request (``"no-logprobs"``, ``"ignore"``: answer ``maybe`` whatever the constraint,
``"length"``: stop every generation after two characters with ``finish_reason: length``, ``"slow"``:
take 50 ms, ``"drop"``: close each connection after its answer, unannounced, as an idle keep-alive
timeout does). ``server.max_in_flight`` is the most chat requests it answered at once.
``server.bodies`` / ``server.headers`` record what arrived. A wrong API key is refused with HTTP 401
quoting the ``Authorization`` header it got, as some servers do.
"""
from __future__ import annotations

import json
import math
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FakeOpenAIServer", "toy_tokens"]


def toy_tokens(text: str) -> list[str]:
    """Words with their leading whitespace: the fake server's tokens."""
    return re.findall(r"\s*\S+|\s+$", text)


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer(...) as server:``; ``server.base_url`` is ``http://127.0.0.1:PORT/v1``."""

    def __init__(self, choices=None, texts=None, *, confidence: float = 0.9, model: str = "fake-judge",
                 api_key: "str | None" = None, hang_seconds: float = 10.0, labels: "list[str] | None" = None):
        self.choices, self.texts, self.confidence = dict(choices or {}), dict(texts or {}), confidence
        self.model, self.api_key, self.hang_seconds = model, api_key, hang_seconds
        self.labels = labels  # the options of an unguided request that asks logprobs (it names none)
        self.faults: list[str] = []
        self.modes: set[str] = set()
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.in_flight = self.max_in_flight = 0  # chat requests being answered at once
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._httpd: "ThreadingHTTPServer | None" = None

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> "FakeOpenAIServer":
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()  # a hanging handler returns
        self._httpd.shutdown()
        self._httpd.server_close()

    def chat_requests(self) -> list[dict]:
        """The bodies of the chat-completions requests received."""
        return [b for b in self.bodies if "messages" in b]

    # ---------------------------------------------------------------- the model
    def distribution(self, prompt: str, labels: list[str]) -> list[float]:
        answer = next((v for k, v in self.choices.items() if k in prompt), labels[0])
        if isinstance(answer, dict):
            return [float(answer.get(label, 0.0)) for label in labels]
        rest = (1.0 - self.confidence) / max(len(labels) - 1, 1)
        return [self.confidence if label == answer else rest for label in labels]

    def answer(self, body: dict) -> "tuple[int, dict, dict]":
        """(status, headers, JSON) of one chat request."""
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault in ("429", "429-wait", "500", "400"):
            extra = {"Retry-After": "0"} if fault == "429-wait" else {}
            return int(fault[:3]), extra, {"error": {"message": f"scripted {fault}"}}
        if fault == "hang":
            self._released.wait(self.hang_seconds)
        if fault == "garbage":
            return 200, {}, None
        if fault in _ENDLESS:
            return 200, {}, fault
        messages = body["messages"]
        prompt = "\n".join(m["content"] for m in messages)
        labels = _labels(body) or (self.labels if body.get("logprobs") else None)
        if body.get("prompt_logprobs") is not None and messages[-1]["role"] == "assistant":
            return 200, {}, self._scored_turn(messages)
        if labels is not None:
            return 200, {}, self._choice(body, prompt, labels)
        return 200, {}, self._text(body, prompt)

    def _choice(self, body: dict, prompt: str, labels: list[str]) -> dict:
        probs = self.distribution(prompt, labels)
        n = int(body.get("n", 1))
        if n > 1:
            rng = random.Random(body.get("seed", 0))
            picks = rng.choices(labels, weights=probs, k=n)
        else:
            picks = [labels[max(range(len(labels)), key=probs.__getitem__)]]
        choices = [self._message("maybe" if "ignore" in self.modes else pick, "stop") for pick in picks]
        if body.get("logprobs") and "no-logprobs" not in self.modes:
            choices[0]["logprobs"] = {"content": [_first_position(picks[0], labels, probs, body)]}
        return self._completion(body, choices, completion=sum(len(toy_tokens(p)) for p in picks))

    def _text(self, body: dict, prompt: str) -> dict:
        text = next((v for k, v in self.texts.items() if k in prompt), "")
        finish = "stop"
        if "ignore" in self.modes:
            text = "maybe"
        if "length" in self.modes:
            text, finish = text[:2], "length"
        return self._completion(body, [self._message(text, finish)], completion=len(toy_tokens(text)))

    def _scored_turn(self, messages: list[dict]) -> dict:
        """vLLM's prompt_logprobs of a prompt ending in a closed assistant turn: the answer's first
        token carries the option's probability (a scripted label: ``confidence``, another
        ``1 - confidence``; a ``{label: p}``: ``p``), every other token -0.5 or 0."""
        *head, turn = messages
        option = turn["content"]
        answer = next((v for k, v in self.choices.items() if k in "\n".join(m["content"] for m in head)), None)
        if isinstance(answer, dict):
            p = max(float(answer.get(option, 0.0)), 1e-9)
        else:
            p = self.confidence if answer == option else 1.0 - self.confidence
        before = _chatml(head, generation_prompt=True)
        tail = toy_tokens(option) + ["<|im_end|>", "\n"]
        rows = [None] + [_row(i, tok, -0.5) for i, tok in enumerate(before[1:], 1)]
        rows += [_row(len(before) + i, tok, math.log(p) if i == 0 else 0.0) for i, tok in enumerate(tail)]
        completion = self._completion({"messages": messages}, [self._message("x", "length")], completion=1,
                                      prompt_tokens=len(rows))
        return {**completion, "prompt_logprobs": rows}

    def _message(self, text: str, finish: str) -> dict:
        return {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}

    def _completion(self, body: dict, choices: list, completion: int, prompt_tokens: "int | None" = None) -> dict:
        for i, choice in enumerate(choices):
            choice["index"] = i
        prompt_tokens = prompt_tokens or len(_chatml(body["messages"], generation_prompt=True))
        return {"id": "chatcmpl-fake", "object": "chat.completion", "model": self.model, "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                          "total_tokens": prompt_tokens + completion}}


def _labels(body: dict) -> "list[str] | None":
    guided = body.get("structured_outputs") or {}
    labels = guided.get("choice") if isinstance(guided, dict) else None
    return labels if labels is not None else body.get("guided_choice")


def _first_position(pick: str, labels: list[str], probs: list[float], body: dict) -> dict:
    """The first answer token's logprobs: each label's first token (95 % of the mass, as the model
    spreads some on other tokens) and a distractor, the top ``top_logprobs`` of them."""
    mass: dict[str, float] = {}
    for label, p in zip(labels, probs):
        first = toy_tokens(label)[0]
        mass[first] = mass.get(first, 0.0) + 0.95 * p
    mass["I"] = 0.05
    top = sorted(mass.items(), key=lambda kv: -kv[1])[: int(body.get("top_logprobs") or 0)]
    first = toy_tokens(pick)[0]
    return {"token": first, "logprob": _log(mass[first]),
            "top_logprobs": [{"token": t, "logprob": _log(p)} for t, p in top]}


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -9999.0  # vLLM reports a masked token so


def _row(index: int, token: str, logprob: float) -> dict:
    return {str(index): {"logprob": logprob, "rank": 1, "decoded_token": token}}


def _chatml(messages: list[dict], generation_prompt: bool) -> list[str]:
    tokens: list[str] = []
    for m in messages:
        tokens += ["<|im_start|>", m["role"], "\n", *toy_tokens(m["content"]), "<|im_end|>", "\n"]
    return tokens + (["<|im_start|>", "assistant", "\n"] if generation_prompt else [])


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeOpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            return self._send(200, {}, {"object": "list", "data": [{"id": self.server_state.model}]})
        self._send(404, {}, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        state = self.server_state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw)
        with state._lock:
            state.bodies.append(body)
            state.headers.append(dict(self.headers))
        if state.api_key and self.headers.get("Authorization") != f"Bearer {state.api_key}":
            said = self.headers.get("Authorization") or ""
            key = said.removeprefix("Bearer ")
            masked = f"{key[:8]}{'*' * max(0, len(key) - 12)}{key[-4:]}"  # as api.openai.com quotes a key
            return self._send(401, {}, {"error": {"message": f"invalid api key in {said!r}; "
                                                             f"Incorrect API key provided: {masked}"}})
        if self.path == "/tokenize":
            return self._send(200, {}, {"count": len(toy_tokens(body.get("prompt", "")))})
        if self.path != "/v1/chat/completions":
            return self._send(404, {}, {"error": {"message": "not found"}})
        with state._lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            if "slow" in state.modes:
                state._released.wait(0.05)
            reply = state.answer(body)
        finally:
            with state._lock:
                state.in_flight -= 1
        self._send(*reply)
        if "drop" in state.modes:
            self.close_connection = True  # close the kept-alive connection without saying so

    def _send(self, status: int, headers: dict, payload) -> None:
        if payload in _ENDLESS:
            return self._endless(payload)
        data = b'{"choices": [{"message": ' if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout test)
            pass

    def _endless(self, fault: str) -> None:
        """A 200 whose body never ends, until the client hangs up or the server stops."""
        released = self.server_state._released
        length = {"huge": str(1 << 40), "drip": str(1 << 20)}.get(fault)
        chunk = b" " if fault == "drip" else b" " * (1 << 16)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if length:
                self.send_header("Content-Length", length)
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"{")
            while not released.is_set():
                self.wfile.write(chunk)
                self.wfile.flush()
                if fault == "drip":
                    released.wait(0.05)
        except OSError:  # the client hung up: what a bounded client does
            pass
        self.close_connection = True


_ENDLESS = ("huge", "flood", "drip")
