"""Rows of JSON text, read so that one bad row never costs another.

Every command that reads rows (``score``, ``explain --sample``, ``rank``, ``eval``, ``convert``,
``eval --resume``'s checkpoint) reads them through here, with one set of rules:

- a file is decoded line by line (a JSON array element by element): an invalid UTF-8 byte
  errs its own row, named by its line, never the whole file;
- a UTF-8 byte-order mark at the start of a line (or file) is ignored;
- a row larger than :data:`MAX_ROW_BYTES` (the row itself: not its line ending, BOM or the
  indentation around an array element), or nested deeper than :data:`~skilldsl.data.MAX_DEPTH`
  lists/objects, is an error of that row (a deep row would otherwise reach Python's recursion
  limit and end the run);
- blank lines are not rows.

A bad row comes back as a :class:`RowError` in place of its value, so callers report it with
their own location (``line 7``, ``data.jsonl:7``) and go on.
"""
from __future__ import annotations

import bisect
import io
import json
import re
from typing import Any, BinaryIO, Iterator

from ...data import MAX_DEPTH, deeper_than

__all__ = ["RowError", "MAX_ROW_BYTES", "BOM", "parse_row", "read_lines", "read_document"]

MAX_ROW_BYTES = 64 << 20  # 64 MiB: far above any sample a model can read, still bounded in memory
BOM = b"\xef\xbb\xbf"
_JSON_SPACE = " \t\r\n"


class RowError(ValueError):
    """Why one row cannot be read; the message has no location (the caller adds it)."""


def parse_row(data: "bytes | str") -> Any:
    """The JSON value of one row, or :class:`RowError` saying why there is none."""
    data = _without_bom(data)
    if len(data) > MAX_ROW_BYTES:
        raise RowError(_too_large())
    text = _decode(data) if isinstance(data, bytes) else data
    try:
        value = json.loads(text)
    except RecursionError:
        raise RowError(_too_deep()) from None
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno} of the row, column {exc.colno}"
        raise RowError(f"invalid JSON: {exc.msg} at {where}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise RowError(f"invalid JSON: {exc}") from None
    if deeper_than(value):
        raise RowError(_too_deep())
    return value


def _without_bom(data: "bytes | str") -> "bytes | str":
    """``data`` without a leading UTF-8 byte-order mark (the one place a BOM is dropped)."""
    bom = BOM if isinstance(data, bytes) else "\ufeff"
    return data[len(bom):] if data.startswith(bom) else data


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(f"not valid UTF-8: byte 0x{data[exc.start]:02x} at byte {exc.start + 1} of the row") from None


def _too_large() -> str:
    limit = MAX_ROW_BYTES
    return f"the row is larger than {limit >> 20} MiB" if limit % (1 << 20) == 0 else \
        f"the row is larger than {limit} bytes"


def _too_deep() -> str:
    return f"the row is nested deeper than {MAX_DEPTH} levels"


def read_lines(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """``(line number, value or RowError)`` for every non-blank line of the binary ``stream``."""
    number = 0
    most = len(BOM) + MAX_ROW_BYTES + len(b"\r\n")  # the longest line a row that fits can take
    while True:
        line = stream.readline(most)
        if not line:
            return
        number += 1
        if len(line) == most and not line.endswith(b"\n"):  # longer still: its row is too large
            _skip_rest_of_line(stream)
            yield number, RowError(_too_large())
            continue
        row = line[:-1] if line.endswith(b"\n") else line
        row = row[:-1] if row.endswith(b"\r") else row
        if not _without_bom(row).strip():
            continue
        try:
            yield number, parse_row(row)
        except RowError as exc:
            yield number, exc


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while True:
        chunk = stream.readline(1 << 20)
        if not chunk or chunk.endswith(b"\n"):
            return


def read_document(data: bytes) -> list:
    """The rows of a whole file: ``(number, value or RowError)``, numbered by line for JSON
    lines and by element (1-based) for a file that is one JSON array."""
    body = _without_bom(data)
    if body.lstrip()[:1] != b"[":
        return list(read_lines(io.BytesIO(data)))
    rows, doubtful = _array_rows(body)
    if not doubtful:
        return rows
    # an array never closed, or with a `]` before its end, is a damaged array file -- or JSON
    # lines whose first rows are lists: keep the reading that loses fewer rows
    lines = list(read_lines(io.BytesIO(data)))
    return rows if _good(rows) >= _good(lines) else lines


def _good(rows: list) -> int:
    return sum(not isinstance(value, RowError) for _, value in rows)


# A JSON string (closed or running to the end of the text) or one structural character.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{},]', re.DOTALL)
_BLANK_TO_END = re.compile(r"[ \t\r\n]*\Z")
_NOT_BLANK = re.compile(r"[^ \t\r\n]")


def _array_rows(body: bytes) -> tuple[list, bool]:
    """The elements of a top-level JSON array, each parsed on its own, and whether the array
    is doubtful: never closed, or holding a ``]`` at its top level before its last one.

    Elements are found by a scan that only counts brackets outside strings, so an element
    that is malformed, nested too deep or holds a bad byte errs alone (bad bytes are decoded
    as surrogates, then refused by the element's own UTF-8 check). A top-level ``]`` with more
    than blanks after it is a stray: part of the element it stands in, which then errs."""
    text = body.decode("utf-8", "surrogateescape")
    lines = _Lines(text)
    start = text.index("[") + 1
    rows, depth, stray = [], 0, -1  # stray: where the last stray `]` is
    for match in _TOKEN.finditer(text, start):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}") and depth:
            depth -= 1
        elif token == "]" and not _BLANK_TO_END.match(text, match.end()):
            stray = match.start()
        elif token in (",", "]") and depth == 0:
            _add_element(rows, text, start, match.start(), lines, last=token == "]")
            start = match.end()
            if token == "]":
                return rows, stray >= 0
    # no closing bracket: a cut file, whose last element may be cut too (even if it parses)
    rows.append((len(rows) + 1, RowError(_unclosed(lines, start, stray))))
    return rows, True


def _unclosed(lines: "_Lines", start: int, stray: int) -> str:
    if stray >= start:  # the array's `]` came, then more text
        return f"text after the array's closing ']' on line {lines.at(stray)} (this element starts on line " \
               f"{lines.at(start)})"
    return f"the array is not closed: the file ends inside this element (starting on line {lines.at(start)}); " \
           "is it truncated?"


def _add_element(rows: list, text: str, start: int, end: int, lines: "_Lines", last: bool) -> None:
    element = text[start:end].strip(_JSON_SPACE)
    if not element and last and not rows:
        return  # ``[]``
    try:
        value = parse_row(element.encode("utf-8", "surrogateescape"))
    except RowError as exc:
        value = RowError(f"{exc} (element starting on line {lines.at(start)})")
    rows.append((len(rows) + 1, value))


class _Lines:
    """Line numbers in one text, by bisection over its newline offsets (found once, when first
    needed): an array with many bad elements names each one's line in linear time."""

    def __init__(self, text: str):
        self._text = text
        self._newlines: "list[int] | None" = None

    def at(self, start: int) -> int:
        """The line of the first non-blank character at or after ``start``."""
        found = _NOT_BLANK.search(self._text, start)
        first = found.start() if found else start
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self._text)]
        return bisect.bisect_left(self._newlines, first) + 1
