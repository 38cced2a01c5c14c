"""Per-item results as a JSON-lines checkpoint, so an interrupted eval resumes.

The first line is a header naming the skill's reward id and the settings that change
results; each following line is one item record, appended and flushed as soon as its batch
finishes. A resumed run with the same header skips the ids already written.
"""
from __future__ import annotations

import json
from pathlib import Path

from .items import EvalError

__all__ = ["Checkpoint"]


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
        lines = self.path.read_text(encoding="utf-8").splitlines()
        head = json.loads(lines[0]).get("header") if lines else None
        if head != self.header:
            raise EvalError(f"{self.path}: checkpoint was written with {head}, not {self.header}; "
                            "remove it or run without --resume")
        records = []
        for line in lines[1:]:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by the interruption: that item is simply redone
        self._rewrite(records)
        return records

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
