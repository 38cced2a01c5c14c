"""The compiled skill (``skilldsl-ir/2``): canonical bytes, reward id, save and load."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import nesting_depth
from .verify import check_program

__all__ = ["FORMAT", "Program", "canonical_json", "canonical_numbers", "compute_reward_id", "schema_path",
           "validate_doc"]

FORMAT = "skilldsl-ir/2"
# Formats this runtime refuses with a reason (the same document would now compute another reward).
_RETIRED = {"skilldsl-ir/1": "it was built by skilldsl 0.1, whose first()/known() skipped errors; "
                             "rebuild it from its .skill with `skilldsl build`"}
# Fields that describe a skill but do not change the reward it computes (its tests included:
# `skilldsl test` reads them, no reward does).
_NOT_HASHED = ("reward_id", "about", "source", "tests")
# Numbers under these keys are always floats (as lowering has always written them); any other
# whole number is an int. Either way `5` and `5.0` give the same bytes and the same reward id.
_FLOAT_KEYS = frozenset({"temperature"})
_EXACT = 2 ** 53  # beyond this a float does not hold every whole number: leave it as written


def canonical_json(doc: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_numbers(value: Any, key: "str | None" = None) -> Any:
    """``value`` with every number in one canonical form: whole numbers as ints (``5.0`` -> ``5``),
    except temperatures, always floats (``0`` -> ``0.0``); bools and other floats unchanged."""
    if isinstance(value, dict):
        return {k: canonical_numbers(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_numbers(v, key) for v in value]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if key in _FLOAT_KEYS:
        return float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT:
        return int(value)
    return value


def compute_reward_id(doc: dict) -> str:
    """``sha256:<hex>`` over everything in the IR that can change a reward."""
    hashed = {k: v for k, v in doc.items() if k not in _NOT_HASHED}
    return "sha256:" + hashlib.sha256(canonical_json(hashed)).hexdigest()


def schema_path() -> Path:
    """The JSON Schema of the IR (``skilldsl/schema/ir.schema.json``)."""
    return Path(__file__).resolve().parent.parent / "schema" / "ir.schema.json"


@functools.lru_cache(maxsize=1)
def _validator():
    # imported here: `import skilldsl` stays light, and only reading a .skillc needs it
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_path().read_text(encoding="utf-8")))


def validate_doc(doc: Any) -> None:
    """Raise ``ValueError`` naming the first place where ``doc`` is not a well-formed IR
    document, so a malformed ``.skillc`` is refused on load, not as an internal error later."""
    from .schema_messages import problems

    found = problems(_validator(), doc, root="the top level")
    if found:
        raise ValueError(f"not a valid {FORMAT} program: {found[0].message}")


@dataclass(frozen=True)
class Program:
    """A compiled skill: a validated IR document with its reward id."""

    doc: dict

    @classmethod
    def from_doc(cls, doc: dict) -> "Program":
        """Wrap an IR document with its numbers made canonical, filling in the reward id."""
        if doc.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} document (format={doc.get('format')!r})")
        doc = canonical_numbers(doc)
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
        """Read a ``.skillc`` file, checking its format, its shape (``ir.schema.json``), that its
        reward id matches its content, and that it is a program the checker would accept
        (:func:`skilldsl.ir.verify.verify`); any problem is a ``ValueError`` that starts with ``path``."""
        doc = _read_json(path)
        try:
            _check_loaded(doc)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return cls(doc)


def _check_loaded(doc: Any) -> None:
    """Refuse a read document: another format, a wrong shape, a reward id that does not match, or a
    program the checker would not accept (a matching id proves nothing: anyone can compute one)."""
    found = doc.get("format") if isinstance(doc, dict) else None
    if not isinstance(found, str):  # a list or an object here is no format (and cannot be looked up)
        found = None
    if found in _RETIRED:
        raise ValueError(f"{found} is no longer run: {_RETIRED[found]}")
    if found != FORMAT:
        raise ValueError(f"not a {FORMAT} file")
    depth = nesting_depth(doc, MAX_NESTING)
    if depth > MAX_NESTING:
        raise ValueError(f"not a valid {FORMAT} program: nested too deeply ({depth} levels; a compiled skill "
                         f"has at most {MAX_NESTING}: expressions nest at most {MAX_EXPRESSION_DEPTH} deep)")
    with _recursion_room(depth):  # the schema's validator and the verifier recurse per level
        validate_doc(doc)
        if doc.get("reward_id") != compute_reward_id(doc):
            raise ValueError("reward id does not match the content (file edited after build?)")
        check_program(doc)


MAX_EXPRESSION_DEPTH = 200  # the compiler refuses a deeper expression
MAX_NESTING = 2 * MAX_EXPRESSION_DEPTH + 32  # JSON levels: an expression level is an object and its args list
_FRAMES_PER_LEVEL = 8  # Python frames the schema validator spends per JSON level (about 5, measured)
_ROOM = threading.Lock()


@contextlib.contextmanager
def _recursion_room(depth: int):
    """Raise the interpreter's recursion limit, while checking a document ``depth`` levels deep, to
    what checking it needs (never lower): a compiled skill's deepest expression is then checked,
    not refused as a RecursionError (or, with older jsonschema/rpds, a Rust panic)."""
    with _ROOM:
        before = sys.getrecursionlimit()
        sys.setrecursionlimit(max(before, 1000 + _FRAMES_PER_LEVEL * depth))
        try:
            yield
        finally:
            sys.setrecursionlimit(before)


def _read_json(path: "str | Path") -> Any:
    """The JSON in ``path``; a truncated or non-JSON file is a ``ValueError`` saying where."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"), object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc.msg}: line {exc.lineno} column {exc.colno}); "
                         "a .skillc is written by `skilldsl build`") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a valid {FORMAT} program: nested too deeply") from None
    except ValueError as exc:  # beyond JSON's grammar: a 5,000-digit integer, a key given twice
        raise ValueError(f"{path}: not JSON that can be read ({exc})") from None


def _unique_keys(pairs: list) -> dict:
    """An object whose keys are distinct: with a key given twice, what a reader of the file sees
    first is not what ``json.loads`` keeps (the last), so the file is refused."""
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} given twice in one object")
        seen[key] = value
    return seen
