"""Constrained generation of the transformers backend.

``generate`` decodes under regex / JSON-schema constraints with outlines_core token masks
(indexes compiled once, cached on disk: ``constraints.IndexCache``), greedy at temperature 0,
seeded sampling otherwise; requests are batched per (constraint, max_tokens, temperature, seed).

outlines is reached through its public API: ``outlines.from_transformers`` and
``outlines.backends.OutlinesCoreBackend`` (for the model's outlines_core vocabulary), and
``OutlinesCoreLogitsProcessor`` from ``outlines.backends.outlines_core``, the public module of that
backend. The backend's own ``get_regex_logits_processor(regex)`` would build a new ``Index`` on every
call; the processor class takes an ``Index``, so ours comes from the on-disk cache.

:class:`ConstrainedGeneration` is a mixin of :class:`~skilldsl.runtime.backends.hf.TransformersBackend`
(``model``, ``tokenizer``, ``name``, ``_load``, ``_constraint_cache``, ``_indexes``, the prompt
methods and the batching).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial

from .base import GenerateRequest, Generation, attempt, cut_off, describe, failed
from .constraints import IndexCache, constraint_key, constraint_regex
from .hf_batch import unservable
from .models import models_dir

__all__ = ["ConstrainedGeneration"]


class ConstrainedGeneration:
    """``generate`` under the request's answer constraint."""

    def generate(self, requests: list[GenerateRequest]) -> list[Generation]:
        """Constrained generation, batched per (constraint, max_tokens, temperature, seed).
        A request that cannot be prepared, or whose constrained answer is cut off at
        ``max_tokens``, gets a result with ``error``; the others are served as usual."""
        out: list = [attempt(r, self._prepare_generation, unservable()) for r in requests]
        for group in _group(requests).values():
            live = [i for i in group if isinstance(out[i], _Gen)]
            if not live:
                continue
            items = [out[i] for i in live]
            try:
                index = self._constraint_index(items[0].request.constraint)
            except unservable() as exc:  # a constraint the engine cannot build fails its own requests
                for i in live:
                    out[i] = failed(requests[i], describe(exc, "cannot build the answer constraint: "))
                continue
            run = partial(self._generate_batch, index=index)
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
        from outlines.backends import OutlinesCoreBackend

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


def _accepts(index, ids: list[int]) -> bool:
    """Whether the constraint automaton ends in an accepting state after ``ids``."""
    state = index.get_initial_state()
    for token in ids:
        state = index.get_next_state(state, token)
        if state is None:
            return False
    return index.is_final_state(state)
