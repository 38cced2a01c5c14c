"""Find requests that share a long common token prefix (pure Python, no torch).

Pairs asked in both orders, candidates of one prompt and checklist items share the system
message, rubric and request; with ``TransformersBackend(prefix_reuse=True)`` (off by default)
the backend runs such a prefix once and extends its KV cache with each request's own suffix.
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

    Prompts are sorted so that sharers are adjacent, and the sorted list is cut wherever the
    common prefix of two neighbours is below ``min_shared``, or below ``keep`` times the one
    on either side: so the two orders of a pair (sharing rubric *and* request) stay a pair
    rather than a whole wave collapsing into one group around the shared rubric alone.

    Returns ``(groups, singles)``: each group is ``(prefix_len, indices)`` with two or more
    members, ``prefix_len`` shorter than every member (each keeps a non-empty suffix, whose
    last position gives the next-token distribution); ``singles`` are the rest.
    """
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    links = [min(common_prefix(prompts[a], prompts[b]), len(prompts[a]) - 1, len(prompts[b]) - 1)
             for a, b in zip(order, order[1:])]
    groups: list[tuple[int, list[int]]] = []
    singles: list[int] = []
    run = order[:1]
    for k, link in enumerate(links):
        near = max(links[k - 1] if k else 0, links[k + 1] if k + 1 < len(links) else 0)
        if link >= min_shared and link >= keep * near:
            run.append(order[k + 1])
            continue
        _close(run, prompts, groups, singles)
        run = [order[k + 1]]
    _close(run, prompts, groups, singles)
    return groups, singles


def _close(run: list[int], prompts, groups, singles) -> None:
    if len(run) < 2:
        singles.extend(run)
        return
    shared = min(min(common_prefix(prompts[run[0]], prompts[i]) for i in run[1:]),
                 min(len(prompts[i]) for i in run) - 1)
    groups.append((shared, run))
