"""Generic edge responses every IFBench id gets in the differential run, whatever its family.

``edges(base)`` -> ``(name, response)`` pairs; ``base`` is a family's first candidate for the
case (usually one that follows) so the wrapped variants test that markdown, a chatty first or
last line, or sheer length, change the verdict exactly as they change the official one.
"""
from __future__ import annotations

__all__ = ["LONG_CHARS", "edges"]

LONG_CHARS = 60_000
_UNICODE = (
    "\u00dcn\u00efc\u00f6d\u00e9 \u2014 \u201cquoted\u201d \u2018single\u2019 \u2026 "
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002 \U0001f600\U0001f44d\U0001f3fd "
    "\u00bd \u2103 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u200b\u00a0end."
)
_LOREM = "The quick brown fox jumps over the lazy dog, and then it rests. "


def _long(base: str) -> str:
    unit = (base.strip() or _LOREM) + "\n"
    return unit * max(2, LONG_CHARS // len(unit))


def edges(base: str) -> "list[tuple[str, str]]":
    """The generic edge cases built around ``base``."""
    out = [
        ("edge:empty", ""),
        ("edge:whitespace", " \n\t \n"),
        ("edge:unicode", _UNICODE),
        ("edge:unicode+base", _UNICODE + "\n" + base if base else _UNICODE + " " + _LOREM),
        ("edge:long", _long(base)),
    ]
    if base.strip():
        out += [
            ("edge:md-fence", "```\n" + base + "\n```"),
            ("edge:md-bold", "**" + base + "**"),
            ("edge:md-heading", "# Answer\n\n" + base),
            ("edge:chatty", "Sure! Here is my response:\n" + base + "\nI hope this helps!"),
        ]
    return out
