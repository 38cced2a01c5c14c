"""Skills as verl reward functions: ``custom_reward_function.name=compute_score``.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info)`` once per row
(its ``naive`` reward managers), ``compute_score_batch(data_sources, solution_strs, ground_truths,
extra_infos)`` once per batch (its ``batch`` reward manager), and awaits ``compute_score_async``
(same arguments as ``compute_score``) in its reward loop, where concurrent rows of a skill share
runtime batches. All pick a skill per
``data_source`` from a small YAML mapping file, named by the ``config=`` keyword (verl passes
``custom_reward_function.reward_kwargs`` as keywords) or by ``$SKILLDSL_VERL_CONFIG``::

    on_na: 0.0            # the reward of a row no evidence applies to (verl needs a number)
    on_error: raise       # or a number: what a broken reward is worth (never 0 by default)
    details: false        # true: {"score": ..., "status", "reason", "reward_id", "skill", "evidence"}
    sources:
      openai/gsm8k:
        skill: math_answer                   # a stock skill, or a .skill/.skillc path (relative to this file)
        inputs: {prompt: extra_info.question}
      "*": {skill: skills/fallback.skill}    # any other data_source

A skill input receives ``solution_str``, ``ground_truth``, ``data_source`` or
``extra_info.<key>``; by default ``response`` <- solution_str, ``reference`` <- ground_truth and
``prompt`` <- extra_info.question, for the inputs the skill declares. Nothing else of a row
reaches the skill: verl adds rollout fields to ``extra_info``, and a policy must not be able to
set the reference through them. The mapping and its skills are loaded once per process (verl's
reward workers each load their own); the batched form scores each skill's rows in one
``Skill.score`` call.
"""
# No ``from __future__ import annotations``: verl loads a reward file by path without entering it
# in sys.modules, and dataclasses cannot resolve string annotations of such a module.
import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import skilldsl
from skilldsl.errors import SkillError
from skilldsl.values import is_finite_number

__all__ = ["CONFIG_ENV", "MappingError", "RewardError", "clear_cache", "compute_score", "compute_score_async",
           "compute_score_batch", "load_mapping"]

CONFIG_ENV = "SKILLDSL_VERL_CONFIG"
ANY_SOURCE = "*"
ROW_FIELDS = ("solution_str", "ground_truth", "data_source")  # and extra_info.<key>
DEFAULT_INPUTS = {"response": "solution_str", "reference": "ground_truth", "prompt": "extra_info.question"}
LOAD_OPTIONS = ("model", "device", "dtype", "batch_size", "cache")
TOP_KEYS = ("sources", "on_na", "on_error", "details")
ENTRY_KEYS = ("skill", "inputs", "on_na", "on_error", "options")

log = logging.getLogger("skilldsl.verl")


class MappingError(ValueError):
    """The mapping file is missing, malformed or names what does not exist: one line naming the
    file (a skill that fails to compile adds its own source line and caret)."""


class RewardError(RuntimeError):
    """A row's reward erred and the mapping does not say what an error is worth (``on_error``)."""


@dataclass(frozen=True)
class Policy:
    """What an unscored row is worth: ``on_na`` always a number; ``on_error`` None means raise."""

    on_na: float
    on_error: float | None


@dataclass
class Entry:
    """One ``sources`` entry: its skill, which row field feeds which skill input, its policy."""

    skill: Any  # thread-safe: Skill runs one batch at a time (verl's reward loop calls from threads)
    inputs: dict[str, str]
    policy: Policy

    def sample(self, row: dict) -> dict:
        """The skill's sample for one verl row: only the mapped fields."""
        specs = self.skill.program.inputs
        sample = {}
        for name, field in self.inputs.items():
            value = _plain(_field(row, field))
            if value is not None:
                sample[name] = _as_text(value) if specs[name].get("type") == "text" else value
        return sample


@dataclass
class Mapping:
    """A parsed mapping file: ``data_source`` -> :class:`Entry`, and the shape of what is returned."""

    path: str
    entries: dict[str, Entry]
    details: bool

    def entry(self, data_source: Any) -> Entry:
        """The entry of ``data_source``, else the ``*`` entry, else a :class:`MappingError`."""
        found = self.entries.get(str(data_source)) or self.entries.get(ANY_SOURCE)
        if found is None:
            raise MappingError(f"{self.path}: no entry for data_source {str(data_source)!r} and no {ANY_SOURCE!r} entry")
        return found


# -- the functions verl calls ---------------------------------------------------------------

def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """The reward of one row (verl's ``naive`` reward manager): a float, or a dict with ``score``
    when the mapping says ``details: true``. ``config=`` names the mapping file; other keywords
    verl passes (``reward_router_address`` ...) are ignored."""
    return compute_score_batch([data_source], [solution_str], [ground_truth], [extra_info], **kwargs)[0]


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, **kwargs):
    """The rewards of a batch (verl's ``batch`` reward manager), in order: one ``Skill.score``
    call per skill for all its rows. Raises :class:`RewardError` if a row erred and ``on_error``
    is ``raise`` (after scoring the whole batch, naming every source that erred)."""
    mapping = load_mapping(kwargs.get("config"))
    rows = _rows(data_sources, solution_strs, ground_truths, extra_infos)
    entries = [mapping.entry(row["data_source"]) for row in rows]
    results = _score_grouped(rows, entries)
    return _rewards(mapping, rows, entries, results)


async def compute_score_async(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """:func:`compute_score` for an event loop: verl's reward loop awaits a coroutine function,
    scoring a step's rows concurrently, and concurrent rows of one skill share runtime batches
    (``Skill.ascore``), so a judge sees them in one batched forward instead of one by one."""
    path = _mapping_path(kwargs.get("config"))
    mapping = _loaded(path) or await asyncio.to_thread(load_mapping, path)  # loading skills: off the loop
    rows = _rows([data_source], [solution_str], [ground_truth], [extra_info])
    entry = mapping.entry(data_source)
    results = await entry.skill.ascore([entry.sample(rows[0])])
    return _rewards(mapping, rows, [entry], results)[0]


def _rows(data_sources, solution_strs, ground_truths, extra_infos) -> list[dict]:
    n = len(solution_strs)
    extra_infos = [None] * n if extra_infos is None else extra_infos
    lengths = {len(data_sources), n, len(ground_truths), len(extra_infos)}
    if len(lengths) != 1:
        raise ValueError(f"data_sources, solution_strs, ground_truths and extra_infos differ in length: {sorted(lengths)}")
    return [{"data_source": d, "solution_str": s, "ground_truth": g, "extra_info": e}
            for d, s, g, e in zip(data_sources, solution_strs, ground_truths, extra_infos)]


def _score_grouped(rows: list[dict], entries: list[Entry]) -> list:
    """Each skill's rows in one ``Skill.score`` call (entries sharing a skill share the call; each
    row's sample is built by its own entry); the Results back in row order."""
    groups: dict[int, list[int]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(id(entry.skill), []).append(i)
    results: list = [None] * len(rows)
    for indices in groups.values():
        scored = entries[indices[0]].skill.score([entries[i].sample(rows[i]) for i in indices])
        if len(scored) != len(indices):  # never shift a reward onto another row
            raise RuntimeError(f"the skill returned {len(scored)} results for {len(indices)} rows")
        for i, result in zip(indices, scored):
            results[i] = result
    return results


def _rewards(mapping: Mapping, rows: list[dict], entries: list[Entry], results: list) -> list:
    """Apply each entry's na/error policy; raise for the errors nobody priced."""
    unpriced = [i for i, (e, r) in enumerate(zip(entries, results)) if r.status == "error" and e.policy.on_error is None]
    if unpriced:
        raise RewardError(_error_message(mapping, rows, entries, results, unpriced))
    priced = [i for i, r in enumerate(results) if r.status == "error"]
    if priced:
        first = priced[0]
        log.warning("%d of %d rewards erred and were scored on_error (first, data_source %r: %s)",
                    len(priced), len(rows), str(rows[first]["data_source"]), results[first].reason)
    return [_reward(mapping, e, r) for e, r in zip(entries, results)]


def _error_message(mapping: Mapping, rows: list[dict], entries: list[Entry], results: list, unpriced: list[int]) -> str:
    first = unpriced[0]
    sources = sorted({str(rows[i]["data_source"]) for i in unpriced})
    routes = ", ".join(f"{name} <- {field}" for name, field in entries[first].inputs.items())
    return (f"{len(unpriced)} of {len(rows)} rewards erred (data_source {', '.join(map(repr, sources))}); "
            f"first, row {first}, skill {entries[first].skill.name!r} ({routes}): {results[first].reason} "
            f"(set on_error: <number> in {mapping.path} to score errors instead)")


def _reward(mapping: Mapping, entry: Entry, result) -> "float | dict":
    score = result.reward_or(na=entry.policy.on_na, error=entry.policy.on_error)
    score = float(score) if score is not None else score
    if not mapping.details:
        return score
    # every row has the same keys and value types: verl stacks them per key across the batch
    ran = [name for name, trace in result.trace.items() if not trace.skipped]
    return {"score": score, "status": result.status, "reason": result.reason or "",
            "reward_id": result.reward_id, "skill": entry.skill.name, "evidence": ",".join(ran)}


# -- row values ---------------------------------------------------------------------------

def _field(row: dict, field: str) -> Any:
    if field in ROW_FIELDS:
        return row[field]
    info = row["extra_info"]
    return info.get(field.split(".", 1)[1]) if isinstance(info, dict) else None


def _plain(value: Any) -> Any:
    """numpy arrays and scalars (verl's non-tensor batch is numpy) as plain lists and numbers."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _as_text(value: Any) -> Any:
    """A number given to a text input (a ground truth of 72) as its text; anything else as is
    (the runtime refuses a wrong type as that row's error)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


# -- the mapping file and the per-process cache ----------------------------------------------

_cache: dict = {"pid": None}
_cache_lock = threading.Lock()


def _process_cache() -> dict:
    """This process's mappings and skills; a forked child loads its own (a model loaded before a
    fork is not safe to use after it)."""
    if _cache["pid"] != os.getpid():
        _cache.update(pid=os.getpid(), mappings={}, skills={})
    return _cache


def clear_cache() -> None:
    """Forget the loaded mappings and skills of this process (the next call reads them again)."""
    with _cache_lock:
        _cache["pid"] = None


def load_mapping(config: Any = None) -> Mapping:
    """The mapping named by ``config`` (a path) or ``$SKILLDSL_VERL_CONFIG``, read and its skills
    loaded once per process (verl's reward loop calls from several threads: one loads, the others wait)."""
    path = _mapping_path(config)
    with _cache_lock:
        cache = _process_cache()
        if path not in cache["mappings"]:
            cache["mappings"][path] = _read_mapping(path, cache["skills"])
        return cache["mappings"][path]


def _mapping_path(config: Any) -> str:
    path = config or os.environ.get(CONFIG_ENV)
    if not path:
        raise MappingError(f"no skill mapping file: pass config=FILE (verl: +custom_reward_function.reward_kwargs.config=FILE) "
                           f"or set {CONFIG_ENV}")
    return str(Path(path).expanduser().resolve())


def _loaded(path: str) -> "Mapping | None":
    """The mapping at ``path`` if this process has loaded it (no lock: a dict lookup, for the event loop)."""
    return _cache["mappings"].get(path) if _cache["pid"] == os.getpid() else None


def _read_mapping(path: str, skills: dict) -> Mapping:
    doc = _yaml(path)
    _only_keys(path, "the mapping", doc, TOP_KEYS)
    defaults = _policy(path, "the mapping", doc, Policy(on_na=0.0, on_error=None))
    details = doc.get("details", False)
    if not isinstance(details, bool):
        raise MappingError(f"{path}: details must be true or false, not {details!r}")
    sources = doc.get("sources")
    if not isinstance(sources, dict) or not sources:
        raise MappingError(f"{path}: sources must map each data_source (or '*') to a skill")
    entries = {str(key): _entry(path, str(key), spec, defaults, skills) for key, spec in sources.items()}
    return Mapping(path=path, entries=entries, details=details)


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` keeps the last of two equal keys; a data_source listed twice is a mistake."""

    def construct_mapping(self, node, deep=False):
        seen = []
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.append(key)
        return super().construct_mapping(node, deep)


def _yaml(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"{path}: no such skill mapping file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read the skill mapping file: {exc}") from None
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path
        raise MappingError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise MappingError(f"{path}: a skill mapping file is a YAML mapping with 'sources'")
    return doc


def _entry(path: str, key: str, spec: Any, defaults: Policy, skills: dict) -> Entry:
    where = f"sources[{key!r}]"
    spec = {"skill": spec} if isinstance(spec, str) else spec
    if isinstance(spec, dict):
        _only_keys(path, where, spec, ENTRY_KEYS)
    if not isinstance(spec, dict) or not isinstance(spec.get("skill"), str):
        raise MappingError(f"{path}: {where} must be a skill name or path, or a mapping with 'skill'")
    skill = _skill(path, where, spec, skills)
    if skill.mode != "pointwise":
        raise MappingError(f"{path}: {where}: skill {skill.name!r} is {skill.mode}; verl rewards one response (pointwise)")
    inputs = _inputs(path, where, spec.get("inputs") or {}, skill.program.inputs)
    return Entry(skill=skill, inputs=inputs, policy=_policy(path, where, spec, defaults))


def _skill(path: str, where: str, spec: dict, skills: dict):
    """The Skill of an entry, shared by entries naming the same skill with the same options."""
    options = spec.get("options") or {}
    if not isinstance(options, dict) or set(options) - set(LOAD_OPTIONS):
        raise MappingError(f"{path}: {where}: options may set {', '.join(LOAD_OPTIONS)}")
    ref = spec["skill"]
    if ref.endswith((".skill", ".skillc")) or "/" in ref:  # a path, relative to the mapping file
        ref = str((Path(path).parent / ref).resolve())
    key = (ref, tuple(sorted((k, repr(v)) for k, v in options.items())))
    if key not in skills:
        try:
            skills[key] = skilldsl.load(ref, **options)
        except SkillError as exc:
            raise MappingError(f"{path}: {where}: cannot load skill {spec['skill']!r}: {exc}") from None
    return skills[key]


def _inputs(path: str, where: str, given: Any, declared: dict) -> dict[str, str]:
    """Skill input -> row field: the entry's own, then the defaults for the inputs it left out
    (a default is dropped when the entry already routes that field, or sets the input to null)."""
    if not isinstance(given, dict):
        raise MappingError(f"{path}: {where}.inputs must map skill inputs to row fields")
    merged = dict(given)
    for name, field in DEFAULT_INPUTS.items():
        if name in declared and name not in given and field not in given.values():
            merged[name] = field
    merged = {name: field for name, field in merged.items() if field is not None}
    for name, field in merged.items():
        _check_input(path, where, name, field, declared)
    if "solution_str" not in merged.values():
        raise MappingError(f"{path}: {where}: no skill input receives solution_str (e.g. inputs: {{response: solution_str}})")
    return merged


def _check_input(path: str, where: str, name: str, field: Any, declared: dict) -> None:
    if name not in declared:
        raise MappingError(f"{path}: {where}.inputs: {name!r} is not an input of the skill ({', '.join(declared)})")
    if not isinstance(field, str) or not (field in ROW_FIELDS or field.startswith("extra_info.") and len(field) > 11):
        raise MappingError(f"{path}: {where}.inputs.{name}: {field!r} is not a row field "
                           f"({', '.join(ROW_FIELDS)} or extra_info.<key>)")
    if field == "solution_str" and declared[name].get("visibility") in ("reference", "label"):
        raise MappingError(f"{path}: {where}.inputs.{name}: the response must not reach a {declared[name]['visibility']} input")


def _policy(path: str, where: str, spec: dict, defaults: Policy) -> Policy:
    on_na = spec.get("on_na", defaults.on_na)
    on_error = spec.get("on_error", "raise" if defaults.on_error is None else defaults.on_error)
    if not is_finite_number(on_na):
        raise MappingError(f"{path}: {where}: on_na must be a finite number (verl needs a reward), not {on_na!r}")
    if on_error != "raise" and not is_finite_number(on_error):
        raise MappingError(f"{path}: {where}: on_error must be raise or a finite number, not {on_error!r}")
    return Policy(on_na=float(on_na), on_error=None if on_error == "raise" else float(on_error))


def _only_keys(path: str, where: str, spec: dict, allowed: tuple) -> None:
    unknown = [str(k) for k in spec if k not in allowed]
    if unknown:
        raise MappingError(f"{path}: {where}: unknown key {unknown[0]!r} (expected {', '.join(allowed)})")


# verl may load this file by path (custom_reward_function.path=.../verl.py) as a module of another
# name: hand it the package module's functions, so a process has one cache however it was loaded.
if __name__ != "skilldsl.integrations.verl":  # pragma: no cover - exercised through a path load in the tests
    from skilldsl.integrations.verl import compute_score, compute_score_async, compute_score_batch  # noqa: F811,E402
