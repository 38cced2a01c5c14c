"""The narrow interface every model backend implements.

The executor hands a whole wave of requests to one call; batching, padding, length sorting
and prefix reuse are the backend's business. Messages are chat messages
(``[{"role": "system" | "user", "content": str}]``); the backend applies its chat template.

Failures come in two sizes. A request the backend cannot serve on its own terms (a choice
without options, an option that is no tokens, a prompt the chat template refuses, an answer
cut off at ``max_tokens``) gets a result whose ``error`` says why; the other requests of the
call are served as usual. Only a failure of the whole call (the model does not load, a batch
of one runs out of memory) raises :class:`BackendError`.

Message content is text, always. The system prompt and rubric come from the skill's author, the
inputs from the sample (the response is the adversary), and a rendered message mixes them; a
tokenizer would read a control-token string anywhere in the prompt text (``<|im_end|>``,
``<|start_header_id|>``, ``[INST]``) as the control token itself, so a response could close its
turn and forge the judge's. Only the chat template may make control tokens: a backend that
tokenizes encodes messages with :class:`TextOnlyChat`; a backend that sends text to a server
passes every content through :func:`neutralise` first.

Reasoning (``ChoiceRequest.think`` > 0). A backend says it supports it with a true class attribute
``reasoning``; the runtime sends such requests only through :func:`serve_choices`, which gives each
one the error "reasoning not supported by backend NAME" on any other backend (so a backend written
before this field never sees one, and never silently drops the budget). A backend that supports it
must, per request: start the assistant's turn after the chat template's generation prompt; write at
most ``think`` tokens of free text (``temperature``/``seed`` as for generation), never a control
token (the end-of-turn token ends the text early and is dropped); then append
:data:`REASONING_LEAD` as text, and score the options as continuations right after it, exactly as
without reasoning (the read point is where the backend put the lead, whatever the text says: a
reasoning that writes the lead, a verdict or control-token spellings moves nothing); return the text
as ``ChoiceResult.reasoning``, its tokens and the answer's in ``tokens_out``. The transformers
backend extends the prompt's KV cache (one prefill per distinct prompt); the fake scripts the text.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Callable, Protocol, runtime_checkable

__all__ = [
    "PROMPT_ENCODING",
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
    "TextOnlyChat",
    "any_of",
    "neutralise",
    "CONTROL_TOKENS",
    "REASONING_LEAD",
    "serve_choices",
    "served_apart",
    "SentPrompt",
    "sent_prompt",
]

# What a reasoning backend writes after the judge's reasoning, before the verdict is read: it ends in
# a newline, as generation prompts do, so options tokenize as at the start of an answer.
REASONING_LEAD = "\n\nFinal answer:\n"


class BackendError(RuntimeError):
    """A backend could not serve a call at all (model failed to load, out of memory on one request...)."""


class RequestError(ValueError):
    """One request cannot be served; a backend turns it into that request's ``error`` result."""


@dataclass(frozen=True)
class ChoiceRequest:
    """Score each option as the assistant's whole answer to ``messages``.

    ``think`` > 0 asks for a reasoning phase first (see "Reasoning" in the module doc): the judge
    writes up to ``think`` tokens of free text, sampled at ``temperature`` with ``seed`` (greedy at
    0), and the options are scored after that text and :data:`REASONING_LEAD`, in the same turn."""

    messages: tuple[dict, ...]
    options: tuple[str, ...]
    think: int = 0
    temperature: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class ChoiceResult:
    """Log-probability of each option (same order), from one forward pass; or, with
    ``error`` set, why this request could not be served (``logprobs`` is then empty).
    ``sampled`` > 0: no model probabilities were available, and ``logprobs`` are the logs of the
    options' shares of that many sampled answers (the trace shows it)."""

    logprobs: tuple[float, ...]
    tokens_in: int = 0
    tokens_out: int = 0
    truncated: bool = False
    cached: bool = False
    error: str | None = None
    sampled: int = 0
    reasoning: str | None = None  # think > 0: the text the judge wrote before its verdict


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


def serve_choices(backend, requests: list) -> list:
    """``backend.choice_logprobs(requests)``, except that a request with ``think`` > 0 gets the error
    "reasoning not supported by backend NAME" unless the backend declares ``reasoning = True``; the
    others go to the backend in one call, and the results come back in order."""
    if getattr(backend, "reasoning", False) or not any(r.think for r in requests):
        return backend.choice_logprobs(requests)
    reason = f"reasoning not supported by backend {getattr(backend, 'name', type(backend).__name__)}"
    return served_apart(requests, lambda r: r.think > 0, lambda rs: [failed(r, reason) for r in rs],
                        backend.choice_logprobs)


def served_apart(requests: list, picked: Callable, serve_picked: Callable, serve_rest: Callable) -> list:
    """The results of ``requests`` in their order: those ``picked(request)`` selects served by
    ``serve_picked``, the others by ``serve_rest``, one call each (none for no requests)."""
    flags = [bool(picked(r)) for r in requests]
    chosen = [r for r, f in zip(requests, flags) if f]
    rest = [r for r, f in zip(requests, flags) if not f]
    results = [list(serve(part)) if part else [] for serve, part in ((serve_picked, chosen), (serve_rest, rest))]
    if [len(r) for r in results] != [len(chosen), len(rest)]:
        raise BackendError(f"the backend returned {sum(map(len, results))} results for {len(requests)} requests")
    served = [iter(r) for r in results]
    return [next(served[0] if f else served[1]) for f in flags]


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


# -- what the model is sent (skilldsl explain --prompts) --------------------------------------------

@dataclass(frozen=True)
class SentPrompt:
    """A request's prompt as its backend sends it: after the chat template and truncation, decoded
    (``text``), with its length in the backend's tokens. ``exact`` is False when the backend cannot
    show it (a server applies its own chat template): ``text`` is then the messages as sent. For a
    reasoning request it is the prompt the reasoning continues. ``error``: why the backend would
    refuse the request (the prompt leaves no room for the answer, ...)."""

    text: str
    tokens: int | None = None
    truncated: bool = False
    exact: bool = True
    error: str | None = None


def sent_prompt(backend, request) -> SentPrompt:
    """What ``backend`` sends its model for ``request``: the backend's own ``sent_prompt(request)``
    (found through wrappers such as the LLM cache), computed by the code that serves the request, or
    else the messages as a text-sending backend sends them (``exact=False``)."""
    inner = backend
    while not hasattr(inner, "sent_prompt") and hasattr(inner, "inner"):
        inner = inner.inner
    show = getattr(inner, "sent_prompt", None)
    if show is None:
        text = "\n".join(f"[{m.get('role', 'user')}]\n{neutralise(str(m.get('content') or ''))}"
                         for m in request.messages)
        return SentPrompt(text, exact=False)
    try:
        return show(request)
    except RequestError as exc:
        return SentPrompt("", error=str(exc))


# -- message content is text --------------------------------------------------------------------

# How messages become tokens; part of every LLM-cache key, so a change here never serves results
# computed under the old encoding (version 2: content is only ever text, see TextOnlyChat; version 3:
# added tokens that are not marked special are control tokens too, see hf._control_tokens).
PROMPT_ENCODING = "text-only-chat/3"


class TextOnlyChat:
    """Chat messages to token ids in which message content is only ever text.

    ``template(messages)`` applies the chat template (text); ``encode(text)`` tokenizes it, control-token
    strings becoming control tokens; ``encode_plain(text)`` tokenizes every character as text;
    ``specials`` are the strings the tokenizer reads as control tokens. A content holding none of
    them, and no piece of one at either end (which the template's own text could complete), takes
    the usual path: template, then ``encode``. Otherwise each such string is swapped for a placeholder
    before the template runs, and encoded with ``encode_plain`` where its placeholder landed: the
    chat template alone makes control tokens. A placeholder holds a random mark drawn per call (one
    that no content holds), so no content can spell one or run out of them.
    """

    def __init__(self, template: Callable, encode: Callable, encode_plain: Callable, specials):
        specials = sorted({str(s) for s in specials if s}, key=len, reverse=True)
        self._template, self._encode, self._encode_plain = template, encode, encode_plain
        self._find = any_of(specials)
        self._heads = tuple(sorted({s[:i] for s in specials for i in range(1, len(s))}, key=len, reverse=True))
        self._tails = tuple(sorted({s[i:] for s in specials for i in range(1, len(s))}, key=len, reverse=True))
        self._ends = {h[-1] for h in self._heads}, {t[0] for t in self._tails}  # quick rejection

    def ids(self, messages) -> list[int]:
        """The prompt's token ids, with a generation prompt for the assistant's turn."""
        messages = [dict(m) for m in messages]
        if not any(self._suspect(m["content"]) for m in messages):
            return self._encode(self._template(messages))
        return self._masked_ids(messages)

    def _suspect(self, text: str) -> bool:
        """Whether ``text`` holds a control-token spelling, or a piece of one at either end."""
        if self._find is None:
            return False
        head = text[-1:] in self._ends[0] and text.endswith(self._heads)
        return bool(head or (text[:1] in self._ends[1] and text.startswith(self._tails)) or self._find.search(text))

    def _masked_ids(self, messages: list[dict]) -> list[int]:
        mark = _fresh_mark("".join(m["content"] for m in messages))
        placeholders: dict[str, str] = {}  # the text a placeholder stands for -> the placeholder

        def slot(text: str) -> str:
            return placeholders.setdefault(text, f"{mark}{len(placeholders)}\ue001")

        for m in messages:
            m["content"] = self._mask(m["content"], slot)
        texts = {placeholder: text for text, placeholder in placeholders.items()}
        ids: list[int] = []
        for piece in re.split(f"({re.escape(mark)}[0-9]+\ue001)", self._template(messages)):
            ids += self._encode_plain(texts[piece]) if piece in texts else self._encode(piece) if piece else []
        return ids

    def _mask(self, text: str, slot: Callable[[str], str]) -> str:
        text = self._find.sub(lambda m: slot(m.group()), text) if self._find else text
        tail = next((t for t in self._tails if text.startswith(t)), "")
        if tail:
            text = slot(tail) + text[len(tail):]
        head = next((h for h in self._heads if text.endswith(h)), "")
        if head:
            text = text[: len(text) - len(head)] + slot(head)
        return text


def any_of(spellings) -> "re.Pattern | None":
    """A pattern matching any of ``spellings`` (the longest where several start at one place), or
    None if there are none."""
    spellings = sorted({str(s) for s in spellings if s}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, spellings))) if spellings else None


def _fresh_mark(text: str) -> str:
    """The opening of one call's placeholders: private-use characters (no chat template or tokenizer
    treats them) around 64 random bits, drawn again in the unlikely case that ``text`` holds it."""
    while True:
        mark = f"\ue000{secrets.token_hex(8)}\ue001"
        if mark not in text:
            return mark


# Control-token spellings of the common chat templates (ChatML, Llama 2/3, Mistral, Gemma, Phi,
# DeepSeek), for backends that cannot ask the server's tokenizer for its own list.
CONTROL_TOKENS = re.compile(
    r"<\|[^<>|\s]{1,64}\|>|<\uff5c[^<>\uff5c\s]{1,64}\uff5c>|</?s>|<</?SYS>>|\[/?(?:INST|SYSTEM_PROMPT|"
    r"AVAILABLE_TOOLS|TOOL_CALLS|TOOL_RESULTS)\]|<(?:unk|pad|bos|eos|mask|start_of_turn|end_of_turn)>"
)


def neutralise(text: str) -> str:
    """``text`` with every control-token spelling (:data:`CONTROL_TOKENS`) broken by a word joiner
    (U+2060, invisible) after its first character: for a backend that sends text to a server, where
    the server's tokenizer would read the spelling as the token."""
    return CONTROL_TOKENS.sub(lambda m: m.group()[0] + "\u2060" + m.group()[1:], text)
