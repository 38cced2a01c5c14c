"""The ``openai`` backend: a skill's judge on any server speaking the chat-completions API
(``vllm serve``, SGLang, others), over the standard library's HTTP client.

Public surface (``skilldsl.load(path, backend="openai", backend_options={...})``, or ``--backend
openai --backend-option KEY=VALUE`` / ``--base-url URL``)::

    OpenAIBackend(base_url, model=None, *, api_key=None, guided="vllm", top_logprobs=20, votes=0,
                  vote_temperature=1.0, logprobs=True, tokenize=True, concurrency=8, retries=3,
                  timeout=60.0, backoff=0.5, max_backoff=30.0)
    from_spec(spec, *, base_url, model=None, ...)   # the registered factory, same options
    check_values(**options)                         # ValueError for a value the backend cannot use
                                                    # (the constructor's check, run by the registry at load)

``model``: the served model name (default: the skill's model id, else the one model the server
lists at ``/models``). ``api_key``: default the ``OPENAI_API_KEY`` environment variable; sent only
as ``Authorization: Bearer``, never in a message or a name. ``guided``: the structured-output
dialect (:mod:`.openai_wire`). HTTP: :mod:`.openai_http` (``concurrency`` requests in flight,
``retries`` on 429/5xx/connection errors with backoff and jitter, ``Retry-After`` honoured,
``timeout`` seconds per socket operation and per body, a body over 64 MiB refused).

Choice requests, by the options' shape:

- **first token** (no two options start with the same character, so no two share a first token):
  one request, guided to the options, ``max_tokens`` enough for the longest, ``logprobs: true,
  top_logprobs: K``; each option's log-probability is that of its first token (as the transformers
  backend reads single-token options). Under a guided dialect the answer must be one of the options.
- **whole answer** (options sharing a first character, such as ``1`` .. ``10``): vLLM's prompt
  log-probabilities. One request gives the length of the prompt up to the assistant's turn; then
  one per option sends the prompt with the option as the assistant's closed turn
  (``add_generation_prompt: false``, ``continue_final_message: false``, ``prompt_logprobs: 0``,
  ``max_tokens: 1``), and the option scores the sum of the log-probabilities of the tokens after
  that length: the option and the template's end of turn, so ``1`` never takes the mass of ``10``.
- **votes** (fallback): when the server returns no log-probabilities (or ``logprobs=False``) and
  ``votes=N`` > 0, one guided request for N sampled answers (``n: N``, ``vote_temperature``); each
  option's log-probability is the log of its share, and the result carries ``sampled=N``, which the
  trace shows as ``"sampled": N``. With ``votes=0`` (the default) a server without logprobs is that
  row's error, never a guess.

Generations go out with the constraint in the dialect's fields and come back checked against it
(regex full match, JSON parsed and validated, labels): an answer that does not satisfy it is the
request's error ("answer cut off at max_tokens" when the server stopped for length). Every failed
request (refused, unreachable after retries, malformed answer) is that row's error.

Message contents pass through :func:`~.base.neutralise`: a response cannot spell a control token
the server's tokenizer would read. The server truncates nothing on our behalf: a prompt longer
than its context is refused (HTTP 400), the row's error; ``truncated`` is never set.
``count_tokens`` asks the server's ``/tokenize`` (vLLM serves one) and falls back to ``ceil(characters
/ 4)`` when it has none (``tokenize=False``: always the approximation). The backend's ``name`` is
``openai:<base_url>:<model>`` and its ``prompt_policy`` the readout settings (``guided``,
``top_logprobs``, ``logprobs``, ``votes``): LLM-cache entries of one server, model or readout never
serve another.
"""
from __future__ import annotations

import math
import os
import threading
from typing import Any

from .base import (
    BackendError, ChoiceRequest, ChoiceResult, GenerateRequest, Generation, RequestError, check_options, cut_off,
    failed,
)
from .openai_http import HttpSettings, JsonClient, check_url
from .openai_wire import (
    DIALECTS, NoLogprobs, answer_tail_logprob, chat_body, first_chars_differ, first_token_logprobs, guided_fields,
    message_text, usage, violation, vote_logprobs,
)

__all__ = ["OpenAIBackend", "from_spec", "check_values"]


class OpenAIBackend:
    """A :class:`~skilldsl.runtime.backends.base.Backend` on a chat-completions server (module doc)."""

    cacheable = True

    def __init__(self, base_url: str, model: "str | None" = None, *, api_key: "str | None" = None,
                 guided: str = "vllm", top_logprobs: int = 20, votes: int = 0, vote_temperature: float = 1.0,
                 logprobs: bool = True, tokenize: bool = True, concurrency: int = 8, retries: int = 3,
                 timeout: float = 60.0, backoff: float = 0.5, max_backoff: float = 30.0):
        check_values(base_url=base_url, guided=guided, top_logprobs=top_logprobs, votes=votes,
                     vote_temperature=vote_temperature, logprobs=logprobs, tokenize=tokenize,
                     concurrency=concurrency, retries=retries, timeout=timeout, backoff=backoff,
                     max_backoff=max_backoff)
        settings = HttpSettings(int(concurrency), int(retries), float(timeout), float(backoff), float(max_backoff))
        self.client = JsonClient(base_url, settings, api_key if api_key is not None else os.environ.get("OPENAI_API_KEY"))
        self.guided, self.top_logprobs, self.votes = guided, int(top_logprobs), int(votes)
        self.vote_temperature, self.use_logprobs = float(vote_temperature), bool(logprobs)
        self._model = str(model) if model else None
        self._model_lock = threading.Lock()
        self._tokenize = bool(tokenize)

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.client.base_url!r}, model={self._model!r}, guided={self.guided!r})"

    # ---------------------------------------------------------------- identity
    @property
    def model(self) -> str:
        """The served model's name: given, else the one the server lists (asked once)."""
        with self._model_lock:
            if self._model is None:
                self._model = self._served_model()
        return self._model

    @property
    def name(self) -> str:
        """``openai:<base_url>:<model>``: the LLM-cache identity."""
        return f"openai:{self.client.base_url}:{self.model}"

    @property
    def prompt_policy(self) -> str:
        """What else decides the answer to the same messages (read into the LLM-cache key, beside
        ``name``): the readout settings. The server cuts no prompt for us."""
        return (f"guided={self.guided};top_logprobs={self.top_logprobs};logprobs={self.use_logprobs};"
                f"votes={self.votes}@{self.vote_temperature:g}")

    def _served_model(self) -> str:
        try:
            listing = self.client.get("models")
        except RequestError as exc:
            raise BackendError(f"cannot list the models of {self.client.base_url} (pass model=): {exc}") from None
        data = listing.get("data")
        ids = [m.get("id") for m in data if isinstance(m, dict)] if isinstance(data, list) else []
        if len(ids) != 1 or not isinstance(ids[0], str):
            raise BackendError(f"{self.client.base_url} serves {len(ids)} models {ids}: name one with "
                               "--model or --backend-option model=NAME")
        return ids[0]

    # ---------------------------------------------------------------- the Backend protocol
    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Each option's log-probability, ``concurrency`` requests at a time (module doc)."""
        model = self.model if requests else ""
        return self.client.map(lambda r: _served(r, lambda req: self._choice(req, model)), list(requests))

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Guided answers, each checked against its constraint."""
        model = self.model if requests else ""
        return self.client.map(lambda r: _served(r, lambda req: self._generation(req, model)), list(requests))

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the server's ``/tokenize``, else ``ceil(len(text) / 4)``."""
        if self._tokenize:
            try:
                counted = self.client.post(f"{_root(self.client)}/tokenize",
                                           {"model": self.model, "prompt": text, "add_special_tokens": False})
                if isinstance(counted.get("count"), int):
                    return counted["count"]
            except (RequestError, BackendError):
                pass
            self._tokenize = False  # asked once: a server without /tokenize is not asked again
        return math.ceil(len(text) / 4)

    def close(self) -> None:
        """Stop the worker threads."""
        self.client.close()

    # ---------------------------------------------------------------- choices
    def _choice(self, request: ChoiceRequest, model: str) -> ChoiceResult:
        options = [str(o) for o in request.options]
        check_options(options, len)
        try:
            if not self.use_logprobs:
                raise NoLogprobs("logprobs=False")
            if first_chars_differ(options):
                return self._first_token(request, options, model)
            return self._whole_answers(request, options, model)
        except NoLogprobs as exc:
            if not self.votes:
                raise RequestError(f"{exc}: pass --backend-option votes=N to fall back to N sampled answers") from None
            return self._voted(request, options, model)

    def _first_token(self, request: ChoiceRequest, options: list[str], model: str) -> ChoiceResult:
        body = chat_body(model, request.messages, max_tokens=_label_budget(options), temperature=0.0,
                         logprobs=True, top_logprobs=self.top_logprobs,
                         **guided_fields(self.guided, {"type": "choice", "labels": options}))
        answer = self.client.post("chat/completions", body)
        logprobs = first_token_logprobs(answer, options, guided=self.guided not in ("openai", "none"))
        tokens_in, tokens_out = usage(answer)
        return ChoiceResult(logprobs, tokens_in=tokens_in, tokens_out=tokens_out)

    def _whole_answers(self, request: ChoiceRequest, options: list[str], model: str) -> ChoiceResult:
        head = self.client.post("chat/completions", chat_body(model, request.messages, max_tokens=1, temperature=0.0))
        before, _ = usage(head)
        if before < 1:
            raise NoLogprobs("the server reports no prompt_tokens to find the answer's tokens by")
        scores, tokens_out = [], 0
        for option in options:
            turn = [*request.messages, {"role": "assistant", "content": option}]
            body = chat_body(model, turn, max_tokens=1, temperature=0.0, add_generation_prompt=False,
                             continue_final_message=False, prompt_logprobs=0)
            logprob, tail = answer_tail_logprob(self.client.post("chat/completions", body), before)
            scores.append(logprob)
            tokens_out += tail
        return ChoiceResult(tuple(scores), tokens_in=before, tokens_out=tokens_out)

    def _voted(self, request: ChoiceRequest, options: list[str], model: str) -> ChoiceResult:
        body = chat_body(model, request.messages, max_tokens=_label_budget(options), n=self.votes,
                         temperature=self.vote_temperature, seed=0,
                         **guided_fields(self.guided, {"type": "choice", "labels": options}))
        answer = self.client.post("chat/completions", body)
        tokens_in, tokens_out = usage(answer)
        return ChoiceResult(vote_logprobs(answer, options, self.votes), tokens_in=tokens_in,
                            tokens_out=tokens_out, sampled=self.votes)

    # ---------------------------------------------------------------- generation
    def _generation(self, request: GenerateRequest, model: str) -> Generation:
        constraint = dict(request.constraint or {"type": "text"})
        body = chat_body(model, request.messages, max_tokens=int(request.max_tokens),
                         temperature=float(request.temperature), seed=int(request.seed),
                         **guided_fields(self.guided, constraint))
        answer = self.client.post("chat/completions", body)
        choices = answer.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if choice is None:
            raise RequestError("the server's answer has no choices")
        text = message_text(choice)
        tokens_in, tokens_out = usage(answer)
        problem = violation(text, constraint)
        error = None
        if problem is not None:
            error = cut_off(request.max_tokens) if choice.get("finish_reason") == "length" else \
                f"the server's answer breaks the {constraint.get('type')} constraint: {problem} " \
                f"(does it honour guided={self.guided}?)"
        return Generation(text, tokens_in=tokens_in, tokens_out=tokens_out, error=error)


def from_spec(spec, *, base_url: str, model: "str | None" = None, api_key: "str | None" = None,
              guided: str = "vllm", top_logprobs: int = 20, votes: int = 0, vote_temperature: float = 1.0,
              logprobs: bool = True, tokenize: bool = True, concurrency: int = 8, retries: int = 3,
              timeout: float = 60.0, backoff: float = 0.5, max_backoff: float = 30.0) -> OpenAIBackend:
    """The registered backend ``openai`` (see :mod:`.registry`): ``spec.id`` names the served model
    unless ``model`` does; ``spec``'s device, dtype and truncation are the server's business."""
    return OpenAIBackend(base_url, model or spec.id, api_key=api_key, guided=guided, top_logprobs=top_logprobs,
                         votes=votes, vote_temperature=vote_temperature, logprobs=logprobs, tokenize=tokenize,
                         concurrency=concurrency, retries=retries, timeout=timeout, backoff=backoff,
                         max_backoff=max_backoff)


def _served(request, serve):
    """``serve(request)``, any failure of it that request's error result (never the whole call's)."""
    try:
        return serve(request)
    except RequestError as exc:
        return failed(request, str(exc))
    except Exception as exc:  # noqa: BLE001 - an answer of an unexpected shape costs its row only
        return failed(request, f"the server's answer could not be read: {type(exc).__name__}: {exc}")


def _label_budget(options: list[str]) -> int:
    """Tokens enough for any option and an end token (a token is at least one byte)."""
    return max(len(o.encode()) for o in options) + 1


def _root(client: JsonClient) -> str:
    """The server root's path: vLLM serves ``/tokenize`` beside ``/v1``, not under it."""
    prefix = client.prefix.rstrip("/")
    return prefix[: -len("/v1")] if prefix.endswith("/v1") else prefix


_COUNTS = {"top_logprobs": 1, "votes": 0, "concurrency": 1, "retries": 0}  # option -> least value
_NUMBERS = {"timeout": "positive", "backoff": "non-negative", "max_backoff": "non-negative",
            "vote_temperature": "non-negative"}
_FLAGS = ("logprobs", "tokenize")


def check_values(**options: Any) -> None:
    """ValueError naming the first option whose value the backend cannot use: called by the
    constructor, and by the registry when a skill loads (``from_spec.check_values``), so
    ``--backend-option guided=x`` fails before any row runs rather than on the first request."""
    if "base_url" in options:
        check_url(options["base_url"])
    if "guided" in options and options["guided"] not in DIALECTS:
        raise ValueError(f"guided must be one of {', '.join(DIALECTS)}, not {options['guided']!r}")
    for name, least in _COUNTS.items():
        value = options.get(name, least)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, not {value!r}")
    for name, kind in _NUMBERS.items():
        value = options.get(name, 1.0)
        if not _finite(value) or value < 0 or (value == 0 and kind == "positive"):
            raise ValueError(f"{name} must be a {kind} number, not {value!r}")
    for name in _FLAGS:
        if not isinstance(options.get(name, True), bool):
            raise ValueError(f"{name} must be true or false, not {options[name]!r}")
    if options.get("logprobs") is False and not options.get("votes"):
        raise ValueError("logprobs=False needs votes=N (N sampled answers per choice)")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


from_spec.check_values = check_values  # the registry's load-time check (registry.check_options)
