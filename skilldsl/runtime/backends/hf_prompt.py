"""Prompts of the transformers backend: chat template, text-only encoding, truncation, options.

:class:`PromptEncoding` turns chat messages into token ids whose message content is only ever
text (``base.TextOnlyChat`` over the tokenizer's control tokens, see ``docs/internals.md``), cuts a
prompt that does not fit by the ``truncate`` policy (the longest message's content first, so the
chat template stays intact), and gives each option's answer tokens. It is a mixin of
:class:`~skilldsl.runtime.backends.hf.TransformersBackend`, which provides ``tokenizer``, ``model``,
``truncate``, ``max_prompt_tokens``, ``_max_context``, ``_option_cache`` and ``_chat``.
"""
from __future__ import annotations

import re

from .base import GenerateRequest, RequestError, SentPrompt, TextOnlyChat, any_of

__all__ = ["PromptEncoding", "TRUNCATE_POLICIES"]

TRUNCATE_POLICIES = ("middle", "left", "right")
_ELLIPSIS = " [...] "


class PromptEncoding:
    """Messages -> prompt ids within the context; option texts -> answer ids."""

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

    def sent_prompt(self, request) -> SentPrompt:
        """The prompt the model is fed for ``request`` (``base.sent_prompt``): prepared by the code that
        serves it (its chat template, its room for the answer, its truncation), decoded."""
        if isinstance(request, GenerateRequest):
            prepare = self._prepare_generation
        elif request.think:
            prepare = getattr(self, "_prepare_thought", None)
            if prepare is None:
                raise RequestError(f"reasoning not supported by backend {self.name}")
        else:
            prepare = self._prepare_choice
        item = prepare(request)
        return SentPrompt(self.tokenizer.decode(item.prompt), len(item.prompt), bool(item.truncated))

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


def _cut(ids: list[int], n: int, policy: str) -> list[int]:
    if policy == "left":
        return ids[n:]
    if policy == "right":
        return ids[: len(ids) - n]
    head = (len(ids) - n) // 2
    return ids[:head] + ids[head + n:]
