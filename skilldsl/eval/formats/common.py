"""The one row-validation path every reader shares.

A reader turns raw rows into :class:`EvalItem` through a ``convert(row, ref)`` function that
raises :class:`BadRow` for anything wrong with the row. :func:`collect` catches it, names the
row in the skip record, and rejects duplicate ids, so no reader can drop a row silently.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Callable, Iterable

from ...runtime.inputs import type_name
from ..items import EvalError, EvalItem, Skipped
from .jsonrows import RowError, read_document

__all__ = ["BadRow", "need", "text", "text_list", "reference", "choice", "collect", "read_rows", "read_numbered", "sniff_rows",
           "numbered", "unparsable"]


class BadRow(ValueError):
    """A row that cannot become an item; the message says why, in the data set's terms."""


def need(row: dict, *fields: str) -> None:
    """Raise :class:`BadRow` naming every field in ``fields`` missing from ``row``."""
    if not isinstance(row, dict):
        raise BadRow(f"row is a {type_name(row)}, not an object")
    unparsable(row)
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
    correct" (JudgeBench lists several letters for some MMLU-Pro questions). The list reaches
    the skill as it is; the runtime gives a ``text`` reference input given a list to the
    reference verifiers as alternatives (:class:`~skilldsl.verifiers.reference.AnyOf`)."""
    value = row.get(name)
    if isinstance(value, list):
        if not value or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            raise BadRow(f"field {name!r} should be text or a non-empty list of texts")
        answers = [text({name: v}, name) for v in value]
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
        rid = _row_id(row)
        try:
            item = convert(row, ref)
        except BadRow as exc:
            skipped.append(Skipped(ref, str(exc), rid))
            continue
        item_id = key(item)
        if item_id in seen:
            skipped.append(Skipped(ref, f"duplicate id {item_id!r} (first at {seen[item_id]})", item_id))
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


def read_numbered(path: Path) -> list:
    """``(row number, row)`` for the rows of a JSON array, JSON-lines (either one may be
    gzipped, ``.gz``) or (with pyarrow installed) Parquet file. JSON rows are numbered by line
    (JSON lines) or element (an array) and read one by one (:mod:`.jsonrows`): a row that cannot
    be read (bad JSON or UTF-8, too deep, too large) is an empty row carrying the reason, which
    the readers skip with it."""
    if path.suffix == ".parquet":
        return list(enumerate(_read_parquet(path), 1))
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return [(n, _Unparsable(str(row)) if isinstance(row, RowError) else row) for n, row in read_document(data)]


def read_rows(path: Path) -> list:
    """The rows of :func:`read_numbered`, without their numbers."""
    return [row for _, row in read_numbered(path)]


class _Unparsable(dict):
    """A row that could not be read; readers see an empty row and skip it with ``reason``."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


def _read_parquet(path: Path) -> list:
    try:
        import pyarrow.parquet as pq  # heavy and optional: only for Parquet files
    except ImportError:
        raise EvalError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow), "
                        "or convert the file to JSON lines") from None
    return pq.read_table(path).to_pylist()


def sniff_rows(path: Path) -> list:
    """The first few rows of a file, for format auto-detection (never raises)."""
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl"))
            return read_rows(files[0])[:5] if files else []
        return read_rows(path)[:5]
    except (OSError, EvalError, UnicodeDecodeError, ValueError):
        return []


def numbered(path: Path, rows: list) -> Iterable[tuple[str, dict]]:
    """``(ref, row)`` pairs naming each ``(number, row)`` of :func:`read_numbered` as ``file:number``."""
    for n, row in rows:
        ref = f"{path.name}:{n}"
        if isinstance(row, _Unparsable):
            yield ref, {"__unparsable__": row.reason}
        else:
            yield ref, row


def unparsable(row: dict) -> None:
    """Raise :class:`BadRow` for a JSON-lines row that did not parse."""
    if isinstance(row, dict) and "__unparsable__" in row:
        raise BadRow(row["__unparsable__"])
