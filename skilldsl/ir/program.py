"""The compiled skill (``skilldsl-ir/1``): canonical bytes, reward id, save and load."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "Program", "canonical_json", "compute_reward_id"]

FORMAT = "skilldsl-ir/1"
# Fields that describe a skill but do not change the reward it computes.
_NOT_HASHED = ("reward_id", "about", "source")


def canonical_json(doc: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def compute_reward_id(doc: dict) -> str:
    """``sha256:<hex>`` over everything in the IR that can change a reward."""
    hashed = {k: v for k, v in doc.items() if k not in _NOT_HASHED}
    return "sha256:" + hashlib.sha256(canonical_json(hashed)).hexdigest()


@dataclass(frozen=True)
class Program:
    """A compiled skill: a validated IR document with its reward id."""

    doc: dict

    @classmethod
    def from_doc(cls, doc: dict) -> "Program":
        """Wrap an IR document, filling in the reward id."""
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document (format={doc.get('format')!r})")
        doc = dict(doc)
        doc["reward_id"] = compute_reward_id(doc)
        return cls(doc)

    # -- accessors the runtime uses -------------------------------------------------
    @property
    def name(self) -> str:
        return self.doc["skill"]

    @property
    def mode(self) -> str:
        return self.doc["mode"]

    @property
    def reward_id(self) -> str:
        return self.doc["reward_id"]

    @property
    def inputs(self) -> dict:
        return self.doc["inputs"]

    @property
    def evidence(self) -> dict:
        return self.doc["evidence"]

    @property
    def reward(self) -> dict:
        return self.doc["reward"]

    @property
    def plan(self) -> dict:
        return self.doc["plan"]

    def to_bytes(self) -> bytes:
        """The ``.skillc`` bytes: canonical JSON plus a trailing newline."""
        return canonical_json(self.doc) + b"\n"

    def save(self, path: "str | Path") -> Path:
        """Write the ``.skillc`` file; a directory gets ``<skill>.skillc`` inside it."""
        path = Path(path)
        if path.is_dir():
            path = path / f"{self.name}.skillc"
        path.write_bytes(self.to_bytes())
        return path

    @classmethod
    def load(cls, path: "str | Path") -> "Program":
        """Read a ``.skillc`` file, checking its format and that its reward id matches its content."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file")
        if doc.get("reward_id") != compute_reward_id(doc):
            raise ValueError(f"{path}: reward id does not match the content (file edited after build?)")
        return cls(doc)
