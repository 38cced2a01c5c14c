"""Reasoning before a verdict (``ChoiceRequest.think`` > 0) in the transformers backend.

Per request, in one assistant turn: the chat-templated prompt (cut as for any choice, leaving room
for the budget), up to ``think`` tokens the judge writes, then :data:`~.base.REASONING_LEAD` (tokens
this code appends), and each option scored as a continuation right after the lead, exactly as
``hf_choice`` scores options after a prompt (multi-token options on the same KV cache).

Compute: one prefill per distinct prompt (the ``samples`` of one prompt share it; their rows get
copies of its KV cache), on the shared-prefix cache of ``hf_choice`` where prompts share
``min_shared_prefix`` tokens; then one decoding loop per micro-batch, one token per row a step, each
row extending its own prompt's cache; the lead and the options extend it again. The prompt is
never encoded twice.

What the judge writes cannot move the read point: every control token but the end of turn is masked
out of every step (the end of turn ends the text and is dropped, so the lead stays in the same
turn), the text stops at the budget, and the lead is appended after the last written token by this
code. A text that spells the lead, a verdict or a control token's characters is text before the
lead; the verdict is read after the lead, wherever the text says otherwise.

Sampling: greedy at temperature 0; else each row draws from its own ``torch.Generator`` seeded with
the request's ``seed``, so a row's text does not depend on the rows batched with it (beyond the float
noise of padding). :class:`ReasonedChoice` is a mixin of :class:`~.hf.TransformersBackend`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from .base import REASONING_LEAD, ChoiceRequest, ChoiceResult, RequestError, attempt, check_options
from .hf_batch import unservable
from .hf_choice import _Choice, _extensions, _merge
from .hf_prompt import _control_tokens
from .prefix import prefix_groups

__all__ = ["ReasonedChoice"]


@dataclass
class _Thought(_Choice):
    """A prepared reasoning request: a choice whose options are read after the lead."""

    think: int = 0
    temperature: float = 0.0
    seed: int = 0


@dataclass
class _Prompt:
    """One distinct prompt and the thoughts (indices) that share its prefill."""

    prompt: list[int]
    members: list[int]


class ReasonedChoice:
    """``_reasoned_choices``: choice requests with a reasoning phase (see the module doc)."""

    def _reasoned_choices(self, requests: list[ChoiceRequest]) -> list[ChoiceResult]:
        prepared = [attempt(r, self._prepare_thought, unservable()) for r in requests]
        thoughts = [p for p in prepared if isinstance(p, _Thought)]
        out: list = [None] * len(thoughts)
        prompts = _distinct_prompts(thoughts)
        groups, singles = prefix_groups([p.prompt for p in prompts], self.min_shared_prefix) \
            if self.prefix_reuse else ([], list(range(len(prompts))))
        for shared, members in groups + ([(0, singles)] if singles else []):
            prefix = self._shared_prefix(prompts[members[0]].prompt[:shared])
            run = partial(self._think_batch, thoughts=thoughts, shared=prefix)
            cost = {i: len(prompts[i].members) * (len(prompts[i].prompt) - shared + self._room(prompts[i], thoughts))
                    for i in members}
            for chunk in self._micro_batches(sorted(members, key=lambda i: len(prompts[i].prompt)), cost):
                batch = [prompts[i] for i in chunk]
                for p, results in zip(batch, self._oom_safe(run, batch)):
                    for k, res in zip(p.members, results):
                        out[k] = res
        return _merge(prepared, out, _Thought)

    @staticmethod
    def _room(prompt: _Prompt, thoughts: list) -> int:
        """Tokens a prompt's rows add after it: the longest budget, the lead and an answer."""
        return max(thoughts[k].think + 16 for k in prompt.members)

    # ---------------------------------------------------------------- preparing
    def _prepare_thought(self, request: ChoiceRequest) -> _Thought:
        check_options(request.options, lambda o: len(self.lead_option_ids(o)))
        options = [self.lead_option_ids(str(o)) for o in request.options]
        after = request.think + len(self.lead_ids) + max(len(o) for o in options) + 1
        if self.max_context - after < 1:
            raise RequestError(f"think={request.think} leaves no room for the prompt in a context of "
                               f"{self.max_context} tokens")
        prompt, truncated = self.prompt_ids(request.messages, self.prompt_limit(after))
        return _Thought(prompt, options, truncated, _extensions(options), int(request.think),
                        float(request.temperature), int(request.seed))

    @property
    def lead_ids(self) -> list[int]:
        """The lead's tokens, as text."""
        return self._plain(REASONING_LEAD)

    def lead_option_ids(self, option: str) -> list[int]:
        """Token ids of ``option`` as the model would write it right after the lead."""
        key = (REASONING_LEAD, option)
        if key not in self._option_cache:
            lead, full = self.lead_ids, self._plain(REASONING_LEAD + option)
            self._option_cache[key] = full[len(lead):] if full[:len(lead)] == lead else self._plain(option)
        return self._option_cache[key]

    # ---------------------------------------------------------------- one micro-batch
    def _think_batch(self, prompts: list[_Prompt], thoughts: list, shared=None) -> list[list[ChoiceResult]]:
        """Prefill each prompt once, reason on a copy of its cache per member, read the verdicts."""
        import torch

        skip = shared.length if shared else 0
        ids, mask, pos = self._left_pad([p.prompt[skip:] for p in prompts])
        cache = None
        if shared:
            mask = torch.cat([mask.new_ones(len(prompts), skip), mask], dim=1)
            pos, cache = pos + skip, shared.cache(len(prompts), self.model.config)
            self.reused_tokens += skip * len(prompts)
        rows = [thoughts[k] for p in prompts for k in p.members]
        with torch.inference_mode():
            out = self.model.base_model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True,
                                        **{self._kv: cache})
            sel = torch.tensor([i for i, p in enumerate(prompts) for _ in p.members], device=self.device)
            cache = getattr(out, self._kv)
            cache.reorder_cache(sel)  # one copy of its prompt's cache per row
            state = _State(cache, mask[sel], pos[sel, -1] + 1, out.last_hidden_state[sel, -1])
            written = self._write(rows, state)
            scores = self._read_verdicts(rows, state)
        results = iter(self._thought_result(t, s, w) for t, s, w in zip(rows, scores, written))
        return [[next(results) for _ in p.members] for p in prompts]

    def _write(self, rows: list[_Thought], state: "_State") -> list[list[int]]:
        """Each row's reasoning: at most ``think`` tokens, no control token, ended early by the end of turn."""
        import torch

        blocked, ends = self._reasoning_masks()
        blocked = torch.tensor(blocked, dtype=torch.long, device=self.device)  # once, not per step
        written: list[list[int]] = [[] for _ in rows]
        active = [t.think > 0 for t in rows]
        draws = [_generator(t, self.device) for t in rows]
        while any(active):
            logp = self._logsoftmax(state.last)
            logp[:, blocked] = float("-inf")
            feed = []
            for b, t in enumerate(rows):
                tok = _pick(logp[b], t.temperature, draws[b]) if active[b] else None
                if tok is not None and tok in ends:
                    tok, active[b] = None, False
                if tok is not None:
                    written[b].append(tok)
                    active[b] = len(written[b]) < t.think
                feed.append(tok)
            if all(tok is None for tok in feed):
                break
            pad = self.tokenizer.pad_token_id
            fed = torch.tensor([[tok is not None] for tok in feed], device=self.device, dtype=state.mask.dtype)
            state.extend(self, torch.tensor([[pad if tok is None else tok] for tok in feed], device=self.device), fed)
        return written

    def _read_verdicts(self, rows: list[_Thought], state: "_State") -> list[list[float]]:
        """The options' log-probs right after the lead, which every row gets after its own text."""
        import torch

        lead = torch.tensor([self.lead_ids] * len(rows), device=self.device)
        multi = any(t.feeds(j) for t in rows for j in range(len(t.options)))
        state.extend(self, lead, torch.ones_like(lead, dtype=state.mask.dtype))
        first = self._logsoftmax(state.last)
        scores = [[first[b, o[0]].item() for o in t.options] for b, t in enumerate(rows)]
        if multi:
            self._score_continuations(rows, scores, state.cache, state.mask, state.next_pos)
        return scores

    def _thought_result(self, thought: _Thought, scores: list[float], written: list[int]) -> ChoiceResult:
        fed = sum(len(thought.feeds(j)) for j in range(len(thought.options)))
        return ChoiceResult(tuple(scores), tokens_in=len(thought.prompt) + len(self.lead_ids),
                            tokens_out=len(written) + 1 + fed, truncated=thought.truncated,
                            reasoning=self.tokenizer.decode(written))

    def _reasoning_masks(self) -> tuple:
        """(ids the judge may not write, ids that end its text): every control token but the end of
        turn, and vocabulary rows the tokenizer has no token for."""
        tok = self.tokenizer
        ends = {tok.eos_token_id} | set(_as_list(getattr(self.model.generation_config, "eos_token_id", None)))
        ends.discard(None)
        control = {tok.convert_tokens_to_ids(s) for s in _control_tokens(tok)} | set(tok.all_special_ids)
        vocab = self._head_w.shape[0]
        blocked = sorted(i for i in control if isinstance(i, int) and 0 <= i < vocab and i not in ends)
        return blocked + list(range(len(tok), vocab)), ends


class _State:
    """The growing KV cache of a micro-batch's rows: its mask, next positions, last hidden state."""

    def __init__(self, cache, mask, next_pos, last):
        self.cache, self.mask, self.next_pos, self.last = cache, mask, next_pos, last

    def extend(self, backend, ids, fed) -> None:
        """Run ``ids`` ([rows, n]) after each row's tokens; ``fed`` ([rows, n], 0/1) masks out the
        positions of rows that wrote nothing this step."""
        import torch

        n = ids.shape[1]
        self.mask = torch.cat([self.mask, fed], dim=1)
        pos = self.next_pos[:, None] + torch.arange(n, device=ids.device)[None, :]
        out = backend.model.base_model(input_ids=ids, attention_mask=self.mask, position_ids=pos, use_cache=True,
                                       **{backend._kv: self.cache})
        self.cache = getattr(out, backend._kv)
        self.next_pos = self.next_pos + fed.sum(dim=1)
        self.last = out.last_hidden_state[:, -1]


def _distinct_prompts(thoughts: list[_Thought]) -> list[_Prompt]:
    """The distinct prompt ids of ``thoughts``, each with the thoughts that have it."""
    seen: dict[tuple, _Prompt] = {}
    for k, t in enumerate(thoughts):
        seen.setdefault(tuple(t.prompt), _Prompt(t.prompt, [])).members.append(k)
    return list(seen.values())


def _generator(thought: _Thought, device):
    """A row's own random stream (None when it decodes greedily)."""
    if thought.temperature <= 0:
        return None
    import torch

    return torch.Generator(device=device).manual_seed(int(thought.seed))


def _pick(logp, temperature: float, draw) -> int:
    """The next token: argmax at temperature 0, else a draw from ``draw`` at ``temperature``."""
    import torch

    if draw is None:
        return int(logp.argmax())
    return int(torch.multinomial((logp / temperature).softmax(-1), 1, generator=draw))


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]
