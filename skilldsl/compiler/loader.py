"""Load a ``.skill`` file: YAML with a source position for every key and value, then
JSON-Schema validation whose errors point at the offending key.

PyYAML's composer keeps marks on every node; we walk the node tree ourselves so that we
can (1) reject duplicate keys, which ``yaml.safe_load`` silently resolves to the last one,
(2) remember where each value starts, and (3) map a position inside a scalar (an expression
or a template) back to the ``.skill`` file, whatever the scalar's style.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Diagnostic, SkillError, Span

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


def _yaml_message(exc) -> str:
    problem = exc.problem or "syntax error"
    if "expected a single document" in str(exc.context or "") or "single document" in problem:
        return "a .skill file holds one YAML document; remove the '---' separator"
    if "found character '\\t'" in problem:
        return "invalid YAML: tabs cannot indent YAML; use spaces"
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
    errors = []
    for err in _validator().iter_errors(doc.data):
        errors.extend(_leaf_errors(err))
    if not errors:
        return
    diags = {}
    for err in errors:
        diag = _diagnostic(doc, err)
        diags.setdefault((diag.span, diag.message), diag)
    ordered = sorted(diags.values(), key=lambda d: (d.span.line, d.span.col, d.message))
    raise SkillError(ordered[:_MAX_ERRORS])


def _leaf_errors(err) -> list:
    """For anyOf/oneOf, the errors of the branch that fits the value's type best."""
    if err.validator not in ("anyOf", "oneOf") or not err.context:
        return [err]
    branches: dict[int, list] = {}
    for sub in err.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    chosen = _fitting(list(branches.values()), ("type", "enum")) or _fitting(list(branches.values()), ("type",))
    if chosen is None:
        return [err]
    return [leaf for sub in chosen for leaf in _leaf_errors(sub)]


def _fitting(branches: list, root_mismatch: tuple):
    """The first branch that did not reject the value outright (by type or enum at its root)."""
    for branch in branches:
        if not any(e.validator in root_mismatch and not e.relative_path for e in branch):
            return branch
    return None


_TYPE_WORDS = {"string": "text", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping (key: value)", "array": "a list", "null": "empty"}


def _where(path) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    return ".".join(parts).replace(".[", "[") or "the skill"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"text {value!r}" if len(value) < 40 else "text"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def _diagnostic(doc: Document, err) -> Diagnostic:
    path = tuple(err.absolute_path)
    handler = _HANDLERS.get(err.validator)
    if handler is not None:
        return handler(doc, err, path)
    return Diagnostic(doc.span(path), f"{_where(path)}: {err.message}")


def _unknown_key(doc: Document, err, path) -> Diagnostic:
    allowed = sorted(err.schema.get("properties", {}))
    extra = sorted(k for k in err.instance if k not in allowed)
    # `{answer: choice(yes, no)}`: a flow mapping's comma split the call, leaving the key `no)`
    split = [k for k in extra if ")" in k and "(" not in k]
    key = (split or extra or [""])[0]
    hint = '; inside { } a comma ends a value: quote it, as in answer: "choice(yes, no)"' if split \
        else did_you_mean(key, allowed)
    where = "at the top level" if not path else f"in {_where(path)}"
    return Diagnostic(doc.key_span(path + (key,)),
                      f"unknown key '{key}' {where}{hint} (allowed: {', '.join(allowed)})")


def _missing(doc: Document, err, path) -> Diagnostic:
    missing = [k for k in err.validator_value if k not in err.instance]
    where = "the skill" if not path else _where(path)
    span = doc.key_span(path) if path else Span(doc.file, 1, 1)
    return Diagnostic(span, f"{where} needs a '{missing[0]}' key")


def _wrong_type(doc: Document, err, path) -> Diagnostic:
    want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in want)
    return Diagnostic(doc.span(path), f"{_where(path)} must be {words}, not {_describe(err.instance)}")


def _bad_enum(doc: Document, err, path) -> Diagnostic:
    options = [str(o) for o in err.validator_value]
    hint = did_you_mean(str(err.instance), options)
    return Diagnostic(doc.span(path), f"{_where(path)} must be one of {', '.join(options)}; "
                      f"got {_describe(err.instance)}{hint}")


def _bad_pattern(doc: Document, err, path) -> Diagnostic:
    parent = doc.get(path)
    is_key = isinstance(parent, dict) and isinstance(err.instance, str) and err.instance in parent
    span = doc.key_span(path + (err.instance,)) if is_key else doc.span(path)
    return Diagnostic(span, f"{err.instance!r} is not a valid name: use letters, digits and _, "
                      "not starting with a digit")


def _bound(doc: Document, err, path) -> Diagnostic:
    words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
             "minLength": "at least", "minItems": "at least", "minProperties": "at least"}
    unit = {"minLength": " character(s) long", "minItems": " item(s)", "minProperties": " entry(ies)"}
    return Diagnostic(doc.span(path), f"{_where(path)} must be {words[err.validator]} "
                      f"{err.validator_value}{unit.get(err.validator, '')}")


def _no_branch(doc: Document, err, path) -> Diagnostic:
    kinds = [e.validator_value for e in err.context if e.validator == "type" and not e.relative_path]
    kinds = [k for v in kinds for k in (v if isinstance(v, list) else [v])]
    if not kinds:
        return Diagnostic(doc.span(path), f"{_where(path)}: {err.message}")
    words = " or ".join(dict.fromkeys(_TYPE_WORDS.get(k, k) for k in kinds))
    return Diagnostic(doc.span(path), f"{_where(path)} must be {words}, not {_describe(err.instance)}")


_HANDLERS = {
    "anyOf": _no_branch, "oneOf": _no_branch,
    "additionalProperties": _unknown_key,
    "required": _missing,
    "type": _wrong_type,
    "enum": _bad_enum,
    "pattern": _bad_pattern,
    "minimum": _bound, "maximum": _bound, "exclusiveMinimum": _bound,
    "minLength": _bound, "minItems": _bound, "minProperties": _bound,
}


def did_you_mean(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
