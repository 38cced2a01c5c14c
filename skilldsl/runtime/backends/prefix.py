"""Find requests that share a long common token prefix (pure Python, no torch).

Pairs asked in both orders, candidates of one prompt and checklist items share the system
message, rubric and request; the backend runs such a prefix once and extends its KV cache
with each request's own suffix.
"""
from __future__ import annotations

__all__ = ["prefix_groups", "common_prefix"]


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def prefix_groups(prompts: list[list[int]], min_shared: int, keep: float = 0.75
                  ) -> tuple[list[tuple[int, list[int]]], list[int]]:
    """Group prompt indices sharing at least ``min_shared`` leading tokens.

    Prompts are sorted so that sharers are adjacent; a group grows while its common prefix
    stays at least ``min_shared`` tokens and at least ``keep`` times what the group shared
    before (so the two orders of a pair stay a pair, rather than every prompt of a wave
    collapsing into one group around the shared rubric alone).

    Returns ``(groups, singles)``: each group is ``(prefix_len, indices)`` with two or more
    members, ``prefix_len`` shorter than every member (each keeps a non-empty suffix, whose
    last position gives the next-token distribution); ``singles`` are the rest.
    """
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    groups: list[tuple[int, list[int]]] = []
    singles: list[int] = []
    run: list[int] = []
    shared = 0
    for i in order + [None]:  # type: ignore[list-item]
        if i is not None and run:
            n = min(shared, common_prefix(prompts[run[0]], prompts[i]), len(prompts[i]) - 1)
            if n >= min_shared and (len(run) == 1 or n >= keep * shared):
                run, shared = run + [i], n
                continue
        if len(run) > 1:
            groups.append((shared, run))
        else:
            singles.extend(run)
        run = [i] if i is not None else []
        shared = len(prompts[i]) - 1 if i is not None else 0
    return groups, singles
