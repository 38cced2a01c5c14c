"""Rows of JSON text, read so that one bad row never costs another.

Every command that reads rows (``score``, ``explain --sample``, ``rank``, ``eval``, ``convert``,
``eval --resume``'s checkpoint) reads them through here, with one set of rules:

- a file is decoded line by line (a JSON array element by element): an invalid UTF-8 byte
  errs its own row, named by its line, never the whole file;
- a UTF-8 byte-order mark at the start of a line (or file) is ignored;
- a row larger than :data:`MAX_ROW_BYTES`, or nested deeper than
  :data:`~skilldsl.runtime.inputs.MAX_DEPTH` lists/objects, is an error of that row (a deep
  row would otherwise reach Python's recursion limit and end the run);
- blank lines are not rows.

A bad row comes back as a :class:`RowError` in place of its value, so callers report it with
their own location (``line 7``, ``data.jsonl:7``) and go on.
"""
from __future__ import annotations

import io
import json
import re
from typing import Any, BinaryIO, Iterator

from ...runtime.inputs import MAX_DEPTH, deeper_than

__all__ = ["RowError", "MAX_ROW_BYTES", "parse_row", "read_lines", "read_document"]

MAX_ROW_BYTES = 64 << 20  # 64 MiB: far above any sample a model can read, still bounded in memory
BOM = b"\xef\xbb\xbf"


class RowError(ValueError):
    """Why one row cannot be read; the message has no location (the caller adds it)."""


def parse_row(data: "bytes | str") -> Any:
    """The JSON value of one row, or :class:`RowError` saying why there is none."""
    if len(data) > MAX_ROW_BYTES:
        raise RowError(_too_large())
    text = _decode(data) if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        text = text[1:]
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
    while True:
        data = stream.readline(MAX_ROW_BYTES + 1)
        if not data:
            return
        number += 1
        if len(data) > MAX_ROW_BYTES and not data.endswith(b"\n"):
            _skip_rest_of_line(stream)
            yield number, RowError(_too_large())
            continue
        data = data.rstrip(b"\r\n")
        if data.startswith(BOM):
            data = data[len(BOM):]
        if not data.strip():
            continue
        try:
            yield number, parse_row(data)
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
    body = data[len(BOM):] if data.startswith(BOM) else data
    rows = _array_rows(body) if body.lstrip()[:1] == b"[" else None
    if rows is not None and not (rows and isinstance(rows[-1][1], _Unclosed)):
        return rows
    lines = list(read_lines(io.BytesIO(data)))
    # an array never closed is a cut array file, or JSON lines whose first row is a cut list:
    # keep the reading that loses fewer rows
    return rows if rows is not None and _good(rows) >= _good(lines) else lines


def _good(rows: list) -> int:
    return sum(not isinstance(value, RowError) for _, value in rows)


class _Unclosed(RowError):
    """The last element of an array the file ends inside."""


# A JSON string (closed or running to the end of the text) or one structural character.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{},]', re.DOTALL)


def _array_rows(body: bytes) -> "list | None":
    """The elements of a top-level JSON array, each parsed on its own; None when the text is
    not one array (JSON lines whose first row is a list).

    Elements are found by a scan that only counts brackets outside strings, so an element
    that is malformed, nested too deep or holds a bad byte errs alone (bad bytes are decoded
    as surrogates, then refused by the element's own UTF-8 check)."""
    text = body.decode("utf-8", "surrogateescape")
    start = text.index("[") + 1
    rows, depth = [], 0
    for match in _TOKEN.finditer(text, start):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
        elif token in ("]", "}") and depth:
            depth -= 1
        elif token in (",", "]") and depth == 0:
            _add_element(rows, text, start, match.start(), last=token == "]")
            start = match.end()
            if token == "]":
                return rows if not text[start:].strip() else None
    # no closing bracket: a cut file, whose last element may be cut too (even if it parses)
    rows.append((len(rows) + 1, _Unclosed(f"the array is not closed: the file ends inside this element "
                                          f"(starting on line {_line_at(text, start)}); is it truncated?")))
    return rows


def _add_element(rows: list, text: str, start: int, end: int, last: bool) -> None:
    element = text[start:end]
    if not element.strip() and last and not rows:
        return  # ``[]``
    try:
        value = parse_row(element.encode("utf-8", "surrogateescape"))
    except RowError as exc:
        value = RowError(f"{exc} (element starting on line {_line_at(text, start)})")
    rows.append((len(rows) + 1, value))


def _line_at(text: str, start: int) -> int:
    """The line of the first non-blank character at or after ``start``."""
    first = len(text) - len(text[start:].lstrip()) if text[start:].strip() else start
    return text.count("\n", 0, first) + 1
