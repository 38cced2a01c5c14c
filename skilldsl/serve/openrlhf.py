"""OpenRLHF's remote reward protocol, mapped onto a skill's inputs.

OpenRLHF (``--remote_rm_url``, since 0.9 ``--reward.remote_url``) POSTs to the URL it is given::

    {"query": [str, ...], "prompts": [str, ...], "labels": [any, ...]}

``query[i]`` is the full decoded sequence (prompt + generated response, special tokens kept),
``prompts[i]`` the prompt it was generated from, ``labels[i]`` the dataset's ``--label_key``
value (null without one). It reads ``rewards`` (the advantage signal), ``scores`` (dynamic
filtering; falls back to ``rewards``) and ``extra_logs`` (per-row numbers logged to wandb)
from the JSON answer (openrlhf/utils/agent.py, ``SingleTurnAgentExecutor``).

A row becomes the sample ``{prompt: prompts[i], response: query[i][len(prompts[i]):], label
input: labels[i]}`` under the input names of an :class:`OpenRLHFMapping`. A query that does not
start with its prompt cannot be split honestly: that row errs (never a guessed split).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["OpenRLHFMapping", "BadRequest", "resolve_mapping", "rows_from_body", "response_body"]


class BadRequest(ValueError):
    """A request the client must fix: answered with a 4xx and this one-line message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class OpenRLHFMapping:
    """Which skill inputs an OpenRLHF row fills, and what reward a non-ok row sends.

    ``label``: the input ``labels`` go to (None: labels must be null). ``strip``: suffixes
    (an end-of-turn token such as ``<|im_end|>``) removed, with trailing whitespace, from the
    end of the response. ``na_reward`` / ``error_reward``: the number sent for a ``na`` /
    ``error`` row; None (the default) sends ``null``, which OpenRLHF cannot train on: an error
    never silently becomes a score, the operator chooses one.
    """

    prompt: str = "prompt"
    response: str = "response"
    label: "str | None" = None
    label_type: str = "text"
    strip: tuple = field(default_factory=tuple)
    na_reward: "float | None" = None
    error_reward: "float | None" = None


def resolve_mapping(program: Any, *, prompt: "str | None" = None, response: "str | None" = None,
                    label: "str | None" = None, **policy: Any) -> OpenRLHFMapping:
    """The mapping for ``program``: names given are checked against its inputs; defaults are
    ``prompt``, ``response`` (``a`` for a pairwise skill) and, for labels, the skill's one
    ``reference``-visibility input if it has exactly one. Raises ValueError naming the option."""
    inputs = program.doc.get("inputs", {})
    prompt = _input(inputs, program.name, prompt or "prompt", "--prompt-input")
    default_response = "a" if program.mode == "pairwise" else "response"
    response = _input(inputs, program.name, response or default_response, "--response-input")
    if label is None:
        references = [n for n, spec in inputs.items() if spec.get("visibility") == "reference"]
        label = references[0] if len(references) == 1 else None
    else:
        label = _input(inputs, program.name, label, "--label-input")
    named = [n for n in (prompt, response, label) if n]
    if len(set(named)) < len(named):  # a label written over the prompt, or the response over both
        raise ValueError(f"--prompt-input {prompt!r}, --response-input {response!r} and --label-input "
                         f"{label!r} must name different inputs of {program.name!r}")
    label_type = inputs[label]["type"] if label else "text"
    return OpenRLHFMapping(prompt, response, label, label_type, **policy)


def _input(inputs: dict, skill: str, name: str, option: str) -> str:
    if name not in inputs:
        raise ValueError(f"skill {skill!r} has no input {name!r} ({option}); its inputs: {', '.join(inputs)}")
    return name


def rows_from_body(body: Any, mapping: OpenRLHFMapping) -> list:
    """One entry per row: a sample dict, or a ``str`` saying why the row cannot be scored.
    A body of the wrong shape (not an object, a field of the wrong type, lists of different
    lengths) raises :class:`BadRequest`: nothing of it is scored."""
    if not isinstance(body, dict):
        raise BadRequest(f"body must be a JSON object with query, prompts and labels, not {_kind(body)}")
    queries = _text_list(body, "query")
    prompts = _text_list(body, "prompts")
    labels = body.get("labels")
    if labels is None:
        labels = [None] * len(queries)
    elif not isinstance(labels, list):
        raise BadRequest(f"labels must be a list, not {_kind(labels)}")
    for name, values in (("prompts", prompts), ("labels", labels)):
        if len(values) != len(queries):
            raise BadRequest(f"query has {len(queries)} items but {name} has {len(values)}")
    if mapping.label is None and any(x is not None for x in labels):
        raise BadRequest("labels given but this skill has no input for them (start the server with --label-input NAME)")
    return [_row(q, p, l, mapping) for q, p, l in zip(queries, prompts, labels)]


def _text_list(body: dict, name: str) -> list:
    values = body.get(name)
    if values is None:
        raise BadRequest(f"{name} is required (a list of strings)")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{name} must be a list of strings")
    return values


def _row(query: str, prompt: str, label: Any, mapping: OpenRLHFMapping) -> "dict | str":
    if not query.startswith(prompt):
        return "query does not start with its prompt: cannot split off the response"
    sample = {mapping.prompt: prompt, mapping.response: _strip(query[len(prompt):], mapping.strip)}
    if label is not None:
        # a numeric label (GSM8K's 42) is the text of the number for a text input
        is_number = isinstance(label, (int, float)) and not isinstance(label, bool)
        sample[mapping.label] = str(label) if is_number and mapping.label_type == "text" else label
    return sample


def _strip(response: str, suffixes: tuple) -> str:
    """``response`` without trailing white space and ``suffixes``, however they repeat: one end
    index walks back, and the text is cut once (a body of repeated suffixes costs one pass)."""
    if not suffixes:
        return response
    end = len(response)
    while end:
        if response[end - 1].isspace():
            end -= 1
            continue
        suffix = next((s for s in suffixes if s and response.endswith(s, 0, end)), None)
        if suffix is None:
            break
        end -= len(suffix)
    return response[:end]


def response_body(results: list, mapping: OpenRLHFMapping) -> dict:
    """The JSON answer OpenRLHF reads (``rewards``, ``scores``, ``extra_logs`` with one number
    per row: ``skilldsl_na`` / ``skilldsl_error`` are 1.0 on rows the policy replaced), plus
    ``statuses`` and ``reasons`` for people and the client."""
    rewards = [_reward(r, mapping) for r in results]
    return {
        "rewards": rewards,
        "scores": rewards,
        "extra_logs": {f"skilldsl_{s}": [float(r.status == s) for r in results] for s in ("na", "error")},
        "statuses": [r.status for r in results],
        "reasons": [r.reason for r in results],
    }


def _reward(result: Any, mapping: OpenRLHFMapping) -> "float | None":
    return result.reward_or(na=mapping.na_reward, error=mapping.error_reward)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)
