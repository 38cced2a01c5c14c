"""Prompt rendering: IR jinja2 templates -> chat messages, in a sandbox with strict undefineds.

Templates are compiled once per program (keyed by source). A missing variable is an error
value for the evidence, never an empty string in a judge's prompt.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["RenderError", "render_messages", "render_text"]


class RenderError(Exception):
    """A template failed to render (undefined variable, sandbox violation, bad syntax)."""


@lru_cache(maxsize=1)
def _environment():
    # imported here: jinja2 is only needed once a prompt is actually rendered
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=512)
def _template(source: str):
    return _environment().from_string(source)


def render_text(source: str, context: dict[str, Any]) -> str:
    """Render one template; any jinja failure becomes :class:`RenderError` with its message."""
    try:
        return _template(source).render(**context)
    except Exception as exc:  # jinja raises many types: undefined, security, syntax
        raise RenderError(f"template: {type(exc).__name__}: {exc}") from exc


def render_messages(prompt: dict[str, str], context: dict[str, Any]) -> tuple[dict, ...]:
    """The chat messages of an ``ask``: an optional system message, then the user message."""
    messages = []
    for role in ("system", "user"):
        source = prompt.get(role)
        if source:
            messages.append({"role": role, "content": render_text(source, context)})
    return tuple(messages)
