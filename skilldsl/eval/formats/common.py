"""The one row-validation path every reader shares.

A reader turns raw rows into :class:`EvalItem` through a ``convert(row, ref)`` function that
raises :class:`BadRow` for anything wrong with the row. :func:`collect` catches it (and skips a
row that could not be read at all, a :class:`~.jsonrows.RowError`), names the row in the skip
record, and rejects duplicate ids, so no reader can drop a row silently.
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Callable, Iterable

from ...data import answer_texts, type_name
from ..items import EvalError, EvalItem, Skipped
from .jsonrows import RowError, read_document

__all__ = ["BadRow", "need", "text", "text_list", "reference", "choice", "collect", "read_rows", "read_numbered",
           "sniff_rows", "numbered", "skips_within"]


class BadRow(ValueError):
    """A row that cannot become an item; the message says why, in the data set's terms."""


def need(row: dict, *fields: str) -> None:
    """Raise :class:`BadRow` naming every field in ``fields`` missing from ``row``."""
    if not isinstance(row, dict):
        raise BadRow(f"row is a {type_name(row)}, not an object")
    missing = [f for f in fields if row.get(f) is None]
    if missing:
        raise BadRow("missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(map(repr, missing)))


def text(row: dict, name: str) -> str:
    """The field ``name`` as a string. JSON numbers and booleans become their text: some
    upstream files decoded a response such as ``True`` into a boolean (PandaLM rows 157-164)."""
    value = row.get(name)
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        raise BadRow(f"field {name!r} should be text, got {type_name(value)}")
    return value


def text_list(row: dict, name: str, size: "int | None" = None) -> list:
    """The field ``name`` as a non-empty list of strings (of exactly ``size`` items if given)."""
    value = row.get(name)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise BadRow(f"field {name!r} should be a non-empty list of text")
    if size is not None and len(value) != size:
        raise BadRow(f"field {name!r} should have {size} items, has {len(value)}")
    return value


def reference(row: dict, name: str):
    """The reference answer in field ``name``: text, or a list of texts meaning "any of these is
    correct" (JudgeBench lists several letters for some MMLU-Pro questions), read as the runtime
    reads it (:func:`~skilldsl.data.answer_texts`). The list reaches the skill as it is; the
    runtime gives it to a ``text`` reference input as :class:`~skilldsl.data.AnyOf`, and the
    runner skips an item whose list would reach any other text input."""
    value = row.get(name)
    if isinstance(value, list):
        answers = answer_texts(value)
        if answers is None:
            raise BadRow(f"field {name!r} should be text or a non-empty list of texts")
        return answers[0] if len(answers) == 1 else answers
    return text(row, name)


def choice(value, allowed: dict, name: str):
    """Map a label through ``allowed`` (keys compared as text); raise naming the allowed set."""
    key = str(value).strip() if value is not None else None
    if key not in allowed:
        options = ", ".join(repr(k) for k in allowed)
        raise BadRow(f"{name} {value!r} is not one of {options}")
    return allowed[key]


def collect(rows: Iterable[tuple[str, dict]], convert: Callable[[dict, str], EvalItem],
            key: Callable = lambda item: item.id):
    """Convert ``(ref, row)`` pairs; return ``(items, skipped)``. Duplicate ids are skipped.

    ``key`` reads an item's id (``EvalItem.id``; the sample converters give ``sample["id"]``).
    """
    items, skipped, seen = [], [], {}
    for ref, row in rows:
        try:
            if isinstance(row, RowError):  # the row could not be read
                raise BadRow(str(row))
            item = convert(row, ref)
        except BadRow as exc:
            skipped.append(Skipped(ref, str(exc), _row_id(row), len(items)))
            continue
        item_id = key(item)
        if item_id in seen:
            why = f"duplicate id {item_id!r} (first at {seen[item_id]})"
            skipped.append(Skipped(ref, why, item_id, len(items)))
            continue
        seen[item_id] = ref
        items.append(item)
    return items, skipped


def _row_id(row) -> "str | None":
    if not isinstance(row, dict):
        return None
    for key in ("id", "idx", "question_id"):
        if row.get(key) is not None:
            return str(row[key])
    return None


def skips_within(skipped: list, items_read: int) -> list:
    """The skipped rows a reader met before it made item number ``items_read`` (0-based): what
    a limit to the first ``items_read`` items read. Skips from elsewhere (no position) stay."""
    return [s for s in skipped if s.items_before is None or s.items_before < items_read]


def read_numbered(path: Path) -> list:
    """``(row number, row or RowError)`` for the rows of a JSON array, JSON-lines (either one
    may be gzipped, ``.gz``) or (with pyarrow installed) Parquet file. JSON rows are numbered by
    line (JSON lines) or element (an array) and read one by one (:mod:`.jsonrows`): a row that
    cannot be read (bad JSON or UTF-8, too deep, too large, cut off with a ``.gz`` file) is a
    :class:`RowError`, which :func:`collect` skips with its reason."""
    if path.suffix == ".parquet":
        return list(enumerate(_read_parquet(path), 1))
    if path.suffix != ".gz":
        return read_document(path.read_bytes())
    data, cut = _gunzip(path, path.read_bytes())
    rows = read_document(data)
    return _mark_cut(rows, data) if cut else rows


def read_rows(path: Path) -> list:
    """The rows of :func:`read_numbered`, without their numbers."""
    return [row for _, row in read_numbered(path)]


def _gunzip(path: Path, raw: bytes, size: "int | None" = None) -> "tuple[bytes, bool]":
    """The decompressed bytes of gzip data (every member; the first ``size`` bytes if given)
    and whether the data ends before its end-of-stream marker (a cut file). Corrupt data is a
    user error: it cannot be told which rows it spoiled."""
    parts, total = [], 0
    try:
        while raw.strip(b"\0") and (size is None or total < size):
            member = zlib.decompressobj(wbits=31)
            parts.append(member.decompress(raw, 0 if size is None else size - total))
            total += len(parts[-1])
            if size is None and not member.eof:
                return b"".join(parts), True
            raw = member.unused_data
    except zlib.error as exc:
        raise EvalError(f"{path}: cannot decompress: {exc}") from None
    return b"".join(parts), False


_CUT = "the compressed file is cut (it ends before its end-of-stream marker); the rest of it is lost"


def _mark_cut(rows: list, data: bytes) -> list:
    """The rows of a cut ``.gz`` file: its last row, which the cut may have cut short, errs (or,
    when the cut fell between rows, an error row after them says rows are missing)."""
    if rows and not data.endswith(b"\n"):
        return rows[:-1] + [(rows[-1][0], RowError(f"{_CUT} inside this row"))]
    return rows + [((rows[-1][0] if rows else 0) + 1, RowError(f"{_CUT} here"))]


def _read_parquet(path: Path) -> list:
    try:
        import pyarrow.parquet as pq  # heavy and optional: only for Parquet files
    except ImportError:
        raise EvalError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow), "
                        "or convert the file to JSON lines") from None
    return pq.read_table(path).to_pylist()


SNIFF_BYTES = 1 << 20  # enough for the first rows of any data set we know


def sniff_rows(path: Path) -> list:
    """The first few rows of a file, for format auto-detection (never raises). Only the file's
    first :data:`SNIFF_BYTES` are read when they hold whole rows."""
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl"))
            return _first_rows(files[0]) if files else []
        return _first_rows(path)
    except (OSError, EvalError, ValueError):
        return []


def _first_rows(path: Path, count: int = 5) -> list:
    if path.suffix == ".parquet":
        return read_rows(path)[:count]
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES + 1)
    whole = len(head) <= SNIFF_BYTES
    if path.suffix == ".gz":
        head, _ = _gunzip(path, head, SNIFF_BYTES + 1)
        whole = whole and len(head) <= SNIFF_BYTES
    rows = [row for _, row in read_document(head)]
    if not whole:
        rows = rows[:-1]  # the last one may be cut
    return rows[:count] if rows or whole else read_rows(path)[:count]


def numbered(path: Path, rows: list) -> Iterable[tuple[str, dict]]:
    """``(ref, row)`` pairs naming each ``(number, row)`` of :func:`read_numbered` as ``file:number``."""
    for n, row in rows:
        yield f"{path.name}:{n}", row
