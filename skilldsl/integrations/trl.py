"""A skill as a TRL reward function: ``GRPOTrainer(reward_funcs=[SkillReward("math_answer")])``.

TRL calls a reward function as ``f(prompts=..., completions=..., completion_ids=..., **kwargs)``
where ``kwargs`` holds every other dataset column (one value per completion) and TRL's own
hooks (``trainer_state``, ``log_metric``, ``log_extra``, ``environments``). It expects one float
or ``None`` per completion; ``None`` means "this function does not apply to this row": TRL
leaves it out of that row's reward, and a row every function left out gets no advantage.
:class:`SkillReward` scores the whole batch in one :meth:`Skill.score` call and maps each Result:

- ``ok``    -> its reward;
- ``na``    -> ``on_na`` (default ``None``: TRL's "not applicable");
- ``error`` -> ``on_error``: ``"raise"`` (default) stops the step with a ``RuntimeError`` naming
  the reason, because a broken reward scored as a number would train the policy on noise; a
  number or ``None`` scores erred rows that way instead, only when the user says so.

It imports no TRL: the calling convention is all it relies on. TRL names a reward function by its
``__name__``, which is the skill's name, so the logs show ``rewards/<skill>/mean``.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any, Callable

from ..values import is_finite_number

__all__ = ["SkillReward"]

logger = logging.getLogger(__name__)

# What TRL passes besides dataset columns: never a skill input.
TRL_KWARGS = frozenset({"completion_ids", "trainer_state", "log_metric", "log_extra", "environments"})
STATUSES = ("ok", "na", "error")


class SkillReward:
    """A skill as a reward function for TRL trainers that take ``reward_funcs``.

    ``skill_or_path``: a loaded :class:`~skilldsl.runtime.Skill`, or what :func:`skilldsl.load`
    takes (a stock skill name, a ``.skill`` or ``.skillc`` path), loaded with ``load_options``
    (``model=``, ``device=``, ``backend=`` ...).

    Inputs: the completion goes to ``response_input`` (default ``"response"``; a pairwise skill's
    completion is ``a``, compared against the ``baseline_column`` column as ``b``, so the reward
    is P(completion better than baseline)). The prompt and every dataset column go to the skill
    input of the same name; ``columns`` renames (``{"answer": "reference"}``; ``{"prompt":
    "question"}`` for the prompt); columns that name no input are ignored.

    Both TRL dataset formats: standard (text) and conversational (lists of ``{"role",
    "content"}`` messages). A conversational completion's text is its last assistant message
    (TRL's tool loop appends tool results and further assistant turns: the final answer is the
    last; tool output is never taken for the policy's words). A conversational prompt reaches
    the skill as text according to ``prompt_text``: ``"last_user"`` (default: the last user
    message, i.e. the question, without system prompt or few-shot turns), ``"transcript"``
    (every message as ``role: content``, blank-line separated) or a function ``messages -> str``.

    ``on_na`` / ``on_error``: see the module docstring. ``counts`` (status -> rows),
    ``reasons`` ((status, reason) -> rows), ``calls`` and ``seconds`` accumulate over calls;
    each call reports the share of each status with TRL's ``log_metric`` as
    ``skilldsl/<skill>/{ok,na,error}`` and each row's status and reason with ``log_extra``
    (the completions table) when the installed TRL passes those hooks, else through ``logging``.
    """

    def __init__(self, skill_or_path: Any, *, columns: "dict[str, str] | None" = None,
                 response_input: "str | None" = None, baseline_column: "str | None" = None,
                 prompt_text: "str | Callable[[list], str]" = "last_user",
                 on_na: "float | None" = None, on_error: "float | str | None" = "raise", **load_options):
        self.skill = _skill(skill_or_path, load_options)
        self.__name__ = self.skill.name
        self.on_na = _policy("on_na", on_na, allow_raise=False)
        self.on_error = _policy("on_error", on_error, allow_raise=True)
        self.prompt_text = _prompt_reader(prompt_text)
        self.baseline_column = baseline_column
        self.response_input = _response_input(self.skill, response_input, baseline_column)
        self.columns = _check_columns(self.skill, columns or {}, self.response_input)
        self._inputs_of = _column_map(self.skill, self.columns, self.response_input)
        self.counts: Counter = Counter()
        self.reasons: Counter = Counter()
        self.calls, self.seconds = 0, 0.0
        self.last_results: list = []

    def __repr__(self) -> str:
        return f"SkillReward({self.skill.name!r}, on_na={self.on_na!r}, on_error={self.on_error!r})"

    # -- the reward function TRL calls ----------------------------------------------------
    def __call__(self, prompts: list, completions: list, **kwargs) -> "list[float | None]":
        """One reward (or ``None``) per completion, in order."""
        samples = self.samples(prompts, completions, kwargs)
        start = time.perf_counter()
        results = self.skill.score(samples)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        self.last_results = results
        self._count(results, kwargs)
        self._raise_on_error(results)
        return [self._number(r) for r in results]

    def samples(self, prompts: list, completions: list, kwargs: dict) -> "list[dict]":
        """The skill samples of one TRL call (what :meth:`__call__` scores)."""
        data = {k: v for k, v in kwargs.items() if k not in TRL_KWARGS}
        self._check_lengths(prompts, completions, data)
        named = self._named_columns(data)
        rows = []
        prompt_input = self._inputs_of.get("prompt")
        for i, (prompt, completion) in enumerate(zip(prompts, completions)):
            row = {target: data[column][i] for column, target in named.items()}
            if prompt_input is not None:
                row[prompt_input] = self._prompt(prompt)
            row[self.response_input] = completion_text(completion)
            if self.baseline_column is not None:
                row["b"] = completion_text(data[self.baseline_column][i])
            rows.append(row)
        return rows

    # -- mapping TRL's arguments to skill inputs --------------------------------------------
    def _named_columns(self, data: dict) -> "dict[str, str]":
        """dataset column -> skill input for this call's columns; checks that every required input
        is given, so a misnamed column is one clear error, not a batch of erred rows."""
        missing = sorted(c for c in self.columns if c != "prompt" and c not in data)
        if missing:
            raise ValueError(f"{self.__name__}: the dataset has no column {missing[0]!r} (named in columns=); "
                             f"its columns: {sorted(data)}")
        named = {c: t for c, t in self._inputs_of.items() if c in data and c != "prompt"}
        given = {*named.values(), self.response_input, self._inputs_of.get("prompt"), "b" if self.baseline_column else None}
        lacking = [n for n in _required_inputs(self.skill) if n not in given]
        if lacking:
            raise ValueError(f"{self.__name__}: no dataset column gives the required input {lacking[0]!r}; "
                             f"name one with columns={{'<column>': {lacking[0]!r}}} (columns: {sorted(data)})")
        return named

    def _check_lengths(self, prompts: list, completions: list, data: dict) -> None:
        if len(prompts) != len(completions):
            raise ValueError(f"{self.__name__}: {len(prompts)} prompts but {len(completions)} completions")
        if self.baseline_column is not None and self.baseline_column not in data:
            raise ValueError(f"{self.__name__}: the dataset has no baseline column {self.baseline_column!r}; "
                             f"its columns: {sorted(data)}")
        for name, values in data.items():
            if (name in self._inputs_of or name == self.baseline_column) and len(values) != len(prompts):
                raise ValueError(f"{self.__name__}: column {name!r} has {len(values)} values for {len(prompts)} completions")

    def _prompt(self, prompt: Any) -> str:
        return prompt if isinstance(prompt, str) else self.prompt_text(_messages(prompt, "prompt"))

    # -- Results -> TRL's numbers, and the record of what happened ---------------------------
    def _raise_on_error(self, results: list) -> None:
        erred = [i for i, r in enumerate(results) if r.status == "error"]
        if erred and self.on_error == "raise":
            raise RuntimeError(
                f"skill {self.__name__!r}: {len(erred)} of {len(results)} rewards erred; row {erred[0]}: "
                f"{results[erred[0]].reason} (SkillReward(on_error=None) leaves erred rows unscored, "
                "on_error=<number> scores them)")

    def _number(self, result) -> "float | None":
        return result.reward_or(na=self.on_na, error=self.on_error)

    def _count(self, results: list, kwargs: dict) -> None:
        batch = Counter(r.status for r in results)
        self.counts.update(batch)
        self.reasons.update((r.status, r.reason) for r in results if r.status != "ok")
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        if callable(log_metric):
            for status in STATUSES:
                log_metric(f"skilldsl/{self.__name__}/{status}", batch[status] / max(1, len(results)))
        if callable(log_extra):
            log_extra(f"{self.__name__}/status", [r.status for r in results])
            log_extra(f"{self.__name__}/reason", [r.reason for r in results])
        if not (callable(log_metric) and callable(log_extra)):
            logger.info("%s", _summary(self.__name__, batch, results))

    def summary(self) -> dict:
        """What every call so far scored: statuses, reasons, calls and the seconds spent scoring."""
        return {"skill": self.__name__, "reward_id": self.skill.reward_id, "calls": self.calls,
                "seconds": round(self.seconds, 3), "counts": {s: self.counts[s] for s in STATUSES},
                "reasons": [{"status": s, "reason": why, "rows": n} for (s, why), n in self.reasons.most_common()]}


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a string as it is; a conversational completion's last
    assistant message (no assistant message: the policy said nothing, ``""``)."""
    if isinstance(completion, str):
        return completion
    said = [m for m in _messages(completion, "completion") if m.get("role") == "assistant"]
    return _content(said[-1]) if said else ""


def _messages(value: Any, what: str) -> list:
    if isinstance(value, dict):  # one message
        value = [value]
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ValueError(f"a TRL {what} must be text or a list of {{'role', 'content'}} messages, "
                         f"not {type(value).__name__}")
    return value


def _content(message: dict) -> str:
    """A message's text: its ``content`` string, or the text parts of a content list."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError(f"message content must be text or a list of parts, not {type(content).__name__}")


def _last_user(messages: list) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return _content(users[-1]) if users else ""


def _transcript(messages: list) -> str:
    return "\n\n".join(f"{m.get('role', '')}: {_content(m)}" for m in messages)


_PROMPT_READERS = {"last_user": _last_user, "transcript": _transcript}


def _prompt_reader(prompt_text: Any) -> Callable[[list], str]:
    if callable(prompt_text):
        return prompt_text
    if prompt_text not in _PROMPT_READERS:
        raise ValueError(f"prompt_text must be one of {sorted(_PROMPT_READERS)} or a function, not {prompt_text!r}")
    return _PROMPT_READERS[prompt_text]


def _skill(skill_or_path: Any, load_options: dict):
    from ..runtime import Skill

    if isinstance(skill_or_path, Skill):
        if load_options:
            raise ValueError(f"options {sorted(load_options)} apply when loading a skill, not to a loaded Skill")
        return skill_or_path
    import skilldsl

    return skilldsl.load(skill_or_path, **load_options)


def _policy(name: str, value: Any, *, allow_raise: bool) -> "float | str | None":
    """A valid ``on_na`` / ``on_error``: None, a finite number, or (on_error) ``"raise"``."""
    if value is None or (allow_raise and value == "raise"):
        return value
    if is_finite_number(value):
        return float(value)
    allowed = "'raise', None or a finite number" if allow_raise else "None or a finite number"
    raise ValueError(f"{name} must be {allowed}, not {value!r}")


def _response_input(skill, response_input: "str | None", baseline_column: "str | None") -> str:
    """Where the completion goes: ``response`` (pointwise) or ``a`` against a baseline ``b`` (pairwise)."""
    if skill.mode == "listwise":
        raise ValueError(f"{skill.name!r} is listwise: TRL scores each completion; use a pointwise skill, "
                         "or a pairwise one with baseline_column=")
    if skill.mode == "pairwise":
        if baseline_column is None:
            raise ValueError(f"{skill.name!r} is pairwise: name the dataset column to compare each completion "
                             "against with baseline_column=")
        if response_input not in (None, "a"):
            raise ValueError("with a pairwise skill the completion is input 'a' and the baseline 'b' "
                             "(the reward is P(completion better than baseline)): leave response_input unset")
        _require_inputs(skill, ["a", "b"])
        return "a"
    if baseline_column is not None:
        raise ValueError(f"baseline_column= needs a pairwise skill; {skill.name!r} is {skill.mode}")
    response_input = response_input or "response"
    _require_inputs(skill, [response_input])
    return response_input


def _check_columns(skill, columns: dict, response_input: str) -> "dict[str, str]":
    """The explicit renames, checked: known inputs, one column per input, and none onto the input
    the completion (or the baseline) fills: the reward must judge what the policy wrote."""
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise ValueError("columns must map dataset column names to skill input names")
    _require_inputs(skill, list(columns.values()))
    targets = list(columns.values())
    for target in targets:
        if target in _filled_by_completion(skill, response_input):
            raise ValueError(f"columns= maps a dataset column onto {target!r}, the input the completion fills")
        if targets.count(target) > 1:
            raise ValueError(f"columns= maps two dataset columns onto the input {target!r}")
    return dict(columns)


def _column_map(skill, columns: dict, response_input: str) -> "dict[str, str]":
    """dataset column (or ``prompt``) -> skill input: the explicit renames, then every other input
    by its name, except the ones the completion and baseline fill (a dataset column named
    ``response`` never replaces the completion)."""
    reserved = _filled_by_completion(skill, response_input) | set(columns.values()) | set(columns)
    return {**{n: n for n in skill.program.inputs if n not in reserved}, **columns}


def _filled_by_completion(skill, response_input: str) -> set:
    return {response_input, "b"} if skill.mode == "pairwise" else {response_input}


def _require_inputs(skill, names: list) -> None:
    unknown = [n for n in names if n not in skill.program.inputs]
    if unknown:
        raise ValueError(f"{skill.name!r} has no input {unknown[0]!r}; its inputs: {sorted(skill.program.inputs)}")


def _required_inputs(skill) -> "list[str]":
    return [n for n, spec in skill.program.inputs.items()
            if not spec.get("optional") and spec.get("visibility") != "label"]


def _summary(name: str, batch: Counter, results: list) -> str:
    """One log line: ``math_answer: 6 ok, 2 na (no final answer found in the response: 2)``."""
    reasons = Counter(f"{r.status}: {r.reason}" for r in results if r.status != "ok")
    parts = ", ".join(f"{batch[s]} {s}" for s in STATUSES if batch[s])
    return f"{name}: {parts}" + (f" ({'; '.join(f'{k} x{n}' for k, n in reasons.most_common())})" if reasons else "")
