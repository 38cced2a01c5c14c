"""The narrow interface every model backend implements.

The executor hands a whole wave of requests to one call; batching, padding, length sorting
and prefix reuse are the backend's business. Messages are chat messages
(``[{"role": "system" | "user", "content": str}]``); the backend applies its chat template.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "ChoiceRequest",
    "ChoiceResult",
    "GenerateRequest",
    "Generation",
    "Backend",
    "BackendError",
]


class BackendError(RuntimeError):
    """A backend could not serve a request (model failed to load, out of memory after retries...)."""


@dataclass(frozen=True)
class ChoiceRequest:
    """Score each option as the assistant's whole answer to ``messages``."""

    messages: tuple[dict, ...]
    options: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceResult:
    """Log-probability of each option (same order), from one forward pass."""

    logprobs: tuple[float, ...]
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False
    cached: bool = False


@dataclass(frozen=True)
class GenerateRequest:
    """Generate under ``constraint`` (an IR answer dict: regex, json or text)."""

    messages: tuple[dict, ...]
    constraint: dict = field(default_factory=lambda: {"type": "text"})
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Generation:
    """One generated answer; ``text`` satisfies the request's constraint."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False
    cached: bool = False


@runtime_checkable
class Backend(Protocol):
    """What the executor needs from a model."""

    name: str

    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]: ...

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]: ...

    def count_tokens(self, text: str) -> int: ...
