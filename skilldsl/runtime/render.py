"""Prompt rendering: IR jinja2 templates -> chat messages, in the environment the checker used.

The environment, its sandbox and its limits are the IR's (:mod:`skilldsl.ir.templates`): a
template the checker accepted renders here under the same rules, and one written by hand into a
``.skillc`` is refused by the same rules. A missing variable, a refused construct or a rendering
that would pass the size limits is a :class:`RenderError`, which the evidence turns into an
``error`` value for that row: never an empty string or a half-built prompt in a judge's input.
"""
from __future__ import annotations

from typing import Any

__all__ = ["RenderError", "render_messages", "render_text"]


class RenderError(Exception):
    """A template failed to render (undefined variable, refused construct, size limit, bad syntax)."""


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render one template; any jinja failure becomes :class:`RenderError` with its message."""
    from ..ir import templates  # jinja2 is imported once a prompt is actually rendered

    try:
        return templates.render(source, context)
    except Exception as exc:  # jinja raises many types: undefined, security, syntax, limits
        raise RenderError(f"template: {type(exc).__name__}: {exc}") from exc


def render_messages(prompt: dict[str, str], context: dict[str, Any]) -> tuple[dict, ...]:
    """The chat messages of an ``ask``: an optional system message, then the user message."""
    messages = []
    for role in ("system", "user"):
        source = prompt.get(role)
        if source:
            messages.append({"role": role, "content": render_text(source, context)})
    return tuple(messages)
