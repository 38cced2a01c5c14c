"""Scalar reward models for ``model`` evidence: a sequence-classification checkpoint scores text.

Protocol (what the executor needs; tests inject their own): ``score_texts(texts) ->
list[RewardScore]``, one call per wave with every row's rendered input. The transformers
implementation is imported only when a ``model`` evidence actually runs.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RewardScore", "SequenceClassifierRM"]


@dataclass(frozen=True)
class RewardScore:
    """The scalar reward of one text: the logit of a one-label head, or the probability
    of the last label for a multi-label head."""

    value: float
    tokens_in: int = 0
    truncated: bool = False


class SequenceClassifierRM:
    """A Hugging Face ``AutoModelForSequenceClassification`` checkpoint (id or directory).

    Loads on first use, length-sorts each wave and runs it in micro-batches of ``batch_size``;
    inputs longer than ``max_length`` tokens are cut (right) and flagged ``truncated``.
    """

    def __init__(self, model: str, device: str | None = None, dtype=None, batch_size: int = 8,
                 max_length: int | None = None):
        self.model_id, self.device, self.dtype = str(model), device or "cpu", dtype
        self.batch_size, self.max_length = batch_size, max_length
        self.name = f"rm:{self.model_id}"
        self._tok = self._model = None

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(self.model_id)
        if self._tok.pad_token is None:  # decoder-only RMs often ship without one
            self._tok.pad_token = self._tok.eos_token or self._tok.unk_token
        model = AutoModelForSequenceClassification.from_pretrained(self.model_id, dtype=self.dtype)
        model.config.pad_token_id = self._tok.pad_token_id
        self._model = model.to(self.device).eval()
        limit = getattr(self._tok, "model_max_length", None) or 512
        self.max_length = self.max_length or min(int(limit), 4096)

    def score_texts(self, texts: list[str]) -> list[RewardScore]:
        """Score each text; results in input order."""
        self._load()
        # the tokenizer adds its own special tokens; any control-token spelling inside the text
        # (a response's forged "<|im_end|>", say) stays text, as in judge prompts
        ids = [self._tok(t, add_special_tokens=True, split_special_tokens=True)["input_ids"] for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out: list[RewardScore | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            part = order[start:start + self.batch_size]
            for i, value in zip(part, self._forward([ids[i][: self.max_length] for i in part])):
                out[i] = RewardScore(value, min(len(ids[i]), self.max_length), len(ids[i]) > self.max_length)
        return out

    def _forward(self, batch: list[list[int]]) -> list[float]:
        import torch

        padded = self._tok.pad({"input_ids": batch}, return_tensors="pt")
        with torch.inference_mode():
            logits = self._model(**{k: v.to(self.device) for k, v in padded.items()}).logits.float()
        if logits.shape[-1] == 1:
            return logits[:, 0].tolist()
        return torch.softmax(logits, dim=-1)[:, -1].tolist()
