"""The ``vllm`` backend: a skill's judge on vLLM in this process (``pip install 'skilldsl[vllm]'``).

Same requests, Result and trace as the transformers backend; what changes is the engine:

- **Prompts are token ids.** Messages are encoded here, by the transformers backend's
  :class:`~.hf_prompt.PromptEncoding` (``TextOnlyChat``: only the chat template makes control
  tokens, so a response spelling ``<|im_end|>`` cannot close its turn), cut by the same truncation
  policy, and handed to vLLM as ``TokensPrompt``; vLLM never tokenizes message text.
- **Choices are read, never sampled**, as the transformers backend reads them: each option scores
  the sum of its tokens' log-probabilities, and an option that is a prefix of another (``1`` of
  ``10``) also "is not extended" (log(1 - p(extensions))). Each distinct context (the prompt, or the
  prompt and an option's first tokens) is one one-token vLLM request whose ``logprob_token_ids`` are
  exactly the tokens to read there (raw log-probabilities, before any sampling constraint). Labels
  that differ in their first token (``A``/``B``) need only the prompt: one request per choice.
  Longer options add a request per further context, which vLLM's automatic prefix caching serves
  from the prompt's KV blocks; it replaces the transformers backend's hand-made prefix reuse.
- **Generation** goes through vLLM's structured outputs (``choice`` for labels and scores, ``regex``
  for regexes and for JSON schemas, as the regex the transformers backend decodes under: at most one
  space between JSON tokens, where a small judge otherwise pads with newlines); every answer is
  still checked against its constraint (:func:`~.openai_wire.violation`), and a constrained answer
  that stopped at ``max_tokens`` unfinished is that request's error.
- **Per-request errors**: a request that cannot be prepared (no options, a template refusing the
  messages) fails alone; one vLLM refuses when it is added fails alone too (the batch is halved
  until the refused request stands alone). A dead engine is a :class:`~.base.BackendError`.

Engine options (``--backend-option KEY=VALUE``; :func:`from_spec`): ``gpu_memory_utilization``
(default 0.15 on vLLM's CPU build, where it is the share of RAM reserved for weights and KV cache and
vLLM's own 0.92 refuses to start on a 24 GB machine; vLLM's default on a GPU), ``max_model_len``
(default: the skill's ``max_context``, else the model's position limit capped at 8192, as the
transformers backend), ``dtype`` (default as the transformers backend: the runtime's ``dtype``, else
bf16 on CUDA and CPUs with native bf16, else fp32), ``prefix_caching`` (True), ``seed`` (0),
``engine`` (a dict of further ``vllm.LLM`` keyword arguments, which win over the defaults). On the CPU
build ``enforce_eager`` is on by default: torch.compile of even the 135M judge took 4-10 minutes on
this 2-core machine, its speed-up is not measured (``engine={"enforce_eager": False}`` turns it on).

vLLM's engine runs in a child process: a script that creates this backend needs an
``if __name__ == "__main__":`` guard. The embedded GGUF judge is loaded from its converted
safetensors copy (:func:`~.models.model_directory`). Importing this module does not import vLLM.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import (
    BackendError, ChoiceRequest, ChoiceResult, GenerateRequest, Generation, attempt, cut_off, describe, failed,
)
from .constraints import constraint_regex
from .hf_batch import unservable
from .hf_choice import ChoiceScoring, _Choice
from .hf_generate import ConstrainedGeneration, _Gen
from .hf_prompt import TRUNCATE_POLICIES, PromptEncoding
from .models import DEFAULT_MODEL, model_directory, pick_device, pick_dtype, resolve_model
from .openai_wire import labels_of, violation

__all__ = ["VLLMBackend", "from_spec", "INSTALL_HINT", "CPU_MEMORY_SHARE", "vllm_available", "unavailable"]

INSTALL_HINT = "the vllm backend needs vLLM: pip install 'skilldsl[vllm]' (see benchmarks/vllm_setup.sh)"
CPU_MEMORY_SHARE = 0.15  # of RAM, for weights + KV cache on vLLM's CPU build
_MAX_IDS_PER_REQUEST = 128  # vLLM's MAX_LOGPROB_TOKEN_IDS


def vllm_available() -> bool:
    """Whether vLLM can be imported here (without importing it)."""
    return importlib.util.find_spec("vllm") is not None


def unavailable() -> "str | None":
    """Why the backend cannot be chosen here (the registry refuses the name with it), or None."""
    return None if vllm_available() else INSTALL_HINT


class VLLMBackend(PromptEncoding):
    """A :class:`~skilldsl.runtime.backends.base.Backend` on a vLLM engine in this process (module doc)."""

    cacheable = True

    def __init__(self, model=None, *, dtype=None, max_model_len: "int | None" = None, truncate: str = "middle",
                 max_prompt_tokens: "int | None" = None, gpu_memory_utilization: "float | None" = None,
                 prefix_caching: bool = True, seed: int = 0, engine: "dict | None" = None):
        if truncate not in TRUNCATE_POLICIES:
            raise ValueError(f"truncate must be one of {TRUNCATE_POLICIES}, not {truncate!r}")
        self.dtype = pick_dtype(pick_device(None), dtype)
        self.truncate = truncate
        self.max_prompt_tokens = int(max_prompt_tokens) if max_prompt_tokens else None
        self._max_context = int(max_model_len) if max_model_len else None
        self._model_limit: "int | None" = None
        self.gpu_memory_utilization = gpu_memory_utilization
        self.prefix_caching = bool(prefix_caching)
        self.seed = int(seed)
        self.engine_options = dict(engine or {})
        self._resolved = None if model is None or str(model) == "default" else resolve_model(model)
        self.name = "vllm:" + self._model_name()
        self._tok = self._llm = None
        self._load_failure: "str | None" = None
        self._option_cache: dict[str, list[int]] = {}
        self._chat = None

    def _model_name(self) -> str:
        resolved = self._resolved or DEFAULT_MODEL
        quant = resolved.quant
        return f"{resolved.model_id}" + (f":{quant}" if quant else "") + ":" + str(self.dtype).replace("torch.", "")

    # ------------------------------------------------------------------ model, tokenizer, engine
    def directory(self) -> Path:
        """The model directory vLLM loads (the embedded GGUF's converted copy, made once)."""
        if self._resolved is None:
            self._resolved = resolve_model(None)
        return model_directory(self._resolved, self.dtype)

    @property
    def tokenizer(self):
        """The model's transformers tokenizer (prompts are encoded here, not by vLLM)."""
        if self._tok is None:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(str(self.directory()))
        return self._tok

    @property
    def max_context(self) -> int:
        """Prompt + answer token limit, vLLM's ``max_model_len`` (see the module doc)."""
        if self._max_context:
            return self._max_context
        if self._model_limit is None:  # kept apart: ``prompt_policy`` (a cache key) reads ``_max_context``
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(str(self.directory()))
            self._model_limit = min(int(getattr(config, "max_position_embeddings", 2048) or 2048), 8192)
        return self._model_limit

    @property
    def engine(self):
        """The ``vllm.LLM`` (created on first use; a failure is remembered and raised again at once)."""
        if self._llm is None:
            if self._load_failure is not None:
                raise BackendError(self._load_failure)
            try:
                self._llm = self._start_engine()
            except Exception as exc:  # noqa: BLE001 - any start failure fails every call alike
                self._load_failure = describe(exc, f"could not start vLLM on {self.name}: ")
                raise BackendError(self._load_failure) from exc
        return self._llm

    def _start_engine(self):
        if not vllm_available():
            raise BackendError(INSTALL_HINT)
        from vllm import LLM
        from vllm.platforms import current_platform

        options = {}
        if current_platform.is_cpu():  # torch.compile took 4-10 minutes here (module doc)
            options.update(gpu_memory_utilization=CPU_MEMORY_SHARE, enforce_eager=True)
        if self.gpu_memory_utilization is not None:
            options["gpu_memory_utilization"] = float(self.gpu_memory_utilization)
        path = str(self.directory())
        options.update(model=path, tokenizer=path, dtype=str(self.dtype).replace("torch.", ""),
                       max_model_len=self.max_context, enable_prefix_caching=self.prefix_caching,
                       seed=self.seed, max_logprobs=_MAX_IDS_PER_REQUEST, logprobs_mode="raw_logprobs")
        options.update(self.engine_options)
        return LLM(**options)

    def close(self) -> None:
        """Stop the engine's process (the backend starts a new one if used again)."""
        llm, self._llm = self._llm, None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()

    # ------------------------------------------------------------------ choices
    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Log-probability of each option as the whole answer (module doc); never samples."""
        if not requests:
            return []
        prepared = [attempt(r, self._prepare_choice, unservable()) for r in requests]
        items = {i: p for i, p in enumerate(prepared) if isinstance(p, _Choice)}
        reads = {i: _reads(item) for i, item in items.items()}
        queries = sorted({(ctx, ids) for read in reads.values() for ctx, ids in read.queries})
        answers = self._next_token_logprobs(queries)
        out = list(prepared)
        for i, item in items.items():
            out[i] = reads[i].result(item, answers)
        return out

    # the transformers backend's preparation (prompt ids, option ids, options that prefix others)
    _prepare_choice = ChoiceScoring._prepare_choice

    def _next_token_logprobs(self, queries: list[tuple]) -> dict:
        """``{(context, token): logprob | error text}`` for each ``(context ids, token ids)`` query:
        one one-token request per query, ``logprob_token_ids`` = its tokens."""
        from vllm import SamplingParams

        prompts = [{"prompt_token_ids": list(ctx)} for ctx, _ in queries]
        params = [SamplingParams(max_tokens=1, temperature=0.0, logprob_token_ids=list(ids), detokenize=False)
                  for _, ids in queries]
        answers: dict = {}
        for (ctx, ids), output in zip(queries, self._run(prompts, params)):
            read = {} if isinstance(output, str) else output.outputs[0].logprobs[0]
            for token in ids:
                answers[ctx, token] = output if isinstance(output, str) else read[token].logprob if token in read \
                    else f"vLLM returned no log-probability for token {token}"
        return answers

    # ------------------------------------------------------------------ generation
    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Generation under each request's constraint through vLLM's structured outputs (module doc)."""
        prepared = [attempt(r, self._prepare_generation, unservable()) for r in requests]
        params = {i: attempt(requests[i], lambda _, item=p: _sampling(item), unservable())
                  for i, p in enumerate(prepared) if isinstance(p, _Gen)}
        out = [params[i] if isinstance(params.get(i), Generation) else p for i, p in enumerate(prepared)]
        live = [i for i in params if not isinstance(out[i], Generation)]  # a constraint it cannot build fails alone
        outputs = self._run([{"prompt_token_ids": prepared[i].prompt} for i in live], [params[i] for i in live])
        for i, output in zip(live, outputs):
            out[i] = failed(requests[i], output) if isinstance(output, str) else _generation(prepared[i], output)
        return out

    # the transformers backend's preparation (prompt ids within the room the answer leaves)
    _prepare_generation = ConstrainedGeneration._prepare_generation

    # ------------------------------------------------------------------ running requests
    def _run(self, prompts: list, params: list) -> list:
        """vLLM's outputs in order; a request vLLM refuses when it is added becomes its error text
        (halving the batch until it stands alone), the others are served."""
        if not prompts:
            return []
        llm = self.engine
        try:
            return list(llm.generate(prompts, params, use_tqdm=False))
        except _refusals() as exc:
            if len(prompts) == 1:
                return [f"vLLM refused the request: {describe(exc)}"]
        except Exception as exc:  # noqa: BLE001 - a dead engine fails the call
            raise BackendError(describe(exc, "vLLM failed: ")) from exc
        half = len(prompts) // 2
        return self._run(prompts[:half], params[:half]) + self._run(prompts[half:], params[half:])


@dataclass
class _Read:
    """What one choice request reads: per option, the (context, token) log-probabilities it sums and
    the tokens whose mass it gives up (it is not extended into a longer option)."""

    terms: list[list[tuple]]
    stops: list[tuple]  # per option: (context, stop tokens) or ()

    @property
    def queries(self) -> list[tuple]:
        """(context, token ids) pairs, the tokens of one context in requests of at most 128 ids."""
        wanted: dict[tuple, set] = {}
        for terms in self.terms:
            for ctx, token in terms:
                wanted.setdefault(ctx, set()).add(token)
        for stop in self.stops:
            if stop:
                wanted.setdefault(stop[0], set()).update(stop[1])
        return [(ctx, tuple(ids[k:k + _MAX_IDS_PER_REQUEST]))
                for ctx, ids in ((c, sorted(t)) for c, t in wanted.items())
                for k in range(0, len(ids), _MAX_IDS_PER_REQUEST)]

    def result(self, item: _Choice, answers: dict) -> ChoiceResult:
        needed = [key for terms in self.terms for key in terms] + [
            (stop[0], t) for stop in self.stops if stop for t in stop[1]]
        refused = next((answers[k] for k in needed if isinstance(answers[k], str)), None)
        if refused is not None:
            return ChoiceResult((), error=refused)
        scores = []
        for terms, stop in zip(self.terms, self.stops):
            score = sum(answers[key] for key in terms)
            if stop:
                p_more = sum(math.exp(answers[stop[0], t]) for t in stop[1])
                score += math.log(max(1.0 - p_more, 1e-30))
            scores.append(score)
        fed = sum(len(item.feeds(j)) for j in range(len(item.options)))
        return ChoiceResult(tuple(scores), tokens_in=len(item.prompt), tokens_out=1 + fed, truncated=item.truncated)


def _refusals() -> tuple:
    """What vLLM raises for one request it will not take (a bad regex, a bad parameter): its client
    errors (``VLLMValidationError`` is not a ValueError) and the ValueError/TypeError of its checks."""
    from vllm.exceptions import VLLMClientError

    return (VLLMClientError, ValueError, TypeError)


def _reads(item: _Choice) -> _Read:
    """The log-probabilities ``item`` needs, as the transformers backend sums them."""
    prompt = tuple(item.prompt)
    terms = [[(prompt + tuple(option[:k]), token) for k, token in enumerate(option)] for option in item.options]
    stops = [(prompt + tuple(option), tuple(stop)) if stop else () for option, stop in zip(item.options, item.stops)]
    return _Read(terms, stops)


def _sampling(item: _Gen):
    """The vLLM sampling parameters of one generation (greedy at temperature 0, seeded otherwise)."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    request = item.request
    guided = _structured(request.constraint or {"type": "text"})
    sampled = request.temperature > 0
    return SamplingParams(
        max_tokens=item.max_new, temperature=float(request.temperature) if sampled else 0.0,
        seed=int(request.seed) if sampled else None, top_p=1.0, top_k=0,
        structured_outputs=StructuredOutputsParams(**guided) if guided else None)


def _structured(constraint: dict) -> "dict | None":
    """vLLM's structured-output fields of an IR answer constraint (None: free text)."""
    kind, labels = constraint.get("type", "text"), labels_of(constraint)
    if labels is not None:  # choice, score
        return {"choice": labels}
    if kind == "regex":
        return {"regex": constraint["pattern"]}
    if kind == "json":  # the transformers backend's language: at most one space between tokens
        return {"regex": constraint_regex(constraint)}
    return None


def _generation(item: _Gen, output) -> Generation:
    """One vLLM output as a :class:`Generation`, checked against its constraint."""
    answer = output.outputs[0]
    constraint = item.request.constraint or {"type": "text"}
    wrong = violation(answer.text, constraint)
    if wrong is not None:
        wrong = cut_off(item.max_new) if answer.finish_reason == "length" else f"the answer breaks its constraint: {wrong}"
    return Generation(answer.text, tokens_in=len(item.prompt), tokens_out=len(answer.token_ids),
                      truncated=item.truncated, error=wrong)


def from_spec(spec, *, gpu_memory_utilization: "float | None" = None, max_model_len: "int | None" = None,
              dtype: Any = None, prefix_caching: bool = True, seed: int = 0,
              engine: "dict | None" = None) -> VLLMBackend:
    """The registered backend ``vllm`` (see :mod:`.registry`): ``spec`` is the model alias, the keywords
    its engine options (module doc). Where vLLM is not installed the registry refuses the name at once,
    in one line (:func:`unavailable`), before any row runs."""
    return VLLMBackend(spec.id, dtype=dtype if dtype is not None else spec.dtype,
                       max_model_len=max_model_len or spec.max_context, truncate=spec.truncate,
                       max_prompt_tokens=spec.max_prompt_tokens, gpu_memory_utilization=gpu_memory_utilization,
                       prefix_caching=prefix_caching, seed=seed, engine=engine)
