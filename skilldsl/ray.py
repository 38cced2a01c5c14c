"""Score a dataset on a Ray cluster (``pip install 'skilldsl[ray]'``): ``skilldsl score --ray``.

:func:`score` maps a :class:`ray.data.Dataset` through Ray Data's ``map_batches`` with a fixed
pool of actors (``compute=ActorPoolStrategy(size=num_workers)``). Each actor (:class:`SkillScorer`)
imports the verifier plugins and builds one :class:`~skilldsl.runtime.Skill` from the compiled
program once; its backend (a judge model) is created on first need and kept for every batch the
actor scores, and a verifier-only skill never loads one. Every batch is one ``Skill.score`` call,
so a row whose evaluation errs is that row's ``error`` Result, as in a local run; only a dead
process fails a task. Ray restarts a dead actor and runs its unfinished batch again
(``max_restarts=-1``, ``max_task_retries=-1``: Ray Data's defaults for actor pools), and a
batch that still fails stops the run (``max_errored_blocks=0``): a row is never dropped, and
a task's output reaches the dataset only when the task finished, so never twice. A row that
kills its process every time (a native crash, the kernel's OOM killer) would be retried forever:
an :class:`Attempts` actor counts the attempts that began and never ended, a batch whose earlier
attempt died is scored one row at a time, and a row whose process died :data:`ROW_DEATHS` times
with it alone is that row's error, not scored again; the rest of its batch is scored.

A result row holds the fields ``skilldsl score`` writes: ``line`` (rows given as a file or a
list), ``id`` (a dataset column of that name, passed through), ``reward``, ``status``,
``reason``, ``reward_id``, ``tokens_in``, ``tokens_out``, ``seconds``, ``best``, and as JSON text
(one Arrow type per column, whatever the evidence values are) ``trace``, ``scores`` and
``caught``. :func:`write` streams them to Parquet or JSON files; :func:`records` gives each
row back as the exact object a local ``skilldsl score`` writes for it, in input order.
"""
from __future__ import annotations

import json
import logging
import os
import socket
from typing import Any, Iterable, Iterator

from .data import json_text
from .runtime.result import line_error

__all__ = ["score", "score_lines", "from_lines", "write", "records", "start", "SkillScorer", "Attempts",
           "INSTALL_HINT"]

INSTALL_HINT = "Ray is not installed: pip install 'skilldsl[ray]'"
LINE, SAMPLE, UNREADABLE = "line", "_skilldsl_sample", "_skilldsl_unreadable"  # columns of rows read from JSON
RESULT_FIELDS = ("reward", "status", "reason", "reward_id", "tokens_in", "tokens_out", "seconds",
                 "scores", "best", "caught", "trace")
JSON_FIELDS = ("scores", "caught", "trace")  # nested values of varying types: JSON text in Arrow
OPTIONAL_FIELDS = ("scores", "best", "caught")  # Result.to_dict writes these only when set
MODEL_KINDS = ("ask", "route", "reward_model")  # evidence kinds that run a model
JOIN_TIMEOUT = 10.0  # seconds for a named cluster to answer: ray.init has no timeout and retries for minutes
ROW_DEATHS = 2  # a row scored alone whose process died this many times is that row's error


def score(data: Any, skill: Any, *, backend: Any = None, backend_options: "dict | None" = None,
          model: Any = None, device: Any = None, dtype: Any = None, cache: bool = True,
          plugins: Iterable[str] = (), num_workers: "int | None" = None, batch_size: int = 64,
          num_cpus: float = 1, num_gpus: "float | None" = None) -> Any:
    """The result rows of ``skill`` on ``data``, a lazy :class:`ray.data.Dataset` in input order.

    ``data``: a ``ray.data.Dataset`` (each row is a sample), a list of sample dicts, or a JSONL
    path (read as ``skilldsl score`` reads it: a line that is not a sample is an error row).
    ``skill``: a ``.skill``/``.skillc`` path, a stock skill name, a Program or a Skill (its
    program; the runtime settings are this call's keywords, as for :func:`skilldsl.load`).
    ``plugins``: verifier modules (names or ``.py`` paths) every actor imports first.
    ``num_workers`` actors of ``num_cpus`` CPUs each score ``batch_size`` rows per call; a skill
    that runs a model asks ``num_gpus`` (default: 1 when the cluster has GPUs, else 0) and
    defaults to one actor per GPU, a verifier-only skill to one actor per CPU slot.
    Raises ``ImportError`` with :data:`INSTALL_HINT` when Ray is missing.
    """
    ray = _ray()
    program = _program(skill, plugins)
    options = {k: v for k, v in dict(backend=backend, backend_options=backend_options, model=model, device=device,
                                     dtype=dtype, cache=cache, batch_size=batch_size).items() if v is not None}
    from .runtime import Skill

    Skill(program, **options)  # an unknown backend or engine option fails here, before any actor starts
    gpus = _gpus_per_actor(program, num_gpus)
    attempts = _ledger(ray)  # lives as long as the dataset holds its handle
    results = _dataset(data, batch_size).map_batches(
        SkillScorer, batch_size=batch_size, batch_format="pyarrow", udf_modifying_row_count=False,
        fn_constructor_kwargs={"program": program, "options": options, "plugins": list(plugins), "cpus": num_cpus,
                               "attempts": attempts},
        compute=ray.data.ActorPoolStrategy(size=num_workers or _default_workers(num_cpus, gpus)),
        num_cpus=num_cpus, num_gpus=gpus or None)
    results.context.max_errored_blocks = 0  # a batch that fails after its retries stops the run, never vanishes
    results.context.execution_options.preserve_order = True  # results in input order, as a local run writes them
    return results


def _ledger(ray: Any) -> Any:
    """The run's :class:`Attempts` actor, on this (the driver's) node: if that node dies the run
    ends anyway; on another node its death would fail every batch that asks it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(num_cpus=0)(Attempts).options(scheduling_strategy=here).remote()


def score_lines(rows: list, skill: Any, **options: Any) -> Iterator[dict]:
    """What ``skilldsl score`` writes for ``rows`` (``(line number, sample or RowError)``, as its
    reader gives them), scored on Ray by :func:`score` with ``options``, in order. Every line
    must come back exactly once, in its place: a gap or a repeat is a ``RuntimeError``, never a
    shifted or missing reward."""
    from .runtime.result import score_record

    returned = records(score(from_lines(rows, options.get("batch_size", 64)), skill, **options))
    for number, sample in rows:
        fields = next(returned, None)
        got = None if fields is None else fields.pop(LINE)
        if got != number:
            raise RuntimeError(f"Ray returned {'no row' if got is None else f'line {got}'} where line {number} belongs")
        yield score_record(number, sample, fields)
    extra = next(returned, None)
    if extra is not None:
        raise RuntimeError(f"Ray returned line {extra.get(LINE)} again after the last line")


def start(address: "str | None" = None) -> None:
    """Join the Ray cluster at ``address`` (default: ``$RAY_ADDRESS``, else start a local Ray),
    unless this process already joined one; ``ConnectionError`` when nothing answers there within
    :data:`JOIN_TIMEOUT` seconds."""
    ray = _ray()
    if not ray.is_initialized():
        _answers(address or os.environ.get("RAY_ADDRESS"))
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)


def _answers(address: "str | None", timeout: float = JOIN_TIMEOUT) -> None:
    """Raise ``ConnectionError`` unless something accepts a connection at ``address``
    (``host:port``, ``ray://host:port``) within ``timeout`` seconds: ``ray.init`` given an address
    where no cluster runs retries for many minutes. ``auto``, ``local``, a bare host and no
    address at all are left to Ray."""
    host, colon, port = (address or "").split("://", 1)[-1].rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"no answer within {timeout:g} s ({exc.strerror or exc})") from None


def write(results: Any, path: str) -> None:
    """Stream ``results`` (from :func:`score`) into the directory ``path``: Parquet files when
    ``path`` ends in ``.parquet``, else JSON Lines files (``write_parquet``/``write_json``)."""
    if str(path).endswith(".parquet"):
        results.write_parquet(path)
    else:
        results.write_json(path)


def records(results: Any) -> Iterator[dict]:
    """Each result row of :func:`score` as the fields :meth:`Result.to_dict` gives a local run
    (``trace`` an object again, the unset optional fields left out), with ``line`` and ``id``
    when the rows have them, in input order."""
    for batch in results.iter_batches(batch_format="pyarrow", batch_size=None):
        for row in batch.to_pylist():
            yield {**{k: row[k] for k in (LINE, "id") if k in row}, **result_fields(row)}


def result_fields(row: dict) -> dict:
    """The :meth:`Result.to_dict` of one result row (the inverse of :meth:`SkillScorer.__call__`)."""
    fields = {}
    for name in RESULT_FIELDS:
        value = row[name]
        if name in OPTIONAL_FIELDS and value is None:
            continue
        fields[name] = json.loads(value) if name in JSON_FIELDS and value is not None else value
    return fields


class Attempts:
    """How many attempts at each key (a batch's or a row's content) began and did not end: one
    more than the number of processes that died on it. A Ray actor of :func:`score`'s run."""

    def __init__(self):
        self.open: dict[str, int] = {}

    def begin(self, key: str) -> int:
        """Count an attempt at ``key``; the number of attempts that began and did not end, this one included."""
        self.open[key] = self.open.get(key, 0) + 1
        return self.open[key]

    def end(self, key: str) -> None:
        self.open.pop(key, None)


class SkillScorer:
    """A Ray Data actor: one Skill (and, on first need, its backend) per actor, one
    ``Skill.score`` call per batch; a batch whose earlier attempt died, one row at a time."""

    def __init__(self, program: Any, options: dict, plugins: list, cpus: float = 1, attempts: Any = None):
        from .compiler import import_plugins
        from .runtime import Skill

        # the isolated-verifier pool of this actor: as many workers as CPUs it reserved
        os.environ.setdefault("SKILLDSL_VERIFIER_WORKERS", str(max(1, int(cpus))))
        import_plugins(plugins)
        self.skill = Skill(program, **options)
        self.types = _arrow_types()
        self.attempts = attempts

    def __call__(self, batch: Any) -> Any:
        """The result rows of one batch (a ``pyarrow.Table``), row for row."""
        import pyarrow as pa

        rows = batch.to_pylist()
        fields = [r.to_dict() for r in self._guarded(rows)]
        columns = {name: pa.array([_row_value(name, f.get(name)) for f in fields], type=self.types[name]())
                   for name in RESULT_FIELDS}
        kept = {name: batch.column(name) for name in (LINE, "id") if name in batch.column_names}
        return pa.table({**kept, **columns})

    def _guarded(self, rows: list[dict]) -> list:
        """The Results of ``rows``: in one call, unless an earlier attempt at this batch died; then
        one row at a time, a row that died alone :data:`ROW_DEATHS` times being its own error."""
        if self.attempts is None:
            return self._results(rows)
        key = "batch " + _content_key(rows)
        retried = self._begin(key) > 1
        try:
            return [r for row in rows for r in self._alone(row)] if retried else self._results(rows)
        finally:
            self._end(key)  # an exception ends the attempt too: only a dead process leaves it open

    def _alone(self, row: dict) -> list:
        key = "row " + _content_key([row])
        died = self._begin(key) - 1
        if died >= ROW_DEATHS:
            return [self._killer(row, died)]
        try:
            return self._results([row])
        finally:
            self._end(key)

    def _killer(self, row: dict, died: int):
        return line_error(row.get(LINE), f"the process scoring this row died {died} times with it alone "
                          "(a crash in native code, or out of memory); not scored again", self.skill.reward_id)

    def _begin(self, key: str) -> int:
        import ray

        return ray.get(self.attempts.begin.remote(key))

    def _end(self, key: str) -> None:
        import ray

        ray.get(self.attempts.end.remote(key))  # waited for: a death right after must not count

    def _results(self, rows: list[dict]) -> list:
        """One Result per row: the readable samples scored in one call, an unreadable line its error."""
        if not rows or SAMPLE not in rows[0]:
            return self.skill.score(rows)  # a dataset's own rows: each row is a sample
        readable = [json.loads(r[SAMPLE]) for r in rows if r[UNREADABLE] is None]
        scored = iter(self.skill.score(readable))
        return [next(scored) if r[UNREADABLE] is None else line_error(r[LINE], r[UNREADABLE], self.skill.reward_id)
                for r in rows]


def _content_key(rows: list[dict]) -> str:
    """A digest of ``rows``' content: a retried batch has the same one (identical batches share it,
    which only makes them score one row at a time)."""
    import hashlib

    text = json_text(rows, sort_keys=True, default=repr)  # a Dataset's columns may hold arrays, bytes, dates
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row_value(name: str, value: Any) -> Any:
    return json_text(value) if name in JSON_FIELDS and value is not None else value


def _arrow_types() -> dict:
    """The Arrow type of each result column: fixed, so every batch has one schema."""
    import pyarrow as pa

    text, whole, real = pa.string, pa.int64, pa.float64
    return {"reward": real, "status": text, "reason": text, "reward_id": text, "tokens_in": whole,
            "tokens_out": whole, "seconds": real, "scores": text, "best": whole, "caught": text, "trace": text}


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] part of the extra
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return ray


def _program(skill: Any, plugins: Iterable[str]) -> Any:
    """The compiled program of ``skill`` (plugins imported first: a .skill may use their verifiers)."""
    import skilldsl
    from .compiler import import_plugins
    from .runtime import Skill

    if isinstance(skill, Skill):
        return skill.program
    import_plugins(list(plugins))
    return skilldsl.program(skill)


def _dataset(data: Any, batch_size: int) -> Any:
    """A Ray Dataset of ``data`` (a dataset, a JSONL path or a list of samples)."""
    import ray.data

    if isinstance(data, ray.data.Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        from .eval.formats.jsonrows import read_lines

        with open(data, "rb") as stream:
            return from_lines(list(read_lines(stream)), batch_size)
    return from_lines(list(enumerate(data, start=1)), batch_size)


def from_lines(rows: list, batch_size: int = 64) -> Any:
    """Rows ``(line number, sample or RowError)`` as a Ray Dataset of ``line`` and the sample as
    JSON text (a sample's nested values need not fit one Arrow type per column), in blocks of
    about ``batch_size`` rows: one block, one actor call."""
    import ray.data

    from .eval.formats.jsonrows import RowError

    items = [{LINE: n, SAMPLE: None if isinstance(s, RowError) else json_text(s),
              UNREADABLE: str(s) if isinstance(s, RowError) else None} for n, s in rows]
    return ray.data.from_items(items, override_num_blocks=max(1, -(-len(items) // batch_size)))


def asks_model(program: Any) -> bool:
    """Whether any evidence of ``program`` (inside ``each`` too) runs a model."""
    def kinds(nodes: Iterable[dict]) -> Iterator[str]:
        for node in nodes:
            yield node.get("kind")
            if node.get("kind") == "each":
                yield from kinds([node["body"]])

    return any(kind in MODEL_KINDS for kind in kinds(program.doc.get("evidence", {}).values()))


def _gpus_per_actor(program: Any, num_gpus: "float | None") -> float:
    """``num_gpus`` when given; else 1 for a skill that runs a model on a cluster with GPUs, else 0."""
    if num_gpus is not None:
        return num_gpus
    if not asks_model(program):
        return 0
    return 1 if _cluster().get("GPU", 0) >= 1 else 0


def _default_workers(num_cpus: float, gpus: float) -> int:
    """One actor per GPU slot for a judge on GPUs, else one per CPU slot."""
    resources = _cluster()
    slots = resources.get("GPU", 0) / gpus if gpus else resources.get("CPU", 1) / max(num_cpus, 1e-9)
    return max(1, int(slots))


def _cluster() -> dict:
    """The cluster's total resources (connecting to, or starting, Ray as Ray Data would)."""
    import ray

    if not ray.is_initialized():
        ray.init()
    return ray.cluster_resources()
