"""Per-item results as a JSON-lines checkpoint, so an interrupted eval resumes.

The first line is a header naming the skill's reward id and the settings that change
results; each following line is one item record, appended and flushed as soon as its batch
finishes. A resumed run with the same header skips the ids already written.

Resuming trusts nothing in the file: a last line cut by the interruption (no newline after
it) is dropped and its item redone; anything else that is not a well-formed record (a damaged
header, a line that is not JSON or not UTF-8, a record without an id, with an unknown status or
a second record for one id) refuses the resume with the line and the fix, a one-line
:class:`EvalError`, never a crash or a silently miscounted summary.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

from .formats.jsonrows import RowError, read_lines
from .items import KINDS, EvalError

__all__ = ["Checkpoint", "STATUSES"]

STATUSES = ("ok", "na", "error")  # what a record's status can be (see eval/judge.py)
_FIX = "delete it or run without --resume (its items are then evaluated again)"


class Checkpoint:
    """An append-only JSONL file of item records under a header."""

    def __init__(self, path, header: dict):
        self.path = Path(path)
        self.header = header
        self.records: list = []

    def open(self, resume: bool) -> list:
        """Start the file (fresh) or, with ``resume``, load the records of a matching one."""
        if resume and self.path.exists():
            self.records = self._load()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"header": self.header}) + "\n", encoding="utf-8")
        return self.records

    def _load(self) -> list:
        data = self.path.read_bytes()
        rows = list(read_lines(io.BytesIO(data)))  # JSON lines, never guessed to be an array
        if rows and not data.endswith(b"\n") and isinstance(rows[-1][1], RowError):
            rows.pop()  # the line the interruption cut: that item is simply redone
        if not rows or rows[0][0] != 1:
            self._refuse(1, "no header line")
        head = self._header(*rows[0])
        if head != self.header:
            raise EvalError(f"{self.path}: checkpoint was written with {head}, not {self.header}; "
                            "remove it or run without --resume")
        records, seen = [], {}
        for number, record in rows[1:]:
            self._check(number, record, seen)
            records.append(record)
        self._rewrite(records)
        return records

    def _header(self, number: int, row) -> dict:
        if isinstance(row, RowError):
            self._refuse(number, str(row))
        if not isinstance(row, dict) or not isinstance(row.get("header"), dict):
            self._refuse(number, 'the first line is not a {"header": {...}} object')
        return row["header"]

    def _check(self, number: int, record, seen: dict) -> None:
        """Refuse a record the summary could not count as what it says it is."""
        if isinstance(record, RowError):
            self._refuse(number, str(record))
        if not isinstance(record, dict):
            self._refuse(number, f"a record must be an object, not {type(record).__name__}")
        if not isinstance(record.get("id"), str):
            self._refuse(number, "the record has no item id")
        if record.get("status") not in STATUSES:
            self._refuse(number, f"unknown status {record.get('status')!r} (one of {', '.join(STATUSES)})")
        if record.get("kind") not in KINDS or not isinstance(record.get("subset"), str):
            self._refuse(number, "the record has no valid kind and subset")
        value = record.get("value")
        if value is not None and not isinstance(value, (int, float)):
            self._refuse(number, f"the record's value {value!r} is not a number")
        if record["id"] in seen:
            self._refuse(number, f"a second record for item {record['id']!r} (first on line {seen[record['id']]})")
        seen[record["id"]] = number

    def _refuse(self, number: int, why: str) -> None:
        raise EvalError(f"{self.path}:{number}: not a usable checkpoint: {why}; {_FIX}")

    def _rewrite(self, records: list) -> None:
        # drop a torn last line so appends start on a clean line
        rows = [json.dumps({"header": self.header})] + [json.dumps(r) for r in records]
        self.path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def done(self) -> set:
        """Ids of the items already recorded."""
        return {r["id"] for r in self.records}

    def append(self, records: list) -> None:
        """Record finished items (flushed at once: the point is surviving a kill)."""
        with self.path.open("a", encoding="utf-8") as out:
            for record in records:
                out.write(json.dumps(record) + "\n")
        self.records += records
