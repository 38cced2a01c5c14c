"""Test support for the runtime: hand-written IR documents and a scripted fake backend.

The fake answers by rules on the rendered prompt and logs every call, so tests can assert
*which* requests reached the model and *how many* backend calls a wave made.
"""
from __future__ import annotations

import contextlib
import math

from skilldsl.ir import Program
from skilldsl.runtime.backends.base import ChoiceResult, Generation

__all__ = ["ScriptedBackend", "program", "ask", "check", "E", "I", "C", "call", "op", "REF", "math_like",
           "forbid_backend", "registered", "loaded_or_skip"]


class ScriptedBackend:
    """``choose(text, options) -> {option: probability}`` (or one option name: p=0.9 for it);
    ``write(text, constraint) -> str`` for generate. ``fail`` makes the next N calls raise."""

    name = "scripted"
    cacheable = False  # a Skill that creates it by name never stores its answers in the LLM cache

    def __init__(self, choose=None, write=None, fail: int = 0, truncate_over: int | None = None):
        self.choose = choose or (lambda text, options: options[0])
        self.write = write or (lambda text, constraint: "ok")
        self.fail = fail
        self.truncate_over = truncate_over
        self.calls: list[tuple[str, int]] = []
        self.requests: list = []

    def _maybe_fail(self, method: str, n: int) -> None:
        self.calls.append((method, n))
        if self.fail:
            self.fail -= 1
            raise RuntimeError("scripted failure")

    @staticmethod
    def text(messages) -> str:
        return "\n".join(m["content"] for m in messages)

    def choice_logprobs(self, requests):
        self._maybe_fail("choice_logprobs", len(requests))
        self.requests.extend(requests)
        return [self._choice(r) for r in requests]

    def _choice(self, request) -> ChoiceResult:
        text = self.text(request.messages)
        picked = self.choose(text, list(request.options))
        if isinstance(picked, str):
            rest = (1 - 0.9) / max(len(request.options) - 1, 1)
            picked = {o: (0.9 if o == picked else rest) for o in request.options}
        logprobs = tuple(math.log(picked.get(o, 1e-9)) for o in request.options)
        truncated = self.truncate_over is not None and len(text) > self.truncate_over
        return ChoiceResult(logprobs, tokens_in=len(text.split()), tokens_out=1, truncated=truncated)

    def generate(self, requests):
        self._maybe_fail("generate", len(requests))
        self.requests.extend(requests)
        return [Generation(self.write(self.text(r.messages), r.constraint), 3, 2) for r in requests]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


# -- IR builders (exactly the docs/internals.md shapes) -----------------------------------------


def E(name):  # noqa: N802 - short names keep IR literals readable
    return {"evidence": name}


def I(name):  # noqa: N802,E743
    return {"input": name}


def C(value):  # noqa: N802
    return {"const": value}


def call(fn, *args):
    return {"call": fn, "args": list(args), "kwargs": {}}


def op(name, *args):
    return {"op": name, "args": list(args)}


def check(verifier, *args, when=None, version="1", **kwargs):
    return {"kind": "check", "cost": 1, "when": when, "deps": [], "reads": [],
            "verifier": {"name": verifier, "version": version}, "args": list(args), "kwargs": kwargs}


def ask(user, labels=("yes", "no"), *, system=None, swap=False, samples=1, answer=None, when=None,
        deps=(), allow=()):
    prompt = {"user": user}
    if system:
        prompt["system"] = system
    node = {"kind": "ask", "cost": 100, "when": when, "deps": list(deps), "reads": [],
            "prompt": prompt, "answer": answer or {"type": "choice", "labels": list(labels)},
            "samples": samples, "swap": swap, "model": "default",
            "decoding": {"temperature": 0.0, "max_tokens": 1, "seed": 0}}
    if allow:
        node["allow"] = list(allow)
    return node


def program(inputs, evidence, reward, *, mode="pointwise", eager=(), settings=None, files=None,
            candidates=None):
    """An IR Program from parts; input specs may be a bare type string."""
    inputs = {k: ({"type": v, "optional": False, "visibility": "visible"} if isinstance(v, str) else
                  {"optional": False, "visibility": "visible", **v}) for k, v in inputs.items()}
    doc = {
        "format": "skilldsl-ir/2", "skill": "t", "version": 1, "mode": mode, "about": "", "source": "t.skill",
        "inputs": inputs, "files": files or {}, "models": {"default": {"id": None}},
        "settings": {"retries": 1, "max_prompt_tokens": 2048, "truncate": "middle", "temperature": 0.0,
                     "seed": 0, **(settings or {})},
        "candidates": candidates, "evidence": evidence, "reward": reward,
        "plan": {"order": sorted(evidence, key=lambda n: (evidence[n].get("cost", 1), n)),
                 "eager": list(eager), "lazy": [n for n in evidence if n not in eager]},
    }
    return Program.from_doc(doc)


REF = {"type": "text", "optional": True, "visibility": "reference"}


def math_like():
    """reward: the verifier when it decides, else the judge (the DESIGN.md example)."""
    return program(
        {"prompt": "text", "response": "text", "reference": REF},
        {"matches": check("rt_test.same", I("response"), I("reference")),
         "judge": ask("Problem: {{ prompt }}\nSolution: {{ response }}\nCorrect?")},
        op("if", call("known", E("matches")), op("if", E("matches"), C(1.0), C(0.0)), call("p", E("judge"), C("yes"))),
        eager=["matches"],
    )


def forbid_backend(monkeypatch, why: str) -> None:
    """Make creating any model backend by name fail the test: verifiers must decide on their own.
    ``registry.create`` is where every named backend is made (the skill's default included)."""
    from skilldsl.runtime.backends import registry

    def refuse(name, spec, **options):
        raise AssertionError(f"{why} (backend {name!r} for model {spec.alias!r} was created)")

    monkeypatch.setattr(registry, "create", refuse)


@contextlib.contextmanager
def registered(name: str, backend):
    """Register ``backend`` (one object, every Skill gets it) as backend ``name`` inside the block."""
    from skilldsl.runtime.backends import registry

    registry.register(name, lambda spec: backend)
    try:
        yield backend
    finally:
        registry.unregister(name)


# -- verifiers for tests (registered once, under a private prefix) ------------------------------

from skilldsl.verifiers import Verdict, registry, verifier  # noqa: E402

VERIFIER_CALLS: list = []


def _register(name, func, params):
    if registry.get(name) is None:  # in-process, so VERIFIER_CALLS sees every call
        verifier(name, params=params, isolate=False)(func)


def _same(response, reference):
    VERIFIER_CALLS.append(("rt_test.same", response, reference))
    if reference == "?":
        return Verdict.na("reference is a question mark")
    return response.strip() == reference.strip()


def _boom(response):
    raise ValueError("kaboom")


_register("rt_test.same", _same, ("response: text", "reference: text"))
_register("rt_test.boom", _boom, ("response: text",))


def loaded_or_skip(backend, part: str = "model"):
    """``backend`` with its ``part`` (the model, vLLM's engine) loaded; the test skips when that
    cannot be done here, and fails instead under CI (``SKILLDSL_REQUIRE_MODEL``), where a default
    model or engine that does not load is a bug."""
    import os

    import pytest

    from skilldsl.runtime.backends.base import BackendError

    try:
        getattr(backend, part)
    except BackendError as exc:
        if os.environ.get("SKILLDSL_REQUIRE_MODEL"):
            pytest.fail(f"the default model's {part} must load (SKILLDSL_REQUIRE_MODEL is set): {exc}")
        pytest.skip(f"the default model's {part} cannot be loaded here: {exc}")
    return backend


class PretrainedStandIn:
    """A tokenizer or model that writes ``files`` (name -> bytes) when saved, as
    ``save_pretrained`` does: for ``models.load_model`` tests with transformers faked."""

    def __init__(self, files: dict):
        self.files, self.pad_token_id = files, 0
        self.config = type("Config", (), {"quantization_config": "gguf"})()

    def save_pretrained(self, folder) -> None:
        from pathlib import Path

        for name, data in self.files.items():
            (Path(folder) / name).write_bytes(data)

    def to(self, device):
        return self

    def eval(self):
        return self
