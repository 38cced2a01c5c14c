"""The transformers backend: a local model, GPU or CPU, for batched choices and constrained generation.

:class:`TransformersBackend` is the model's identity and loading; what it does with the model
lives in one module per concern, each a mixin of it:

- ``hf_prompt.PromptEncoding``: chat template, text-only encoding of message content, the
  truncation of long prompts, the answer tokens of each option;
- ``hf_choice.ChoiceScoring``: ``choice_logprobs`` (one forward per micro-batch, multi-token
  options on the prompt's KV cache, shared-prefix KV reuse across requests);
- ``hf_batch.MicroBatching``: left padding, token-budget micro-batches, halving on out-of-memory;
- ``hf_reason.ReasonedChoice``: choice requests with a reasoning phase (``think`` > 0), on the
  prompt's KV cache;
- ``hf_generate.ConstrainedGeneration``: ``generate`` under regex / JSON-schema constraints
  (outlines_core indexes, compiled once and cached on disk).

It is the registered backend ``transformers`` (:func:`from_spec`, see :mod:`.registry`).
Importing this module does not import torch.
"""
from __future__ import annotations

from .base import BackendError, describe
from .constraints import IndexCache
from .hf_batch import MicroBatching
from .hf_choice import ChoiceScoring, _Prefix
from .hf_generate import ConstrainedGeneration
from .hf_prompt import TRUNCATE_POLICIES, PromptEncoding
from .hf_reason import ReasonedChoice
from .models import DEFAULT_MODEL, load_model, pick_device, pick_dtype, resolve_model

__all__ = ["TransformersBackend", "TRUNCATE_POLICIES", "from_spec"]


class TransformersBackend(PromptEncoding, ChoiceScoring, ReasonedChoice, MicroBatching, ConstrainedGeneration):
    """A :class:`~skilldsl.runtime.backends.base.Backend` on a local transformers model.

    ``model``: ``None`` (the embedded SmolLM2 judge), a Hugging Face id, a directory or a
    ``.gguf`` file. ``device``: default CUDA if available else CPU. ``dtype``: default bf16 on
    CUDA and on CPUs with native bf16, else fp32. ``batch_size``: rows per micro-batch at
    512 tokens (the token budget is ``batch_size * 512``). ``max_context``: prompt + answer
    tokens; longer prompts are cut by ``truncate`` (``middle`` | ``left`` | ``right``) and
    flagged ``truncated=True``. ``prefix_reuse`` (on by default): requests of a wave that share at
    least ``min_shared_prefix`` leading tokens (the system message, rubric and request header
    of one judge) run that prefix once, batch of one, and its KV cache is kept for later waves;
    each micro-batch then runs only the suffixes on a broadcast view of it. Exact (fp32 matches
    the plain path to 1e-4); on bf16 the 100 LLMBar Natural pairs run faster with it (figures in
    the README, ``python benchmarks/bench_llmbar.py --compare-prefix-reuse``). The weights load on first use.
    """

    reasoning = True  # serves choice requests with think > 0 (base.serve_choices, hf_reason)

    def __init__(self, model=None, device=None, dtype=None, batch_size=None, max_context=None,
                 *, truncate: str = "middle", constraint_cache: bool = True, prefix_reuse: bool = True,
                 min_shared_prefix: int = 64, max_prompt_tokens: int | None = None):
        if truncate not in TRUNCATE_POLICIES:
            raise ValueError(f"truncate must be one of {TRUNCATE_POLICIES}, not {truncate!r}")
        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, dtype)
        self.batch_size = int(batch_size or (32 if self.device.startswith("cuda") else 8))
        self.token_budget = self.batch_size * 512
        self.truncate = truncate
        self._max_context = max_context
        self.max_prompt_tokens = int(max_prompt_tokens) if max_prompt_tokens else None
        self._constraint_cache = constraint_cache
        self.prefix_reuse = prefix_reuse
        self.min_shared_prefix = min_shared_prefix
        self._prefixes: dict[tuple, _Prefix] = {}
        self.reused_tokens = 0  # prompt tokens served from a shared-prefix cache instead of recomputed
        self._resolved = None if model is None or str(model) == "default" else resolve_model(model)
        self.name = self._name()
        self._tok = self._model = None
        self._option_cache: dict[str, list[int]] = {}
        self._indexes: IndexCache | None = None
        self._chat: tuple | None = None  # (tokenizer, its TextOnlyChat, its _unsplit_tokens pattern)

    # ---------------------------------------------------------------- identity and loading
    def _name(self) -> str:
        if self._resolved is None:
            model_id, quant = DEFAULT_MODEL.model_id, DEFAULT_MODEL.quant
        else:
            model_id, quant = self._resolved.model_id, self._resolved.quant
        dtype = str(self.dtype).replace("torch.", "")
        return f"{model_id}" + (f":{quant}" if quant else "") + f":{dtype}"

    _load_failure: str | None = None  # why loading failed: later calls fail fast with it

    def _load(self):
        """Resolve (fetching the default model if needed) and load, once. A failure is
        remembered: every later call raises the same :class:`BackendError` at once."""
        if self._model is None:
            if self._load_failure is not None:
                raise BackendError(self._load_failure)
            try:
                self._load_now()
            except Exception as exc:  # noqa: BLE001 - any load failure fails every call alike
                self._tok = self._model = None
                self._load_failure = describe(exc, f"could not load model {self.name}: ")
                raise BackendError(self._load_failure) from exc
        return self._tok, self._model

    def _load_now(self) -> None:
        if self._resolved is None:
            self._resolved = resolve_model(None)
        self._tok, self._model = load_model(self._resolved, self.device, self.dtype)
        self._tok.padding_side = "left"
        self._head_w, self._head_b = self._fp32_head()
        self._kv = _cache_keyword(self._model)

    def _fp32_head(self):
        head = self._model.get_output_embeddings()
        bias = getattr(head, "bias", None)
        return head.weight.float(), (None if bias is None else bias.float())

    @property
    def tokenizer(self):
        """The loaded tokenizer (loads the model)."""
        return self._load()[0]

    @property
    def model(self):
        """The loaded ``PreTrainedModel`` (loads it)."""
        return self._load()[1]


def from_spec(spec, *, batch_size: "int | None" = None, prefix_reuse: bool = True, min_shared_prefix: int = 64,
              constraint_cache: bool = True) -> TransformersBackend:
    """The registered backend ``transformers`` (see :mod:`.registry`): ``spec`` is the model alias,
    the keywords are its engine options."""
    return TransformersBackend(spec.id, device=spec.device, dtype=spec.dtype, batch_size=batch_size,
                               max_context=spec.max_context, truncate=spec.truncate,
                               max_prompt_tokens=spec.max_prompt_tokens, prefix_reuse=prefix_reuse,
                               min_shared_prefix=min_shared_prefix, constraint_cache=constraint_cache)


def _cache_keyword(model) -> str:
    """The KV-cache argument (and output field) of the model's forward: ``cache`` from
    transformers 5.24 on (``past_key_values`` is deprecated there), ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.base_model.forward).parameters else "past_key_values"
