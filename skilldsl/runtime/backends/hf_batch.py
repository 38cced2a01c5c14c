"""Batching of the transformers backend: left padding, token-budget micro-batches, OOM halving.

A wave is length-sorted by the caller, left-padded here (explicit attention masks and position
ids), cut into micro-batches of at most ``token_budget`` tokens (longest row x rows), and a
micro-batch that runs out of memory is halved, the budget with it, until a batch of one fails
(then :class:`~.base.BackendError`). :class:`MicroBatching` is a mixin of
:class:`~skilldsl.runtime.backends.hf.TransformersBackend` (``tokenizer``, ``device``, ``token_budget``).
"""
from __future__ import annotations

from .base import BackendError, RequestError

__all__ = ["MicroBatching", "unservable"]


class MicroBatching:
    """Padding and micro-batching of the backend's waves."""

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


def unservable() -> tuple:
    """Exceptions that fail one request, not the call: ours, and what a chat template or a
    tokenizer raises on a prompt it refuses (BackendError and out-of-memory stay call-wide)."""
    from jinja2 import TemplateError

    return (RequestError, TemplateError, ValueError, TypeError)


def _describe(item) -> str:
    if isinstance(item, tuple):  # a prefix group
        return f"{len(item[1])} requests sharing a {item[0]}-token prefix"
    return f"one request of {len(item.prompt)} tokens"


def _free_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
