"""Find requests that share a long common token prefix (pure Python, no torch).

The requests of one judge share its system message, rubric and request header; with
``TransformersBackend(prefix_reuse=True)`` (the default) the backend runs such a prefix once
and every request of the group extends its KV cache with its own suffix.
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


def prefix_groups(prompts: list[list[int]], min_shared: int) -> tuple[list[tuple[int, list[int]]], list[int]]:
    """Group prompt indices sharing at least ``min_shared`` leading tokens.

    Prompts are sorted so that sharers are adjacent, and the sorted list is cut wherever two
    neighbours share fewer than ``min_shared`` tokens. Returns ``(groups, singles)``: each group
    is ``(prefix_len, indices)`` with two or more members, ``prefix_len`` (what all members
    share) shorter than every member, so each keeps a non-empty suffix whose last position
    gives the next-token distribution; ``singles`` are the rest.
    """
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    groups: list[tuple[int, list[int]]] = []
    singles: list[int] = []
    run = order[:1]
    for a, b in zip(order, order[1:]):
        if min(common_prefix(prompts[a], prompts[b]), len(prompts[a]) - 1, len(prompts[b]) - 1) >= min_shared:
            run.append(b)
            continue
        _close(run, prompts, groups, singles)
        run = [b]
    _close(run, prompts, groups, singles)
    return groups, singles


def _close(run: list[int], prompts, groups, singles) -> None:
    if len(run) < 2:
        singles.extend(run)
        return
    shared = min(min(common_prefix(prompts[run[0]], prompts[i]) for i in run[1:]),
                 min(len(prompts[i]) for i in run) - 1)
    groups.append((shared, run))
