"""The transformers backend: local model, GPU or CPU, batched choices and constrained generation.

``choice_logprobs`` never samples: the chat-templated prompt goes through the model once and
the next-token log-softmax at the last position gives each single-token option's log-prob.
Multi-token options are scored by extending the prompt's KV cache with each continuation in
one extra batched forward (the prompt is never recomputed). When one option's tokens are a
prefix of another's (``"1"`` and ``"10"``), the shorter one is scored as "``1`` not followed
by ``0``": log p(1) + log(1 - p(0 | 1)), so the options partition the answer mass exactly as
their first tokens do, and ``"10"`` never leaks into ``"1"``.

A wave is length-sorted, left-padded (explicit attention masks and position ids), cut into
micro-batches by a token budget, and a micro-batch that runs out of memory is halved.
On bf16/fp16 the transformer runs in low precision but the final projection and
log-softmax run in fp32 (one position per row, negligible cost), so probabilities do not
carry bf16 rounding of the logits.

``generate`` decodes under regex / JSON-schema constraints with outlines_core token masks
(indexes compiled once, cached on disk), greedy at temperature 0, seeded sampling otherwise.

Importing this module does not import torch.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import partial

from .base import (
    BackendError, ChoiceRequest, ChoiceResult, GenerateRequest, Generation, RequestError, TextOnlyChat, any_of,
    attempt, check_options, cut_off, describe,
)
from .constraints import IndexCache, constraint_key, constraint_regex
from .prefix import prefix_groups
from .models import DEFAULT_MODEL, load_model, models_dir, pick_device, pick_dtype, resolve_model

__all__ = ["TransformersBackend", "TRUNCATE_POLICIES"]

TRUNCATE_POLICIES = ("middle", "left", "right")
_ELLIPSIS = " [...] "


@dataclass
class _Choice:
    """One prepared choice request: prompt ids and each option's answer token ids."""

    prompt: list[int]
    options: list[list[int]]
    truncated: bool
    stops: list[list[int]]  # per option: next tokens that would turn it into a longer option

    def feeds(self, j: int) -> list[int]:
        """Tokens of option ``j`` to run after the prompt (empty: its first token suffices)."""
        return self.options[j] if self.stops[j] else self.options[j][:-1]


@dataclass
class _Prefix:
    """The KV cache of a prompt prefix shared by many requests, computed once (batch of one)."""

    length: int
    layers: list  # per layer: (keys, values), each [1, kv_heads, length, head_dim]

    def cache(self, rows: int, config):
        """A fresh ``DynamicCache`` holding this prefix for ``rows`` rows (broadcast views: the
        first forward's concatenation makes the only copy)."""
        from transformers import DynamicCache

        data = [(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in self.layers]
        return DynamicCache(data, config=config)


_PREFIXES_KEPT = 8  # shared-prefix caches kept across waves (a few MB each for a small model)


class TransformersBackend:
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

    @property
    def max_context(self) -> int:
        """Prompt + answer token limit: given, else the model's position limit (capped at 8192)."""
        if self._max_context:
            return int(self._max_context)
        return min(int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048), 8192)

    @property
    def prompt_policy(self) -> str:
        """How a long prompt is cut, part of the LLM-cache key: the prompt budget, the context (none
        given: the model's, which ``name`` already identifies) and the truncation policy."""
        return f":prompt<={self.max_prompt_tokens}:context<={self._max_context or 'model'}:{self.truncate}"

    def prompt_limit(self, answer_tokens: int) -> int:
        """The most prompt tokens a request may have: what the context leaves for the answer, and
        at most the skill's ``settings.max_prompt_tokens``."""
        room = self.max_context - answer_tokens
        return min(room, self.max_prompt_tokens) if self.max_prompt_tokens else room

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text``, as text (a control-token spelling counts as its characters)."""
        return len(self._plain(text))

    # ---------------------------------------------------------------- prompts
    def _chat_template(self, messages) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def _encode(self, text: str) -> list[int]:
        """Ids of prompt text: control-token spellings are control tokens (the chat template's)."""
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _plain(self, text: str) -> list[int]:
        """Ids of ``text`` as text: a control-token spelling is tokenized as its characters.
        ``split_special_tokens`` covers the special tokens; an added token not marked special
        (which the tokenizer matches all the same) is cut after its first character."""
        tok, whole = self.tokenizer, self._prompt_encoding()[1]
        pieces = _cut_spellings(text, whole) if whole is not None else [text]
        if len(pieces) == 1:
            return tok(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        return [i for ids in tok(pieces, add_special_tokens=False, split_special_tokens=True)["input_ids"] for i in ids]

    def _render_ids(self, messages) -> list[int]:
        """The chat-templated prompt: message content only ever text (see ``base.TextOnlyChat``)."""
        messages = [{"role": str(m.get("role", "user")), "content": str(m.get("content") or "")} for m in messages]
        return self._text_only().ids(messages)

    def _text_only(self) -> TextOnlyChat:
        """The prompt encoder of the loaded tokenizer."""
        return self._prompt_encoding()[0]

    def _prompt_encoding(self) -> tuple:
        """(the loaded tokenizer's prompt encoder, a pattern of the added tokens ``split_special_tokens``
        leaves whole or None), built once per tokenizer."""
        tok = self.tokenizer
        if self._chat is None or self._chat[0] is not tok:
            chat = TextOnlyChat(self._chat_template, self._encode, self._plain, _control_tokens(tok))
            self._chat = (tok, chat, any_of(_unsplit_tokens(tok)))
        return self._chat[1:]

    def prompt_ids(self, messages, limit: int) -> tuple[list[int], bool]:
        """Chat-templated prompt ids, cut to ``limit`` tokens by the truncation policy.

        The longest message's content is cut (keeping the template intact); a last-resort
        cut of the raw ids covers templates whose overhead alone exceeds the limit.
        """
        messages = [dict(m) for m in messages]
        ids = self._render_ids(messages)
        for _ in range(4):
            if len(ids) <= limit:
                return ids, _ != 0
            longest = max(range(len(messages)), key=lambda i: len(messages[i]["content"]))
            excess = len(ids) - limit + len(self._plain(_ELLIPSIS))
            messages[longest]["content"] = self._cut_text(messages[longest]["content"], excess)
            ids = self._render_ids(messages)
        return (ids if len(ids) <= limit else _cut(ids, len(ids) - limit, self.truncate)), True

    def _cut_text(self, text: str, n_tokens: int) -> str:
        ids = self._plain(text)
        keep = max(0, len(ids) - n_tokens)
        if self.truncate == "left":
            return _ELLIPSIS.lstrip() + self.tokenizer.decode(ids[len(ids) - keep:])
        if self.truncate == "right":
            return self.tokenizer.decode(ids[:keep]) + _ELLIPSIS.rstrip()
        head = keep // 2
        return self.tokenizer.decode(ids[:head]) + _ELLIPSIS + self.tokenizer.decode(ids[len(ids) - (keep - head):])

    def option_ids(self, option: str) -> list[int]:
        """Token ids of ``option`` as the model would emit it right after the assistant header."""
        if option not in self._option_cache:
            tok = self.tokenizer
            base = tok.apply_chat_template([{"role": "user", "content": "?"}], add_generation_prompt=True, tokenize=False)
            head = tok(base, add_special_tokens=False)["input_ids"]
            full = tok(base + option, add_special_tokens=False)["input_ids"]
            tail = full[len(head):] if full[: len(head)] == head else tok(option, add_special_tokens=False)["input_ids"]
            self._option_cache[option] = tail
        return self._option_cache[option]

    # ---------------------------------------------------------------- choices
    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Log-probability of each option as the whole answer, one forward per micro-batch."""
        if not requests:
            return []
        prepared = [attempt(r, self._prepare_choice, _unservable()) for r in requests]
        items = [p for p in prepared if isinstance(p, _Choice)]
        out: list[ChoiceResult | None] = [None] * len(items)
        groups, singles = prefix_groups([it.prompt for it in items], self.min_shared_prefix) \
            if self.prefix_reuse else ([], list(range(len(items))))
        for shared, members in groups + ([(0, singles)] if singles else []):
            prefix = self._shared_prefix(items[members[0]].prompt[:shared])
            run = partial(self._choice_batch, shared=prefix) if prefix else self._choice_batch
            order = sorted(members, key=lambda i: len(items[i].prompt))
            for chunk in self._micro_batches(order, {i: len(items[i].prompt) - shared for i in members}):
                for i, res in zip(chunk, self._oom_safe(run, [items[i] for i in chunk])):
                    out[i] = res
        return _merge(prepared, out, _Choice)

    def _shared_prefix(self, prefix: list[int]) -> "_Prefix | None":
        """The KV cache of ``prefix`` (batch of one), computed once and kept for the next waves."""
        if not prefix:
            return None
        key = tuple(prefix)
        if key not in self._prefixes:
            import torch

            ids = torch.tensor([prefix], device=self.device)
            with torch.inference_mode():
                cache = getattr(self.model.base_model(input_ids=ids, use_cache=True), self._kv)
            while len(self._prefixes) >= _PREFIXES_KEPT:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[key] = _Prefix(len(prefix), [(layer.keys, layer.values) for layer in cache.layers])
        return self._prefixes[key]

    def _prepare_choice(self, request: ChoiceRequest) -> _Choice:
        """Token ids of the prompt and options; :class:`RequestError` if this request alone
        cannot be scored (no options, an empty option, an option longer than the context)."""
        check_options(request.options, lambda o: len(self.option_ids(o)))
        options = [self.option_ids(str(o)) for o in request.options]
        longest = max(len(o) for o in options)
        if self.max_context - longest - 1 < 1:
            raise RequestError(f"an option of {longest} tokens leaves no room for the prompt "
                               f"in a context of {self.max_context} tokens")
        prompt, truncated = self.prompt_ids(request.messages, self.prompt_limit(longest + 1))
        return _Choice(prompt, options, truncated, _extensions(options))

    def _choice_batch(self, items: list[_Choice], shared: "_Prefix | None" = None) -> list[ChoiceResult]:
        """One forward over the prompts (after the ``shared`` prefix, whose cache they extend)."""
        import torch

        skip = shared.length if shared else 0
        ids, mask, pos = self._left_pad([it.prompt[skip:] for it in items])
        cache = None
        if shared:
            mask = torch.cat([mask.new_ones(len(items), skip), mask], dim=1)
            pos = pos + skip
            cache = shared.cache(len(items), self.model.config)
            self.reused_tokens += skip * len(items)
        multi = any(it.feeds(j) for it in items for j in range(len(it.options)))
        with torch.inference_mode():
            out = self.model.base_model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                        use_cache=multi or cache is not None, **{self._kv: cache})
            first = self._logsoftmax(out.last_hidden_state[:, -1])
            scores = [[first[b, o[0]].item() for o in it.options] for b, it in enumerate(items)]
            if multi:
                self._score_continuations(items, scores, getattr(out, self._kv), mask, pos[:, -1] + 1)
        return [self._choice_result(s, it) for s, it in zip(scores, items)]

    @staticmethod
    def _choice_result(scores: list[float], item: _Choice) -> ChoiceResult:
        fed = sum(len(item.feeds(j)) for j in range(len(item.options)))
        return ChoiceResult(tuple(scores), tokens_in=len(item.prompt), tokens_out=1 + fed, truncated=item.truncated)

    def _score_continuations(self, items, scores, cache, mask, next_pos) -> None:
        """Add the log-probs of tokens 2.. of multi-token options (and of not extending an
        option that prefixes another), extending the prompt's KV cache in one forward."""
        import torch

        rows = [(b, j) for b, it in enumerate(items) for j in range(len(it.options)) if it.feeds(j)]
        conts = [items[b].feeds(j) for b, j in rows]
        width = max(len(c) for c in conts)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([c + [pad] * (width - len(c)) for c in conts], device=self.device)
        cmask = torch.tensor([[1] * len(c) + [0] * (width - len(c)) for c in conts], device=self.device)
        sel = torch.tensor([b for b, _ in rows], device=self.device)
        cache.reorder_cache(sel)
        pos = next_pos[sel][:, None] + torch.arange(width, device=self.device)[None, :]
        out = self.model.base_model(input_ids=ids, attention_mask=torch.cat([mask[sel], cmask], dim=1),
                                    position_ids=pos, use_cache=True, **{self._kv: cache})
        logp = self._logsoftmax(out.last_hidden_state)
        for r, (b, j) in enumerate(rows):
            option, stops = items[b].options[j], items[b].stops[j]
            scores[b][j] += sum(logp[r, t, tok].item() for t, tok in enumerate(option[1:]))
            if stops:  # the answer ends here rather than growing into a longer option
                p_more = logp[r, len(option) - 1, stops].exp().sum().item()
                scores[b][j] += math.log(max(1.0 - p_more, 1e-30))

    def _logsoftmax(self, hidden):
        """fp32 output projection and log-softmax (no low-precision rounding of logits)."""
        import torch

        logits = hidden.float() @ self._head_w.T
        if self._head_b is not None:
            logits = logits + self._head_b
        return torch.log_softmax(logits, dim=-1)

    # ---------------------------------------------------------------- batching
    def _left_pad(self, seqs: list[list[int]]):
        import torch

        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(s)) + s for s in seqs], device=self.device)
        mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in seqs], device=self.device)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids, mask, pos

    def _micro_batches(self, order: list[int], lengths):
        """Consecutive runs of the length-sorted order within the token budget (``lengths[i]``: a
        list or a mapping by index)."""
        chunk: list[int] = []
        for i in order:
            longest = max(lengths[i], *(lengths[j] for j in chunk)) if chunk else lengths[i]
            if chunk and longest * (len(chunk) + 1) > self.token_budget:
                yield chunk
                chunk = []
            chunk.append(i)
        if chunk:
            yield chunk

    def _oom_safe(self, run, items: list):
        """``run(items)``; on out-of-memory, halve the batch (and the budget) and go on."""
        try:
            return run(items)
        except RuntimeError as exc:  # torch.OutOfMemoryError is a RuntimeError
            if "out of memory" not in str(exc).lower():
                raise
            _free_cuda()
            if len(items) == 1:
                raise BackendError(f"out of memory on the smallest batch ({_describe(items[0])})") from exc
            self.token_budget = max(1, self.token_budget // 2)
            half = len(items) // 2
            return self._oom_safe(run, items[:half]) + self._oom_safe(run, items[half:])

    # ---------------------------------------------------------------- generation
    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Constrained generation, batched per (constraint, max_tokens, temperature, seed).
        A request that cannot be prepared, or whose constrained answer is cut off at
        ``max_tokens``, gets a result with ``error``; the others are served as usual."""
        out: list = [attempt(r, self._prepare_generation, _unservable()) for r in requests]
        for group in _group(requests).values():
            live = [i for i in group if isinstance(out[i], _Gen)]
            if not live:
                continue
            items = [out[i] for i in live]
            run = partial(self._generate_batch, index=self._constraint_index(items[0].request.constraint))
            order = sorted(range(len(live)), key=lambda k: len(items[k].prompt))
            lengths = [len(it.prompt) + it.max_new for it in items]
            for chunk in self._micro_batches(order, lengths):
                for k, gen in zip(chunk, self._oom_safe(run, [items[k] for k in chunk])):
                    out[live[k]] = gen
        return out

    def _prepare_generation(self, request: GenerateRequest) -> "_Gen":
        max_new = _max_new_tokens(request)
        prompt, truncated = self.prompt_ids(request.messages, max(1, self.prompt_limit(max_new)))
        return _Gen(request, prompt, truncated, max_new)

    def _generate_batch(self, items: list["_Gen"], index=None) -> list[Generation]:
        """One micro-batch under the constraint whose outlines_core ``index`` is given (None: text)."""
        import torch

        req = items[0].request
        ids, mask, _ = self._left_pad([it.prompt for it in items])
        processor = self._processor(index)
        sampling = {"do_sample": True, "temperature": float(req.temperature), "top_k": 0} if req.temperature > 0 else {"do_sample": False}
        if req.temperature > 0:
            torch.manual_seed(int(req.seed))
        with torch.inference_mode():
            seqs = self.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=items[0].max_new,
                logits_processor=[processor] if processor is not None else None,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id,
                top_p=None, **sampling,
            )
        return [self._decode(it, row, index) for it, row in zip(items, seqs[:, ids.shape[1]:].tolist())]

    def _decode(self, item: "_Gen", new_ids: list[int], index=None) -> Generation:
        """The answer up to end-of-sequence; a constrained answer that stopped at ``max_new``
        tokens before its automaton accepted is flagged as cut off."""
        eos = self.tokenizer.eos_token_id
        n = new_ids.index(eos) + 1 if eos in new_ids else len(new_ids)
        text = self.tokenizer.decode(new_ids[:n], skip_special_tokens=True)
        cut = index is not None and eos not in new_ids and not _accepts(index, new_ids)
        return Generation(text, tokens_in=len(item.prompt), tokens_out=n, truncated=item.truncated,
                          error=cut_off(item.max_new) if cut else None)

    def _constraint_index(self, constraint: dict):
        """The outlines_core index of ``constraint`` (None for free text); compiled once."""
        regex = constraint_regex(constraint or {"type": "text"})
        return None if regex is None else self.indexes.get(regex)

    @staticmethod
    def _processor(index):
        """A fresh outlines_core logits processor over ``index`` (None for text)."""
        if index is None:
            return None
        from outlines.backends.outlines_core import OutlinesCoreLogitsProcessor

        return OutlinesCoreLogitsProcessor(index, "torch")

    @property
    def indexes(self) -> IndexCache:
        """The compiled-constraint cache for this model's vocabulary."""
        if self._indexes is None:
            self._indexes = self._make_index_cache()
        return self._indexes

    def _make_index_cache(self) -> IndexCache:
        import outlines
        from outlines.backends.outlines_core import OutlinesCoreBackend

        tok, model = self._load()
        vocabulary = OutlinesCoreBackend(outlines.from_transformers(model, tok)).vocabulary
        vocab_id = constraint_key({"model": self.name.rsplit(":", 1)[0], "vocab": len(tok)})
        directory = models_dir().parent / "constraints" if self._constraint_cache else None
        return IndexCache(vocabulary, vocab_id, directory)


@dataclass
class _Gen:
    request: GenerateRequest
    prompt: list[int]
    truncated: bool
    max_new: int


def _max_new_tokens(request: GenerateRequest) -> int:
    c = request.constraint or {}
    if c.get("type", "text") == "text" and c.get("max_tokens"):
        return max(1, min(int(c["max_tokens"]), int(request.max_tokens)))
    return max(1, int(request.max_tokens))


def _group(requests: list[GenerateRequest]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(requests):
        key = json.dumps([constraint_key(r.constraint or {"type": "text"}), _max_new_tokens(r),
                          float(r.temperature), int(r.seed) if r.temperature > 0 else 0])
        groups.setdefault(key, []).append(i)
    return groups


def _cache_keyword(model) -> str:
    """The KV-cache argument (and output field) of the model's forward: ``cache`` from
    transformers 5.24 on (``past_key_values`` is deprecated there), ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.base_model.forward).parameters else "past_key_values"


def _control_tokens(tokenizer) -> set[str]:
    """The strings ``tokenizer`` reads as control tokens: every added token (Qwen's ``<think>`` and
    ``<tool_call>`` are not marked special, and are single tokens all the same) and its named
    special tokens."""
    return {t.content for t in _added(tokenizer)} | set(tokenizer.all_special_tokens)


def _unsplit_tokens(tokenizer) -> set[str]:
    """The added tokens that ``split_special_tokens`` does not split (those not marked special), but
    for one-character ones: such a character has no other spelling."""
    return {t.content for t in _added(tokenizer) if not getattr(t, "special", False) and len(t.content) > 1}


def _added(tokenizer) -> list:
    """The tokenizer's added tokens, but for runs of whitespace (CodeGen's and Phi-2's indentation
    tokens are added, not special): they are how the model reads indentation, never a control."""
    added = (getattr(tokenizer, "added_tokens_decoder", None) or {}).values()
    return [t for t in added if t.content.strip()]


def _cut_spellings(text: str, pattern: "re.Pattern") -> list[str]:
    """``text`` in pieces none of which holds a whole match of ``pattern``: each match is cut after
    its first character (the leftmost match first, so no piece holds an earlier one)."""
    pieces, start = [], 0
    while (found := pattern.search(text, start)) is not None:
        pieces.append(text[start:found.start() + 1])
        start = found.start() + 1
    return pieces + [text[start:]]


def _unservable() -> tuple:
    """Exceptions that fail one request, not the call: ours, and what a chat template or a
    tokenizer raises on a prompt it refuses (BackendError and out-of-memory stay call-wide)."""
    from jinja2 import TemplateError

    return (RequestError, TemplateError, ValueError, TypeError)


def _merge(prepared: list, served: list, kind: type) -> list:
    """``prepared`` with each item of type ``kind`` replaced by its result, in order."""
    results = iter(served)
    return [next(results) if isinstance(p, kind) else p for p in prepared]


def _accepts(index, ids: list[int]) -> bool:
    """Whether the constraint automaton ends in an accepting state after ``ids``."""
    state = index.get_initial_state()
    for token in ids:
        state = index.get_next_state(state, token)
        if state is None:
            return False
    return index.is_final_state(state)


def _extensions(options: list[list[int]]) -> list[list[int]]:
    """For each option, the distinct next tokens of the other options it is a proper prefix of."""
    out = []
    for a in options:
        nxt = {b[len(a)] for b in options if len(b) > len(a) and b[: len(a)] == a}
        out.append(sorted(nxt))
    return out


def _cut(ids: list[int], n: int, policy: str) -> list[int]:
    if policy == "left":
        return ids[n:]
    if policy == "right":
        return ids[: len(ids) - n]
    head = (len(ids) - n) // 2
    return ids[:head] + ids[head + n:]


def _describe(item) -> str:
    if isinstance(item, tuple):  # a prefix group
        return f"{len(item[1])} requests sharing a {item[0]}-token prefix"
    return f"one request of {len(item.prompt)} tokens"


def _free_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
