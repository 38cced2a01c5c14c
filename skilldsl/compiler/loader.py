"""Load a ``.skill`` file: YAML with a source position for every key and value, then
JSON-Schema validation whose errors point at the offending key.

PyYAML's composer keeps marks on every node; we walk the node tree ourselves so that we
can (1) reject duplicate keys, which ``yaml.safe_load`` silently resolves to the last one,
(2) remember where each value starts, and (3) map a position inside a scalar (an expression
or a template) back to the ``.skill`` file, whatever the scalar's style.
"""
from __future__ import annotations

import bisect
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SkillError, Span
from ..ir.schema_messages import Problem, did_you_mean, problems

__all__ = ["Document", "load_document", "parse_document", "schema", "schema_path", "did_you_mean"]

Path_ = tuple  # a path into the document: keys and list indices
_MAX_NODES = 100_000  # alias expansion guard ("billion laughs")
_MAX_ERRORS = 20


@dataclass
class Document:
    """A loaded ``.skill``: plain data plus where each part of it came from."""

    file: str
    source: str
    data: Any
    value_spans: dict = field(default_factory=dict)   # path -> Span of the value
    key_spans: dict = field(default_factory=dict)     # path -> Span of the key naming it
    scalars: dict = field(default_factory=dict)       # path -> yaml ScalarNode

    def span(self, path: Path_) -> Span:
        """Where the value at ``path`` starts (the nearest enclosing value if unknown)."""
        path = tuple(path)
        while path and path not in self.value_spans:
            path = path[:-1]
        return self.value_spans.get(path, Span(self.file, 1, 1))

    def key_span(self, path: Path_) -> Span:
        """Where the key naming ``path`` is (its value's span if it has no key)."""
        return self.key_spans.get(tuple(path)) or self.span(path)

    def raw(self, path: Path_) -> str:
        """An expression's source text: the scalar as written (``1`` stays ``1``, not ``1.0``)."""
        node = self.scalars.get(tuple(path))
        return node.value if node is not None else str(self.get(path))

    def get(self, path: Path_, default: Any = None) -> Any:
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def where(self, path: Path_):
        """A map from (line, col) inside the scalar at ``path`` to (line, col) in the file."""
        node = self.scalars.get(tuple(path))
        if node is None:
            span = self.span(path)
            return lambda line, col: (span.line, span.col)
        return _ScalarMap(self.source, node)


# -- positions inside scalars ------------------------------------------------------------

class _ScalarMap:
    """Aligns a scalar's value with its text in the file, character by character.

    Works for plain, quoted, literal (``|``) and folded (``>``) scalars alike: each value
    character is matched to the next equal character of the raw text (any whitespace
    matches any whitespace, since folding turns newlines into spaces), so indentation,
    quotes and line breaks are skipped over.
    """

    def __init__(self, source: str, node):
        self.source = source
        self.lines = _line_starts(source)
        start = node.start_mark.index
        end = max(node.end_mark.index, start)
        if node.style in ("|", ">"):
            newline = source.find("\n", start, end)
            start = end if newline < 0 else newline + 1
        elif node.style in ('"', "'"):
            start += 1
        self.value = node.value
        self.offsets = _align(node.value, source, start, end)
        self.value_lines = _line_starts(node.value)

    def __call__(self, line: int, col: int) -> "tuple[int, int]":
        idx = self.value_lines[min(line, len(self.value_lines)) - 1] + col - 1
        idx = max(0, min(idx, len(self.offsets) - 1))
        raw = self.offsets[idx]
        row = bisect.bisect_right(self.lines, raw) - 1
        return row + 1, raw - self.lines[row] + 1


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
    return starts


def _align(value: str, source: str, start: int, end: int) -> list[int]:
    """Raw index of each value character (plus one past the end)."""
    out, pos = [], start
    for ch in value:
        probe = pos
        while probe < end and not _same(ch, source[probe]):
            probe += 1
        if probe < end:
            pos = probe
        out.append(pos)
        pos = min(pos + 1, max(end, start))
    out.append(pos)
    return out


def _same(a: str, b: str) -> bool:
    return a == b or (a.isspace() and b.isspace())


# -- reading -------------------------------------------------------------------------

def load_document(path: "str | Path") -> Document:
    """Read and validate a ``.skill`` file; every failure is a located :class:`SkillError`."""
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SkillError(Diagnostic(None, f"{file}: no such file")) from None
    except IsADirectoryError:
        raise SkillError(Diagnostic(None, f"{file}: is a directory, not a .skill file")) from None
    except OSError as exc:
        raise SkillError(Diagnostic(None, f"{file}: cannot read: {exc.strerror or exc}")) from None
    return parse_document(_decode(data, file), file)


def _decode(data: bytes, file: str) -> str:
    if b"\0" in data:
        raise SkillError(Diagnostic(Span(file, 1, 1), "this is a binary file, not a .skill (YAML) file", source_line=""))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SkillError(Diagnostic(Span(file, line, col), "the file is not valid UTF-8 text", source_line="")) from None
    return text[1:] if text.startswith("\ufeff") else text


def parse_document(text: str, file: str = "<skill>") -> Document:
    """Parse YAML text into a :class:`Document` and validate it against the skill schema."""
    if not text.strip():
        raise SkillError(Diagnostic(Span(file, 1, 1), "the skill file is empty", source_line=""))
    doc = Document(file, text, None)
    node = _compose(text, file)
    if node is None or _only_comments(node):
        raise SkillError(Diagnostic(Span(file, 1, 1), "the skill file is empty (only comments)", source_line=""))
    if not hasattr(node, "tag") or node.id != "mapping":
        raise SkillError(Diagnostic(_mark_span(file, node.start_mark),
                                    "a .skill file is one YAML mapping (skill:, mode:, inputs:, evidence:, reward: ...)"))
    doc.data = _Walker(doc).walk(node, (), 0)
    _validate(doc)
    return doc


def _only_comments(node) -> bool:
    return node.id == "scalar" and node.value == "" and node.tag.endswith(":null")


def _compose(text: str, file: str):
    import yaml

    loader = None
    try:
        loader = yaml.SafeLoader(text)
        return loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "end of stream" in (exc.problem or "") and exc.context_mark is not None:
            mark = exc.context_mark  # where the unclosed string starts, not past the last line
        raise SkillError(Diagnostic(_mark_span(file, mark), _yaml_message(exc))) from None
    except yaml.reader.ReaderError as exc:
        raise SkillError(Diagnostic(_offset_span(file, text, exc.position),
                                    f"control character U+{exc.character:04X} is not allowed in YAML")) from None
    except yaml.YAMLError as exc:
        raise SkillError(Diagnostic(Span(file, 1, 1), f"invalid YAML: {exc}")) from None
    finally:
        if loader is not None:
            loader.dispose()


def _offset_span(file: str, text: str, offset: int) -> Span:
    line = text.count("\n", 0, offset) + 1
    return Span(file, line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


# PyYAML's messages in the author's terms: (words in PyYAML's problem, our explanation).
_YAML_TERMS = (
    ("found character '\\t'", "tabs cannot indent YAML; use spaces"),
    ("expected <block end>", "this line does not line up with the lines around it: YAML nests by "
                             "indentation, so give keys of one mapping (or items of one list) the same indent"),
    ("did not find expected key", "this line does not line up with the keys above it: give keys of one "
                                  "mapping the same indent"),
    ("did not find expected '-' indicator", "this line does not line up with the list items above it: "
                                            "start every item of one list with '- ' at the same indent"),
    ("mapping values are not allowed here", "unexpected ':' here: a key must line up with the other keys "
                                            "of its mapping, and a value that contains ': ' needs quotes"),
    ("expected ',' or '}'", "a { ... } mapping is not closed, or a value in it needs quotes: close it "
                            "with '}' and quote values that contain ',', ':' or '{'"),
    ("expected ',' or ']'", "a [ ... ] list is not closed, or an item in it needs quotes: close it "
                            "with ']' and quote items that contain ',', ':' or '['"),
    ("found unexpected end of stream", "a quoted string is not closed: add the closing quote"),
    ("could not find expected ':'", "a key without ':', or a value over several lines: write 'key: value', "
                                    "and use a block scalar (key: |) for text over several lines"),
    ("found undefined alias", "an alias (*name) refers to no anchor (&name) above it"),
    ("cannot start any token", "a value cannot start with this character (@, `, %, ...): quote it"),
    ("found unknown escape character", "an unknown backslash escape in a double-quoted string: use single "
                                       "quotes, or write \\\\ for a backslash"),
)


def _yaml_message(exc) -> str:
    problem = exc.problem or "syntax error"
    if "expected a single document" in str(exc.context or "") or "single document" in problem:
        return "a .skill file holds one YAML document; remove the '---' separator"
    for words, explanation in _YAML_TERMS:
        if words in problem:
            return f"invalid YAML: {explanation}"
    context = f" ({exc.context})" if exc.context else ""
    return f"invalid YAML: {problem}{context}"


def _mark_span(file: str, mark) -> Span:
    if mark is None:
        return Span(file, 1, 1)
    return Span(file, mark.line + 1, mark.column + 1)


class _Walker:
    """Builds plain data from YAML nodes, recording spans and rejecting duplicates."""

    def __init__(self, doc: Document):
        import yaml

        self.doc = doc
        self.constructor = yaml.SafeLoader("")
        self.count = 0
        self.active: set[int] = set()

    def walk(self, node, path: tuple, depth: int) -> Any:
        self.count += 1
        if self.count > _MAX_NODES or depth > 200:
            raise SkillError(Diagnostic(self.span(node), "the document is too large or too deeply nested "
                                        "(expanded YAML aliases?)"))
        if id(node) in self.active:
            raise SkillError(Diagnostic(self.span(node), "recursive YAML alias: a value cannot contain itself"))
        self.doc.value_spans[path] = self.span(node)
        self.active.add(id(node))
        try:
            if node.id == "mapping":
                return self.mapping(node, path, depth)
            if node.id == "sequence":
                return [self.walk(child, path + (i,), depth + 1) for i, child in enumerate(node.value)]
            return self.scalar(node, path)
        finally:
            self.active.discard(id(node))

    def span(self, node) -> Span:
        start, end = node.start_mark, node.end_mark
        if end is not None and end.line == start.line:
            return Span(self.doc.file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)
        return _mark_span(self.doc.file, start)

    def mapping(self, node, path: tuple, depth: int) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key in out:
                first = self.doc.key_spans[path + (key,)]
                raise SkillError(Diagnostic(self.span(key_node), f"duplicate key '{key}' "
                                            f"(first defined at line {first.line}); each name must be unique"))
            self.doc.key_spans[path + (key,)] = self.span(key_node)
            out[key] = self.walk(value_node, path + (key,), depth + 1)
        return out

    def key(self, node) -> str:
        if node.id != "scalar":
            raise SkillError(Diagnostic(self.span(node), "a key must be a plain name, not a list or mapping"))
        if node.value == "<<" and node.tag.endswith(":merge"):
            raise SkillError(Diagnostic(self.span(node), "YAML merge keys (<<) are not supported in .skill files"))
        value = self.construct(node)
        if not isinstance(value, str):
            raise SkillError(Diagnostic(self.span(node), f"the key {node.value!r} is read by YAML as "
                                        f"{_kind(value)}; quote it to use it as a name"))
        return value

    def construct(self, node) -> Any:
        """A scalar's Python value; unknown tags (``!foo``) and bad values are located errors."""
        import yaml

        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise SkillError(Diagnostic(self.span(node), f"invalid YAML value: {problem}")) from None

    def scalar(self, node, path: tuple) -> Any:
        self.doc.scalars[path] = node
        value = self.construct(node)
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        return node.value  # dates, binary, nan/inf: keep the text; the schema decides


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


# -- schema ---------------------------------------------------------------------------

def schema_path() -> Path:
    """The JSON Schema for ``.skill`` files (also usable by editors)."""
    return Path(__file__).resolve().parent.parent / "schema" / "skill.schema.json"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    """The parsed skill schema."""
    return json.loads(schema_path().read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def _validate(doc: Document) -> None:
    found = problems(_validator(), doc.data)
    if found:
        raise SkillError([Diagnostic(_span(doc, p), p.message) for p in found[:_MAX_ERRORS]])


def _span(doc: Document, problem: Problem) -> Span:
    """Where a schema problem points: the offending key, the key of a mapping missing one, or the value."""
    parent = doc.get(problem.path)
    if problem.key is not None and isinstance(parent, dict) and problem.key in parent:
        return doc.key_span(problem.path + (problem.key,))
    if problem.at_key:
        return doc.key_span(problem.path) if problem.path else Span(doc.file, 1, 1)
    return doc.span(problem.path)
