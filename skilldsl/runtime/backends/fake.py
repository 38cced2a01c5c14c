"""A scripted, deterministic backend for tests: no model, every call recorded.

Typical use::

    fake = FakeBackend(
        choices={"capital of France": "yes"},             # substring of the prompt -> answer
        texts=lambda prompt, constraint: '{"score": 3}',  # or a function
    )
    skill = skilldsl.load("my.skill", backend=fake)
    skill.score(samples)
    assert fake.n_calls("choice_logprobs") == 1           # one wave, one backend call
    assert len(fake.requests) == 2 * len(samples)         # swap doubles the requests
    assert not fake.saw("Is the answer correct?")         # a lazy judge was never asked

``choices`` decides each choice request. It is a function ``(prompt, options) -> answer``, or a
mapping ``{substring: answer}`` tried in order against the prompt (first match wins; no match
gives ``default_choice``). ``prompt`` is the messages' contents joined by newlines. An answer is
  - an option label: that option gets ``confidence`` (0.9), the others share the rest;
  - a dict ``{label: probability}`` (missing labels get ~0);
  - a list/tuple of probabilities in option order;
  - a float: the probability of the first option, the rest shared.

``texts`` decides generations the same way (function ``(prompt, constraint) -> str`` or
``{substring: str}``). Scripted texts are checked against the constraint (regex full match,
JSON parse + schema validation, choice label), so a test cannot silently feed output the real backend could never
produce; when no rule matches, a choice/score constraint gets its first label and text ``""``.

Per-request failures follow the real backend's contract (the rest of the call is served): a
script may answer with a :class:`RequestError` to fail just that request; a choice request
without options, or with an option of no words, gets an ``error`` result; a regex/json/choice
answer longer than the request's ``max_tokens`` (in words, the fake's tokens) comes back cut
to that many words with the ``error`` "answer cut off at max_tokens=N ...".

Message content reaches scripts as a text-sending backend would send it: control-token
spellings (``<|im_end|>``...) broken by ``base.neutralise``, so no script can see a forged turn.

Reasoning (a choice request with ``think`` > 0): ``reasonings`` scripts the judge's text, as
``texts`` does (function ``(prompt, request) -> str`` or ``{substring: str}``; no match: no text). The
text is neutralised as message content is (a model cannot write control tokens either) and cut to
``think`` words; ``choices`` then decides on the prompt, that text and ``base.REASONING_LEAD``
joined, as a model reads its own reasoning. The text comes back as ``ChoiceResult.reasoning``.

``fail=N`` makes the next N calls raise :class:`BackendError` (for retry paths);
``truncate_over=K`` flags prompts longer than K words as truncated.

It is the registered backend ``fake`` (:func:`from_spec`): ``skilldsl score SKILL DATA --backend
fake --backend-option script=fake.json`` scores with the script in ``fake.json`` (``{"choices":
{substring: answer}, "texts": {substring: text}, "default_choice": ..., "confidence": ...}``),
with no model. A script file that is missing or malformed (not a JSON object of those keys,
``choices``/``texts`` not objects, ``confidence`` outside 0..1) is the model failing to load: each
row that asks it errs with that one reason, as with any backend made on first need; rows decided
without it are unaffected. Its results are never written to the LLM cache (``cacheable = False``):
the cache keys on the backend's name, and two scripts share one.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Union

from ...data import strict_json, type_name
from ...values import is_finite_number
from .base import (
    REASONING_LEAD, BackendError, ChoiceRequest, ChoiceResult, GenerateRequest, Generation, RequestError, SentPrompt,
    attempt, check_options, cut_off, neutralise,
)

__all__ = ["FakeBackend", "Call", "prompt_text", "from_spec"]

Answer = Union[str, float, dict, list, tuple]
ChoiceScript = Union[Callable[[str, list], Answer], Mapping[str, Answer], None]
TextScript = Union[Callable[[str, dict], str], Mapping[str, str], None]
ReasoningScript = Union[Callable[[str, ChoiceRequest], str], Mapping[str, str], None]


@dataclass(frozen=True)
class Call:
    """One backend call: the method name and the requests it got, in order."""

    method: str
    requests: tuple


def prompt_text(messages) -> str:
    """What scripts match against: the message contents joined by newlines, each as a text-sending
    backend sends it (control-token spellings broken by :func:`~.base.neutralise`)."""
    return "\n".join(neutralise(str(m.get("content", ""))) for m in messages)


class FakeBackend:
    """A :class:`~skilldsl.runtime.backends.base.Backend` answering from a script (see module doc)."""

    cacheable = False  # scripted answers are not the model's: never stored under a model's key
    reasoning = True   # serves choice requests with think > 0 (base.serve_choices)

    def __init__(self, choices: ChoiceScript = None, texts: TextScript = None, *,
                 default_choice: Answer | None = None, confidence: float = 0.9,
                 fail: int = 0, truncate_over: int | None = None, name: str = "fake",
                 reasonings: ReasoningScript = None):
        self.name = name
        self._choices, self._texts, self._reasonings = choices, texts, reasonings
        self.default_choice = default_choice
        self.confidence = confidence
        self.fail = fail
        self.truncate_over = truncate_over
        self.calls: list[Call] = []

    # ---------------------------------------------------------------- what tests inspect
    @property
    def requests(self) -> list:
        """Every request received, across calls, in order."""
        return [r for c in self.calls for r in c.requests]

    def n_calls(self, method: str | None = None) -> int:
        """Number of backend calls (of ``method``: ``choice_logprobs`` or ``generate``)."""
        return sum(1 for c in self.calls if method is None or c.method == method)

    def batch_sizes(self, method: str | None = None) -> list[int]:
        """Requests per call, in call order."""
        return [len(c.requests) for c in self.calls if method is None or c.method == method]

    def prompts(self) -> list[str]:
        """The prompt text of every request received."""
        return [prompt_text(r.messages) for r in self.requests]

    def saw(self, substring: str) -> bool:
        """Whether any request's prompt contained ``substring``."""
        return any(substring in p for p in self.prompts())

    def reset(self) -> None:
        """Forget the recorded calls."""
        self.calls.clear()

    # ---------------------------------------------------------------- the Backend protocol
    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Scripted log-probabilities, one result per request."""
        self._record("choice_logprobs", requests)
        return [attempt(r, self._choice) for r in requests]

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Scripted texts, checked against each request's constraint."""
        self._record("generate", requests)
        return [attempt(r, self._generation) for r in requests]

    def count_tokens(self, text: str) -> int:
        """Whitespace words stand in for tokens."""
        return len(text.split())

    def sent_prompt(self, request) -> SentPrompt:
        """What the scripts read for ``request`` (:func:`prompt_text`), in words (``base.sent_prompt``)."""
        text = prompt_text(request.messages)
        return SentPrompt(text, self.count_tokens(text), self._truncated(text))

    # ---------------------------------------------------------------- internals
    def _record(self, method: str, requests) -> None:
        self.calls.append(Call(method, tuple(requests)))
        if self.fail > 0:
            self.fail -= 1
            raise BackendError("scripted failure")

    def _choice(self, request: ChoiceRequest) -> ChoiceResult:
        text = prompt_text(request.messages)
        options = list(request.options)
        check_options(options, self.count_tokens)
        reasoning = self._reason(text, request) if request.think else None
        read = text if reasoning is None else text + "\n" + reasoning + REASONING_LEAD
        answer = _lookup(self._choices, read, options)
        if answer is None:
            answer = self.default_choice if self.default_choice is not None else options[0]
        probs = self._distribution(answer, options)
        logprobs = tuple(math.log(max(p, 1e-12)) for p in probs)
        return ChoiceResult(logprobs, tokens_in=self.count_tokens(text), tokens_out=1 + self.count_tokens(reasoning or ""),
                            truncated=self._truncated(text), reasoning=reasoning)

    def _reason(self, text: str, request: ChoiceRequest) -> str:
        """The scripted reasoning: neutralised, cut to ``think`` words."""
        written = _lookup(self._reasonings, text, request)
        return " ".join(neutralise(str(written or "")).split()[:request.think])

    def _distribution(self, answer: Answer, options: list) -> list[float]:
        if isinstance(answer, dict):
            unknown = set(answer) - set(options)
            if unknown:
                raise ValueError(f"scripted probabilities for unknown options {sorted(unknown)}; options are {options}")
            return [float(answer.get(o, 0.0)) for o in options]
        if isinstance(answer, (list, tuple)):
            if len(answer) != len(options):
                raise ValueError(f"scripted {len(answer)} probabilities for {len(options)} options")
            return [float(p) for p in answer]
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            return _spread(options, options[0], float(answer))
        if answer not in options:
            raise ValueError(f"scripted answer {answer!r} is not one of the options {options}")
        return _spread(options, answer, self.confidence)

    def _generation(self, request: GenerateRequest) -> Generation:
        text = prompt_text(request.messages)
        constraint = request.constraint or {"type": "text"}
        out = _lookup(self._texts, text, constraint)
        if out is None:
            out = _default_text(constraint)
        _check(str(out), constraint)
        words, error = str(out), None
        if constraint.get("type", "text") != "text" and self.count_tokens(words) > request.max_tokens:
            words, error = " ".join(words.split()[:request.max_tokens]), cut_off(request.max_tokens)
        return Generation(words, tokens_in=self.count_tokens(text), tokens_out=self.count_tokens(words),
                          truncated=self._truncated(text), error=error)

    def _truncated(self, text: str) -> bool:
        return self.truncate_over is not None and self.count_tokens(text) > self.truncate_over


_SCRIPT_KEYS = ("choices", "texts", "default_choice", "confidence", "reasonings")


def from_spec(spec, *, script: "str | None" = None, choices: ChoiceScript = None, texts: TextScript = None,
              default_choice: Answer | None = None, confidence: "float | None" = None,
              truncate_over: int | None = None, reasonings: ReasoningScript = None) -> FakeBackend:
    """The registered backend ``fake`` (see :mod:`.registry`): the model ``spec`` is ignored;
    ``script`` is a JSON file of ``choices``, ``texts``, ``default_choice``, ``confidence`` and ``reasonings``
    (an option given as well wins over the file)."""
    given = {"choices": choices, "texts": texts, "default_choice": default_choice, "confidence": confidence,
             "reasonings": reasonings}
    loaded = _read_script(script) if script is not None else {}
    merged = {**loaded, **{k: v for k, v in given.items() if v is not None}}
    if confidence is not None and _confidence_problem(confidence):
        raise BackendError(f"fake backend: {_confidence_problem(confidence)}")
    return FakeBackend(merged.get("choices"), merged.get("texts"), default_choice=merged.get("default_choice"),
                       confidence=float(merged.get("confidence", 0.9)), truncate_over=truncate_over,
                       reasonings=merged.get("reasonings"))


def _read_script(path) -> dict:
    """The script file of :func:`from_spec`: a JSON object of the keys in ``_SCRIPT_KEYS``, each of
    the shape :class:`FakeBackend` reads (else one :class:`BackendError` naming the file)."""
    try:
        with open(path, encoding="utf-8") as f:
            script = strict_json(f.read())
    except OSError as exc:
        raise BackendError(f"fake backend script {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise BackendError(f"fake backend script {path}: not JSON: {exc}") from None
    problem = _script_problem(script)
    if problem:
        raise BackendError(f"fake backend script {path}: {problem}")
    return script


def _script_problem(script: Any) -> "str | None":
    """Why ``script`` is not a fake backend's script, or None."""
    unknown = sorted(set(script) - set(_SCRIPT_KEYS)) if isinstance(script, dict) else None
    if unknown is None or unknown:
        return (f"must be a JSON object of {', '.join(_SCRIPT_KEYS)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    for key in ("choices", "texts", "reasonings"):
        if script.get(key) is not None and not isinstance(script[key], dict):
            return f"{key} must be a JSON object of text -> answer, not {type_name(script[key])}"
    return _confidence_problem(script.get("confidence", 0.9))


def _confidence_problem(value: Any) -> "str | None":
    if is_finite_number(value) and 0 <= value <= 1:
        return None
    return f"confidence must be a number from 0 to 1, not {value!r}"


def _lookup(script, text: str, arg):
    """The scripted answer (None: no rule matched); a scripted RequestError is raised."""
    answer = _match(script, text, arg)
    if isinstance(answer, RequestError):
        raise answer
    return answer


def _match(script, text: str, arg):
    if script is None:
        return None
    if callable(script):
        return script(text, arg)
    for key, value in script.items():
        if key in text:
            return value
    return None


def _spread(options: list, chosen, p: float) -> list[float]:
    rest = (1.0 - p) / max(len(options) - 1, 1)
    return [p if o == chosen else rest for o in options]


def _labels(constraint: dict) -> list[str] | None:
    if constraint.get("type") == "choice":
        return [str(x) for x in constraint["labels"]]
    if constraint.get("type") == "score":
        return [str(n) for n in range(int(constraint["min"]), int(constraint["max"]) + 1)]
    return None


def _default_text(constraint: dict) -> str:
    labels = _labels(constraint)
    if labels:
        return labels[0]
    if constraint.get("type") in ("regex", "json"):
        raise ValueError(f"FakeBackend has no scripted text for a {constraint['type']} constraint: pass texts=")
    return ""


def _check(text: str, constraint: dict) -> None:
    """Refuse scripted output the constraint would make impossible."""
    kind = constraint.get("type", "text")
    labels = _labels(constraint)
    bad = (
        (labels is not None and text not in labels)
        or (kind == "regex" and re.fullmatch(constraint["pattern"], text) is None)
        or (kind == "json" and not _is_json(text, constraint.get("schema") or {}))
    )
    if bad:
        raise ValueError(f"scripted text {text!r} does not satisfy constraint {constraint}")


def _is_json(text: str, schema: dict) -> bool:
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), schema)
    except (ValueError, jsonschema.ValidationError):
        return False
    return True
