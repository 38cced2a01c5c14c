"""Choice scoring of the transformers backend, with shared-prefix KV reuse.

``choice_logprobs`` never samples: the chat-templated prompt goes through the model once and
the next-token log-softmax at the last position gives each single-token option's log-prob.
Multi-token options are scored by extending the prompt's KV cache with each continuation in
one extra batched forward (the prompt is never recomputed). When one option's tokens are a
prefix of another's (``"1"`` and ``"10"``), the shorter one is scored as "``1`` not followed
by ``0``": log p(1) + log(1 - p(0 | 1)), so the options partition the answer mass exactly as
their first tokens do, and ``"10"`` never leaks into ``"1"``. On bf16/fp16 the final projection
and log-softmax run in fp32 (one position per row), so probabilities carry no bf16 rounding.

Requests of a wave sharing ``min_shared_prefix`` leading tokens (``prefix.prefix_groups``) run
that prefix once, batch of one; its KV cache (:class:`_Prefix`, up to ``_PREFIXES_KEPT`` kept for
later waves) is broadcast under each micro-batch, which runs only its suffixes.

:class:`ChoiceScoring` is a mixin of :class:`~skilldsl.runtime.backends.hf.TransformersBackend`
(which provides ``model``, ``tokenizer``, ``device``, ``_kv``, ``_head_w``, ``_head_b``, the
prompt methods of :class:`~.hf_prompt.PromptEncoding` and the batching of :class:`~.hf_batch.MicroBatching`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

from .base import ChoiceRequest, ChoiceResult, RequestError, attempt, check_options, served_apart
from .hf_batch import unservable
from .prefix import prefix_groups

__all__ = ["ChoiceScoring"]


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


class ChoiceScoring:
    """``choice_logprobs``: one forward per micro-batch, prefixes shared across requests."""

    def choice_logprobs(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        """Log-probability of each option as the whole answer, one forward per micro-batch
        (requests with ``think`` > 0: after the judge's reasoning, ``hf_reason``)."""
        if not requests:
            return []
        if any(r.think for r in requests):
            return served_apart(requests, lambda r: r.think > 0, self._reasoned_choices, self.choice_logprobs)
        prepared = [attempt(r, self._prepare_choice, unservable()) for r in requests]
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


def _merge(prepared: list, served: list, kind: type) -> list:
    """``prepared`` with each item of type ``kind`` replaced by its result, in order."""
    results = iter(served)
    return [next(results) if isinstance(p, kind) else p for p in prepared]


def _extensions(options: list[list[int]]) -> list[list[int]]:
    """For each option, the distinct next tokens of the other options it is a proper prefix of."""
    out = []
    for a in options:
        nxt = {b[len(a)] for b in options if len(b) > len(a) and b[: len(a)] == a}
        out.append(sorted(nxt))
    return out
