"""What the ``openai`` backend sends and how it reads the answers: pure functions, no I/O.

Structured outputs are not part of the chat-completions API; each server names them its own way.
``guided`` picks the dialect (:data:`DIALECTS`):

- ``vllm`` (default; vLLM >= 0.12, where the ``guided_*`` fields were removed):
  ``"structured_outputs": {"choice": [...]}`` / ``{"regex": ...}`` / ``{"json": schema}``;
- ``vllm-legacy`` (vLLM < 0.12): ``guided_choice`` / ``guided_regex`` / ``guided_json``;
- ``sglang``: ``regex`` (a choice as the alternation of its escaped labels) / ``json_schema``
  (the schema as a JSON string);
- ``openai``: ``response_format: {"type": "json_schema", ...}`` for JSON; regex and choice unguided;
- ``none``: nothing (every answer is still checked).

Whatever the dialect, an answer is checked against its constraint (:func:`violation`): a server
that ignores the extension fails that request, it never slips an invalid answer through.
"""
from __future__ import annotations

import json
import math
import re

from .base import RequestError, neutralise

__all__ = ["DIALECTS", "chat_body", "guided_fields", "violation", "message_text", "usage",
           "first_token_logprobs", "answer_tail_logprob", "vote_logprobs", "NoLogprobs", "first_chars_differ"]

DIALECTS = ("vllm", "vllm-legacy", "sglang", "openai", "none")


class NoLogprobs(RequestError):
    """The server gave no log-probabilities where they were asked for."""


def chat_body(model: str, messages, **fields) -> dict:
    """A chat-completions body: every message content through :func:`~.base.neutralise`."""
    sent = [{"role": str(m.get("role", "user")), "content": neutralise(str(m.get("content", "")))} for m in messages]
    return {"model": model, "messages": sent, **fields}


def labels_of(constraint: dict) -> "list[str] | None":
    """The labels of a choice or score constraint, else None."""
    kind = constraint.get("type")
    if kind == "choice":
        return [str(x) for x in constraint["labels"]]
    if kind == "score":
        return [str(n) for n in range(int(constraint["min"]), int(constraint["max"]) + 1)]
    return None


def guided_fields(dialect: str, constraint: dict) -> dict:
    """The body fields that ask ``dialect``'s server to decode under ``constraint``."""
    kind = constraint.get("type", "text")
    if kind == "text" or dialect == "none":
        return {}
    labels = labels_of(constraint)
    regex = constraint.get("pattern") if kind == "regex" else None
    schema = constraint.get("schema") or {} if kind == "json" else None
    if dialect == "vllm":
        key, value = ("choice", labels) if labels else ("regex", regex) if regex is not None else ("json", schema)
        return {"structured_outputs": {key: value}}
    if dialect == "vllm-legacy":
        key, value = ("choice", labels) if labels else ("regex", regex) if regex is not None else ("json", schema)
        return {f"guided_{key}": value}
    if dialect == "sglang":
        if schema is not None:
            return {"json_schema": json.dumps(schema)}
        return {"regex": regex if regex is not None else "|".join(re.escape(x) for x in labels)}
    if dialect == "openai" and schema is not None:
        return {"response_format": {"type": "json_schema",
                                    "json_schema": {"name": "answer", "schema": schema, "strict": True}}}
    return {}


def violation(text: str, constraint: dict) -> "str | None":
    """Why ``text`` does not satisfy ``constraint`` (None: it does, or the constraint is free text)."""
    kind = constraint.get("type", "text")
    labels = labels_of(constraint)
    if labels is not None:
        return None if text in labels else f"{_short(text)} is none of the labels {labels}"
    if kind == "regex":
        try:
            matched = re.fullmatch(constraint["pattern"], text)
        except re.error as exc:
            return f"the regex cannot be checked here: {exc}"
        return None if matched else f"{_short(text)} does not match the regex {constraint['pattern']!r}"
    if kind == "json":
        return _json_violation(text, constraint.get("schema") or {})
    return None


def _json_violation(text: str, schema: dict) -> "str | None":
    import jsonschema

    try:
        jsonschema.validate(json.loads(text), schema)
    except ValueError as exc:
        return f"{_short(text)} is not JSON: {exc}"
    except jsonschema.ValidationError as exc:
        return f"{_short(text)} does not satisfy the schema: {exc.message}"
    return None


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


# -- reading an answer --------------------------------------------------------------------------

def _first_choice(answer: dict) -> dict:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise RequestError("the server's answer has no choices")
    return choices[0]


def message_text(choice: dict) -> str:
    """The text of one ``choices[i]`` (a missing or null content is empty text)."""
    message = choice.get("message")
    if not isinstance(message, dict):
        raise RequestError("the server's answer has no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise RequestError("the server's message content is not text")
    return content or ""


def usage(answer: dict) -> tuple[int, int]:
    """(prompt tokens, completion tokens) the server reports (0 where it does not)."""
    use = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return _count(use.get("prompt_tokens")), _count(use.get("completion_tokens"))


def _count(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def first_chars_differ(options) -> bool:
    """Whether no two options start with the same character: then no two share a first token,
    whatever the tokenizer, and the first token's log-probability tells them apart."""
    firsts = [str(o)[:1] for o in options]
    return len(set(firsts)) == len(firsts)


def first_token_logprobs(answer: dict, options: list[str], guided: bool = True) -> tuple[float, ...]:
    """Each option's log-probability from the answer's first-token ``logprobs``.

    When the request was ``guided`` the answer itself must be one of ``options`` (else the server
    ignored the constraint, and its answer is not what was asked: the request's error). An
    option's first token is the longest token among the returned ones (the sampled token and its
    ``top_logprobs``) that the option starts with; an option with none among them gets the smallest
    returned log-probability, an upper bound of its own (it is not in the top K)."""
    choice = _first_choice(answer)
    text = message_text(choice)
    if guided and text.strip() not in options:
        raise RequestError(f"the server answered {_short(text)}, none of the options {options}: "
                           "does it honour the guided-choice extension (option guided)?")
    entries = _first_position(choice)
    found = [_longest_prefix(option, entries) for option in options]
    if all(lp is None for lp in found):
        raise RequestError(f"none of the options {options} is among the returned top_logprobs")
    floor = min(entries.values())
    return tuple(floor if lp is None else lp for lp in found)


def _first_position(choice: dict) -> dict[str, float]:
    """token text -> log-probability at the answer's first position (sampled token and top K)."""
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content or not isinstance(content[0], dict):
        raise NoLogprobs("the server returned no logprobs")
    first = content[0]
    entries: dict[str, float] = {}
    for item in [first, *(first.get("top_logprobs") or [])]:
        token, lp = (item.get("token"), item.get("logprob")) if isinstance(item, dict) else (None, None)
        if isinstance(token, str) and token and _is_number(lp):
            entries[token] = max(_logprob(lp), entries.get(token, -math.inf))
    if not entries:
        raise NoLogprobs("the server returned no usable logprobs")
    return entries


def _longest_prefix(option: str, entries: dict[str, float]) -> "float | None":
    matches = [token for token in entries if option.startswith(token)]
    return entries[max(matches, key=len)] if matches else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _logprob(value) -> float:
    """A number the server gave as a log-probability; RequestError for one above 0 (JSON's
    ``Infinity`` parses): no probability is over 1, and +inf would leave no distribution to read."""
    if value > 1e-6:
        raise RequestError(f"the server's logprobs are not log-probabilities (one is {value!r})")
    return float(value)


def answer_tail_logprob(answer: dict, prompt_tokens_before: int) -> tuple[float, int]:
    """(log-probability, tokens) of the prompt tokens after the first ``prompt_tokens_before``, from
    the answer's ``prompt_logprobs`` (vLLM: one ``{token_id: {"logprob": ...}}`` per prompt token,
    ``null`` for the first)."""
    rows = answer.get("prompt_logprobs")
    if not isinstance(rows, list) or not rows:
        raise NoLogprobs("the server returned no prompt_logprobs")
    total = usage(answer)[0] or len(rows)
    tail = total - prompt_tokens_before
    if tail < 1 or len(rows) < total:
        raise RequestError(f"the server's prompt_logprobs do not cover the answer ({len(rows)} rows, "
                           f"{total} prompt tokens, {prompt_tokens_before} before the answer)")
    logprob = 0.0
    for row in rows[-tail:]:
        values = list(row.values()) if isinstance(row, dict) else []
        if len(values) != 1 or not isinstance(values[0], dict) or not _is_number(values[0].get("logprob")):
            raise RequestError("the server's prompt_logprobs hold no single log-probability per token "
                               "(ask them with prompt_logprobs=0)")
        logprob += _logprob(values[0]["logprob"])
    return logprob, tail


def vote_logprobs(answer: dict, options: list[str], votes: int) -> tuple[float, ...]:
    """Log of each option's share of ``votes`` sampled answers (``-inf`` for none); every answer
    must be an option (else the server ignored the constraint)."""
    choices = answer.get("choices")
    if not isinstance(choices, list) or len(choices) != votes:
        got = len(choices) if isinstance(choices, list) else 0
        raise RequestError(f"asked {votes} sampled answers (n={votes}), the server gave {got}")
    texts = [message_text(c if isinstance(c, dict) else {}).strip() for c in choices]
    wrong = next((t for t in texts if t not in options), None)
    if wrong is not None:
        raise RequestError(f"the server answered {_short(wrong)}, none of the options {options}: "
                           "does it honour the guided-choice extension (option guided)?")
    return tuple(math.log(texts.count(o) / votes) if o in texts else -math.inf for o in options)
