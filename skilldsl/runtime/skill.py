"""The runnable skill: a Program plus lazily created model backends."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Iterator

from ..ir import Program
from ..progress import progress_bar
from .backends import registry
from .backends.base import BackendError, describe
from .batching import batcher_for
from .executor import Executor, combine_candidates
from .result import Result, format_result

__all__ = ["Skill"]

DEFAULT_BATCH = 64


class Skill:
    """A compiled skill ready to score samples.

    ``backend`` chooses the model backend: a registered name (``"transformers"``, ``"fake"``, or
    one added by :func:`~skilldsl.runtime.backends.registry.register` or an entry point) for every
    model alias, a backend object, or a mapping ``alias -> name or object``. Without it each alias
    uses the ``backend:`` its ``models:`` entry names, else ``transformers``. ``backend_options``
    are the engine's own settings, given to every backend created by name (checked here: an
    unknown name or option raises :class:`~skilldsl.runtime.backends.registry.BackendConfigError`).
    A backend is created on first need only — a skill decided by verifiers alone never loads a
    model. ``model`` overrides the ``default`` alias's model (a Hugging Face id, a directory or a GGUF file).
    ``batch_size``: samples per executor batch (default 64; None or 0 mean the default); each wave of a batch sends its
    LLM requests in one backend call, which micro-batches them to fit memory. ``progress``:
    a tqdm bar on stderr. ``cache=False``: no LLM result cache for created backends.
    """

    def __init__(self, program: Program, *, model: Any = None, device: Any = None, dtype: Any = None,
                 backend: Any = None, backend_options: "dict | None" = None, cache: bool = True,
                 batch_size: int | None = None, progress: bool = False):
        self.program = program
        self.model, self.device, self.dtype = model, device, dtype
        self.cache, self.progress = cache, progress
        self.batch_size = int(batch_size or DEFAULT_BATCH)
        if self.batch_size < 1:  # a negative step would score nothing and lose every row
            raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
        self._injected = backend
        self.backend_options = dict(backend_options or {})
        self._check_backend_names()
        self._backends: dict[str, Any] = {}
        self._unavailable: dict[str, str] = {}  # backend key -> why it could not be created
        self.stats = {"waves": 0, "calls": []}  # backend/verifier calls: (kind, model, n)
        self._batch_lock = threading.Lock()  # one batch at a time in any thread: backends are not thread-safe
        self._batchers: dict = {}  # event loop -> its ScoreBatcher (ascore), see batching.batcher_for

    # -- identity ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The skill's name."""
        return self.program.name

    @property
    def mode(self) -> str:
        """``pointwise``, ``pairwise`` or ``listwise``."""
        return self.program.mode

    @property
    def reward_id(self) -> str:
        """The content hash written into every Result."""
        return self.program.reward_id

    def __repr__(self) -> str:
        return f"Skill({self.name!r}, mode={self.mode!r}, reward_id={self.reward_id[:19]}...)"

    # -- backends ------------------------------------------------------------------------
    def backend(self, alias: str = "default", *, reward_model: bool = False) -> Any:
        """The backend serving model ``alias`` (or the scalar reward model ``alias`` names),
        created on first use."""
        key = f"rm:{alias}" if reward_model else alias
        if key in self._unavailable:  # failed once: fail fast, every batch, with the same reason
            raise BackendError(self._unavailable[key])
        if key not in self._backends:
            try:
                self._backends[key] = self._make_reward_model(alias) if reward_model else self._make_backend(alias)
            except Exception as exc:  # noqa: BLE001 - remembered, then reported per row
                self._unavailable[key] = describe(exc)
                raise BackendError(self._unavailable[key]) from exc
        return self._backends[key]

    @property
    def loaded_backends(self) -> list[str]:
        """Aliases whose backend exists (a verifier-only run leaves this empty)."""
        return sorted(self._backends)

    def _make_backend(self, alias: str) -> Any:
        choice = self._backend_choice(alias)
        if not isinstance(choice, str):
            return choice  # an injected backend object
        models = self.program.doc.get("models", {})
        if alias not in models and alias != "default":
            raise KeyError(f"unknown model alias {alias!r}")
        backend = registry.create(choice, self._model_spec(alias, models.get(alias, {})), **self.backend_options)
        return self._with_cache(backend)

    def _backend_choice(self, alias: str) -> Any:
        """The backend name (or injected object) serving model ``alias``."""
        injected = self._injected
        if isinstance(injected, dict):
            return injected[alias]
        if injected is not None:
            return injected
        spec = self.program.doc.get("models", {}).get(alias) or {}
        return spec.get("backend") or registry.DEFAULT_BACKEND

    def _check_backend_names(self) -> None:
        """Refuse at once an unknown backend name, or options a named backend does not take."""
        # a verifier-only skill asks no model: its "default" still checks the name a user gave
        aliases = _asked_aliases(self.program.doc.get("evidence", {}).values()) or {"default"}
        if isinstance(self._injected, dict):
            aliases &= set(self._injected)
        chosen = {self._backend_choice(a) for a in aliases}
        for name in sorted(n for n in chosen if isinstance(n, str)):
            registry.check_options(name, self.backend_options)
        if self.backend_options and not any(isinstance(n, str) for n in chosen):
            raise registry.BackendConfigError("backend_options need a backend chosen by name; "
                                              "an injected backend object is configured by its maker")

    def _model_spec(self, alias: str, spec: dict) -> "registry.ModelSpec":
        """What the skill says about ``alias``, with this Skill's ``model``/``device``/``dtype``."""
        settings = self.program.doc.get("settings", {})
        model = self.model if (self.model is not None and alias == "default") else spec.get("id")
        return registry.ModelSpec(
            alias, model, device=self.device or spec.get("device"), dtype=self.dtype or spec.get("dtype"),
            max_context=spec.get("max_context"), truncate=_truncate_policy(settings),
            max_prompt_tokens=settings.get("max_prompt_tokens"),
        )

    def _make_reward_model(self, name: str) -> Any:
        injected = self._injected
        if isinstance(injected, dict) and name in injected:
            return injected[name]
        if hasattr(injected, "score_texts"):
            return injected
        from .reward_model import SequenceClassifierRM

        spec = self.program.doc.get("models", {}).get(name, {})
        return SequenceClassifierRM(spec.get("id") or name, device=self.device or spec.get("device"),
                                    dtype=self.dtype, max_length=spec.get("max_context"))

    def _with_cache(self, backend: Any) -> Any:
        if not self.cache or not getattr(backend, "cacheable", True):  # a scripted fake: never cached
            return backend
        from .backends.cache import CachingBackend

        return CachingBackend(backend)

    # -- scoring -------------------------------------------------------------------------
    def score(self, samples: Iterable[dict]) -> list[Result]:
        """One Result per sample, in order, in batches of ``batch_size``."""
        return list(self.iter_score(samples))

    def iter_score(self, samples: Iterable[dict], *, progress: "bool | None" = None) -> Iterator[Result]:
        """The Results of :meth:`score` one by one, as each batch of ``batch_size`` finishes (so a
        caller can write them as they come); a progress bar on stderr when ``progress`` (default:
        the skill's ``progress``). The one batching loop of the API and the command line."""
        samples = list(samples)
        bar = progress_bar(len(samples)) if (self.progress if progress is None else progress) else None
        try:
            for start in range(0, len(samples), self.batch_size):
                chunk = samples[start:start + self.batch_size]
                results = self._run(chunk)
                if bar is not None:
                    bar.update(len(chunk))
                yield from results
        finally:
            if bar is not None:
                bar.close()

    def _run(self, samples: list) -> list[Result]:
        with self._batch_lock:
            executor = Executor(self.program, self.backend)
            results = executor.run(samples)
            self.stats["waves"] += executor.waves
            self.stats["calls"].extend(executor.runner.calls)
        return results

    def compare(self, prompt: str, a: str, b: str) -> Result:
        """Pairwise: P(a is better than b) for one pair."""
        return self.score([self._pair(prompt, a, b)])[0]

    def rank(self, prompt: str, candidates: list[str]) -> Result:
        """Rank candidates: a listwise skill scores each candidate; a pointwise skill scores
        each as ``response``. ``scores`` per candidate, ``best`` the argmax."""
        samples, combine = self._ranking(prompt, candidates)
        return combine(self.score(samples))

    def _pair(self, prompt: str, a: str, b: str) -> dict:
        """The sample :meth:`compare` scores, once the skill is known to be pairwise."""
        if self.mode != "pairwise":
            use = "score([{...}])" if self.mode == "pointwise" else "rank(prompt, candidates)"
            raise ValueError(f"compare() needs a pairwise skill; {self.name!r} is {self.mode}: use {use}")
        return {"prompt": prompt, "a": a, "b": b}

    def _ranking(self, prompt: str, candidates: list[str]) -> "tuple[list[dict], Callable[[list[Result]], Result]]":
        """The samples :meth:`rank` scores, and how their Results become its one Result."""
        if self.mode == "listwise":
            return [{"prompt": prompt, self.program.doc["candidates"]: list(candidates)}], lambda results: results[0]
        if self.mode == "pairwise":
            raise ValueError("rank() with a pairwise skill needs a tournament: use `skilldsl rank`")
        return ([{"prompt": prompt, "response": c} for c in candidates],
                lambda results: combine_candidates(results, self.reward_id))

    # -- async: concurrent callers of one event loop share runtime batches ------------------
    async def ascore(self, samples: Iterable[dict]) -> list[Result]:
        """:meth:`score` for asyncio: the samples of concurrent calls in one event loop are scored
        in shared batches of up to ``batch_size`` rows, in a worker thread, one batch of this
        skill at a time (:class:`~skilldsl.runtime.batching.ScoreBatcher`). A cancelled call
        leaves the others' batch running."""
        samples = list(samples)
        return await batcher_for(self).score(samples)

    async def acompare(self, prompt: str, a: str, b: str) -> Result:
        """:meth:`compare` through :meth:`ascore`."""
        return (await self.ascore([self._pair(prompt, a, b)]))[0]

    async def arank(self, prompt: str, candidates: list[str]) -> Result:
        """:meth:`rank` through :meth:`ascore`."""
        samples, combine = self._ranking(prompt, candidates)
        return combine(await self.ascore(samples))

    def explain(self, sample: dict) -> str:
        """A readable evidence trace of one sample."""
        return format_result(self.score([sample])[0], self.program)


def _truncate_policy(settings: dict) -> str:
    policy = settings.get("truncate", "middle")
    return "middle" if policy == "error" else policy  # "error" is enforced by the backend's flag


def _asked_aliases(nodes) -> set[str]:
    """The model aliases the skill's ``ask`` and ``route`` evidence name (inside ``each`` too)."""
    aliases: set[str] = set()
    for node in nodes:
        if node.get("kind") == "each":
            aliases |= _asked_aliases([node["body"]])
        elif node.get("kind") in ("ask", "route"):
            aliases.add(node.get("model") or "default")
    return aliases
