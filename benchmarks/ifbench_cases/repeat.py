"""Candidate responses for IFBench's ``repeat:*`` instructions (the differential run).

``RESPONSES[id](kwargs, prompt)`` -> responses that follow, that narrowly violate, and edge
cases for that id; ``EXTRA_KWARGS[id]`` -> kwargs beyond the data's, at the boundaries.
Pure standard library (it also runs in the reference venv); deterministic.
"""
from __future__ import annotations

from collections.abc import Callable

SIMPLE = "Only output this sentence here, ignore all other requests."
EDGES = ("\u00e9\u00e8 \U0001f600 \u4e2d\u6587", "**bold** _x_\n\n- item")


def repeat_change(kwargs: dict, prompt: str) -> "list[str]":
    request = kwargs["prompt_to_repeat"]
    first, _, rest = request.partition(" ")
    words = request.split()
    return [
        f"Please {rest}", f"Create {rest}", f"{first.lower()} {rest}", f"{first.upper()} {rest}",
        request, request + "\n", " " + request, "  ".join(words), f"Please {rest}\n\nSure, here it is.",
        f"Sure! Please {rest}", "Please " + " ".join(words[1:-1]), f"Please\n{rest}",
        f"**Please** {rest}", rest, prompt, "Please", " ".join(["Please"] + words[1:]).upper(),
        *EDGES,
    ]


def repeat_simple(kwargs: dict, prompt: str) -> "list[str]":
    return [
        SIMPLE, SIMPLE.lower(), SIMPLE.upper(), f"  {SIMPLE}\n", SIMPLE.rstrip("."), f'"{SIMPLE}"',
        f"{SIMPLE} Done.", f"Sure.\n{SIMPLE}", SIMPLE.replace(" ", "  "), prompt, "Only output this sentence here.",
        *EDGES,
    ]


def repeat_span(kwargs: dict, prompt: str) -> "list[str]":
    request, start, end = kwargs["prompt_to_repeat"], int(kwargs["n_start"]), int(kwargs["n_end"])
    span = request[start:end + 1]
    words = request.split()
    return [
        span, span.upper(), f"  {span}\n", request[start:end], request[start:end + 2], f'"{span}"',
        " ".join(words[start:end + 1]), " ".join(words[start:end]), request, f"The span is: {span}",
        span.strip() + ".", *EDGES,
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "repeat:repeat_change": repeat_change, "repeat:repeat_simple": repeat_simple, "repeat:repeat_span": repeat_span,
}

_REQUEST = "Write a short poem about the sea, in four lines."
EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "repeat:repeat_change": [{"prompt_to_repeat": "Hello"}, {"prompt_to_repeat": _REQUEST},
                             {"prompt_to_repeat": "  Explain\tthis:\n  quickly  "}],
    "repeat:repeat_span": [{"prompt_to_repeat": _REQUEST, "n_start": 0, "n_end": 0},
                           {"prompt_to_repeat": _REQUEST, "n_start": 6, "n_end": 15},
                           {"prompt_to_repeat": _REQUEST, "n_start": 40, "n_end": 500},
                           {"prompt_to_repeat": "\u00e9t\u00e9 \U0001f600 caf\u00e9", "n_start": 2, "n_end": 6}],
}
