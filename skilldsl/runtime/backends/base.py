"""The narrow interface every model backend implements.

The executor hands a whole wave of requests to one call; batching, padding, length sorting
and prefix reuse are the backend's business. Messages are chat messages
(``[{"role": "system" | "user", "content": str}]``); the backend applies its chat template.

Failures come in two sizes. A request the backend cannot serve on its own terms (a choice
without options, an option that is no tokens, a prompt the chat template refuses, an answer
cut off at ``max_tokens``) gets a result whose ``error`` says why; the other requests of the
call are served as usual. Only a failure of the whole call (the model does not load, a batch
of one runs out of memory) raises :class:`BackendError`.
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
    "RequestError",
    "failed",
    "attempt",
    "check_options",
    "cut_off",
    "describe",
]


class BackendError(RuntimeError):
    """A backend could not serve a call at all (model failed to load, out of memory on one request...)."""


class RequestError(ValueError):
    """One request cannot be served; a backend turns it into that request's ``error`` result."""


@dataclass(frozen=True)
class ChoiceRequest:
    """Score each option as the assistant's whole answer to ``messages``."""

    messages: tuple[dict, ...]
    options: tuple[str, ...]


@dataclass(frozen=True)
class ChoiceResult:
    """Log-probability of each option (same order), from one forward pass; or, with
    ``error`` set, why this request could not be served (``logprobs`` is then empty)."""

    logprobs: tuple[float, ...]
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False
    cached: bool = False
    error: str | None = None


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
    """One generated answer; ``text`` satisfies the request's constraint unless ``error``
    says why it does not (then ``text`` is whatever was produced, possibly partial)."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False
    cached: bool = False
    error: str | None = None


def failed(request: "ChoiceRequest | GenerateRequest", reason: str) -> "ChoiceResult | Generation":
    """The error result of ``request``: the other requests of its call go on."""
    if isinstance(request, ChoiceRequest):
        return ChoiceResult((), error=reason)
    return Generation("", error=reason)


def attempt(request, serve, errors: tuple = (RequestError,)):
    """``serve(request)``; an exception of ``errors`` becomes the request's error result."""
    try:
        return serve(request)
    except errors as exc:
        return failed(request, describe(exc, "cannot prepare the request: "))


def describe(exc: BaseException, context: str = "") -> str:
    """A failure's reason: our own errors say it themselves; others get ``context`` and their type."""
    if isinstance(exc, (RequestError, BackendError)):
        return str(exc)
    return f"{context}{type(exc).__name__}: {exc}"


def check_options(options, n_tokens) -> None:
    """Refuse (:class:`RequestError`) what no backend can score: no options, or an option of
    no tokens (``n_tokens(option)`` counts them)."""
    if not options:
        raise RequestError("a choice request needs at least one option")
    empty = next((o for o in options if n_tokens(str(o)) == 0), None)
    if empty is not None:
        raise RequestError(f"option {empty!r} is empty: it has no tokens")


def cut_off(max_tokens: int) -> str:
    """The reason of a constrained answer that ran out of tokens before it was complete."""
    return f"answer cut off at max_tokens={max_tokens} before it was complete"


@runtime_checkable
class Backend(Protocol):
    """What the executor needs from a model."""

    name: str

    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]: ...

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]: ...

    def count_tokens(self, text: str) -> int: ...
