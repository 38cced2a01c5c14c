"""A deterministic stand-in for a skill, for tests and dry runs of an evaluation.

Quality of a response is the number in a trailing ``{n}`` marker (else its length); a
pointwise fake returns it, a pairwise fake returns P(a better) from the quality gap plus an
optional position bias. Every sample it receives is kept in ``seen`` (the leak tests read it).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["FakeResult", "FakeScorer", "marker_quality"]

_MARKER = re.compile(r"\{(-?\d+(?:\.\d+)?)\}\s*$")


def marker_quality(text: str) -> float:
    """The ``{n}`` marker at the end of ``text``, else its length."""
    match = _MARKER.search(str(text))
    return float(match.group(1)) if match else float(len(str(text)))


@dataclass
class FakeResult:
    """Result-shaped: reward, status, reason, trace, reward id, tokens, seconds."""

    reward: "float | None"
    status: str = "ok"
    reason: "str | None" = None
    trace: dict = field(default_factory=dict)
    reward_id: str = ""
    scores: "list | None" = None
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0


@dataclass
class _Trace:
    status: str
    value: object
    kind: str = "ask"
    skipped: "str | None" = None
    tokens_in: int = 0
    tokens_out: int = 0
    detail: dict = field(default_factory=dict)


_DEFAULT_INPUTS = {"pairwise": {"prompt": "text", "a": "text", "b": "text"},
                   "pointwise": {"prompt": "text", "response": "text"},
                   "listwise": {"prompt": "text", "candidates": "list[text]"}}


class FakeScorer:
    """``score(samples)`` like a runtime Skill, with a scripted judgement."""

    def __init__(self, mode: str = "pairwise", *, name: str = "fake", bias: float = 0.0, quality=marker_quality,
                 inputs: "dict | None" = None, fail_on: str = "", reward_id: "str | None" = None):
        self.mode, self.name, self.bias, self.quality, self.fail_on = mode, name, bias, quality, fail_on
        self.inputs = inputs or _DEFAULT_INPUTS[mode]
        self.candidates = "candidates" if mode == "listwise" else None
        self.reward_id = reward_id or f"sha256:fake-{name}-{mode}-{bias}"
        self.seen: list = []
        self.calls = 0

    def score(self, samples: list) -> list:
        """One result per sample, in order."""
        self.calls += 1
        self.seen += [dict(s) for s in samples]
        return [self._one(s) for s in samples]

    def _one(self, sample: dict) -> FakeResult:
        if self.mode == "listwise":
            scores = [self.quality(c) for c in sample["candidates"]]
            return FakeResult(max(scores), scores=scores, reward_id=self.reward_id)
        texts = [sample.get(k, "") for k in ("response", "a", "b")]
        if self.fail_on and any(self.fail_on in str(t) for t in texts):
            return FakeResult(None, "error", "scripted failure", reward_id=self.reward_id)
        reward = self._reward(sample)
        trace = {"judge": _Trace("ok", reward, tokens_in=10, tokens_out=1), "check": _Trace("na", None, "check")}
        return FakeResult(reward, trace=trace, reward_id=self.reward_id, tokens_in=10, tokens_out=1, seconds=0.001)

    def _reward(self, sample: dict) -> float:
        if self.mode == "pointwise":
            return self.quality(sample["response"])
        gap = self.quality(sample["a"]) - self.quality(sample["b"])
        return min(1.0, max(0.0, 0.5 + 0.5 * math.tanh(gap) + self.bias))
