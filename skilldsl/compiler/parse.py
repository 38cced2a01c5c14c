"""From a loaded, schema-valid document to the skill AST: expressions, templates, answers,
files and evidence kinds parsed, each with its position in the ``.skill`` file."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

from ..errors import Diagnostic, SkillError, Span
from .ast import EVIDENCE_KINDS, Answer, Evidence, File, Input, Model, Skill
from .expr import Call, Const, Name, Unary, parse_expr
from .loader import Document
from .report import Collector
from .templates import parse_template
from .tests_section import parse_tests
from .expand import parse_for

__all__ = ["build_skill", "DEFAULT_SETTINGS"]

DEFAULT_SETTINGS = {"retries": 1, "max_prompt_tokens": 2048, "truncate": "middle", "temperature": 0.0, "seed": 0}
_ANSWERS = ("choice", "score", "regex", "json", "text")
MAX_ANSWER_TOKENS = 32768  # regex(..., max_tokens=N), text(max_tokens=N): as the schema bounds an ask's max_tokens


def build_skill(doc: Document, base_dir: Path) -> Skill:
    """The :class:`Skill` a document describes; raises every independent error together."""
    out = Collector()
    data = doc.data
    inputs = {n: _input(doc, n) for n in data["inputs"]}
    files = {}
    for name in data.get("files") or {}:
        with out.guard():
            files[name] = _file(doc, name, base_dir)
    evidence = {}
    for name in data["evidence"]:
        with out.guard():
            evidence[name] = _evidence(doc, name, out)
    reward = None
    with out.guard():
        reward = _expr(doc, ("reward",))
    tests = parse_tests(doc, out)
    out.raise_errors()
    return Skill(
        name=data["skill"], mode=data["mode"], inputs=inputs, evidence=evidence, reward=reward,
        file=doc.file, version=data.get("version", 1), about=(data.get("about") or "").strip(),
        files=files, models=_models(doc), settings={**DEFAULT_SETTINGS, **(data.get("settings") or {})},
        candidates=data.get("candidates"), spans={k: doc.key_span((k,)) for k in data}, tests=tests,
    )


def _expr(doc: Document, path: tuple):
    return parse_expr(doc.raw(path), doc.file, doc.where(path))


def _input(doc: Document, name: str) -> Input:
    spec = doc.data["inputs"][name]
    if isinstance(spec, str):
        spec = {"type": spec}
    # `list` is shorthand for a list of text
    type_ = "list[text]" if spec["type"] == "list" else spec["type"]
    return Input(name, type_, bool(spec.get("optional", False)), spec.get("visibility", "visible"),
                 (spec.get("about") or "").strip(), doc.key_span(("inputs", name)))


def _file(doc: Document, name: str, base_dir: Path) -> File:
    rel = doc.data["files"][name]
    span = doc.span(("files", name))
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", rel):
        raise SkillError(Diagnostic(span, f"file '{name}': give a path relative to the .skill file, not {rel!r}"))
    path = base_dir / Path(*pure.parts)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SkillError(Diagnostic(span, f"file '{name}': {rel} does not exist (looked in {base_dir})")) from None
    except OSError as exc:
        raise SkillError(Diagnostic(span, f"file '{name}': cannot read {rel}: {exc.strerror or exc}")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillError(Diagnostic(span, f"file '{name}': {rel} is not UTF-8 text")) from None
    return File(name, pure.as_posix(), text, hashlib.sha256(data).hexdigest(), span)


def _models(doc: Document) -> dict:
    models = {"default": Model("default")}
    for alias, spec in (doc.data.get("models") or {}).items():
        models[alias] = Model(alias, spec.get("id"), spec.get("dtype"), spec.get("device"),
                              spec.get("max_context"), doc.key_span(("models", alias)), spec.get("backend"),
                              doc.span(("models", alias, "backend")))
    return models


# -- evidence ---------------------------------------------------------------------------

def _kind(doc: Document, name: str, spec: dict) -> str:
    given = [k for k in ("check", "ask", "run", "route") if k in spec]
    if not given and "model" in spec:
        given = ["model"]
    where = doc.key_span(("evidence", name))
    if "route" in given and "ask" in given:
        given.remove("ask")  # a route's `ask` is the prompt that picks the route
    if not given:
        raise SkillError(Diagnostic(where, f"evidence '{name}' needs one of: {', '.join(EVIDENCE_KINDS)}"))
    if len(given) > 1:
        second = doc.key_span(("evidence", name, given[1]))
        raise SkillError(Diagnostic(second, f"evidence '{name}' has both '{given[0]}' and '{given[1]}'; "
                                    f"give exactly one of {', '.join(EVIDENCE_KINDS)}"))
    return given[0]


# keys each kind accepts besides the common about/when/each
_KEYS = {
    "check": {"check"},
    "ask": {"ask", "answer", "samples", "swap", "model", "allow", "max_tokens", "temperature", "think"},
    "run": {"run", "uses", "timeout", "memory_mb", "on_failure"},
    "route": {"route", "ask", "model", "allow", "temperature"},
    "model": {"model", "input", "allow"},
}


def _evidence(doc: Document, name: str, out: Collector) -> Evidence:
    spec = doc.data["evidence"][name]
    kind = _kind(doc, name, spec)
    path = ("evidence", name)
    for key in spec:
        if key not in _KEYS[kind] | {"about", "when", "each", "for"}:
            out.error(doc.key_span(path + (key,)), f"'{key}' does not apply to {kind} evidence '{name}'")
    fields = dict(
        name=name, kind=kind, span=doc.key_span(path), about=(spec.get("about") or "").strip(),
        **_each_fields(doc, path, spec.get("each")),
        spans={k: doc.key_span(path + (k,)) for k in spec},
    )
    with out.guard():
        if "when" in spec:
            fields["when"] = _expr(doc, path + ("when",))
    with out.guard():
        fields.update(_KIND_FIELDS[kind](doc, path, spec))
    if "for" in spec:  # a template: expanded into plain evidence before the checker (expand.py)
        with out.guard():
            fields["instances"] = parse_for(doc, path)
    return Evidence(**fields)


def _each_fields(doc: Document, path: tuple, each) -> dict:
    """``each: <list input>`` (a name) or ``each: [a, b]`` (a tuple of names, with their spans)."""
    if each is None:
        return {}
    fields = {"each": each, "each_span": doc.span(path + ("each",))}
    if isinstance(each, list):
        fields["each"] = tuple(each)
        fields["each_item_spans"] = tuple(doc.span(path + ("each", i)) for i in range(len(each)))
    return fields


def _check_fields(doc: Document, path: tuple, spec: dict) -> dict:
    call = _expr(doc, path + ("check",))
    if not isinstance(call, Call) or "." not in call.func:
        raise SkillError(Diagnostic(call.span, "'check' takes a verifier call such as "
                                    "math.equivalent(response, reference) (see `skilldsl verifiers`)"))
    return {"check": call}


def _prompt(doc: Document, path: tuple) -> dict:
    prompt = {}
    for role in ("system", "user"):
        if role in doc.get(path, {}):
            prompt[role] = parse_template(doc.get(path + (role,)), doc.file, doc.where(path + (role,)))
    return prompt


def _ask_fields(doc: Document, path: tuple, spec: dict) -> dict:
    if "answer" not in spec:
        raise SkillError(Diagnostic(doc.key_span(path + ("ask",)), f"ask evidence '{path[-1]}' needs an "
                                    "'answer': choice(...), score(lo, hi), regex(\"...\"), json or text"))
    return dict(
        prompt=_prompt(doc, path + ("ask",)), answer=_answer(doc, path + ("answer",)),
        samples=spec.get("samples", 1), swap=spec.get("swap", False), model=spec.get("model", "default"),
        allow=tuple(spec.get("allow", ())), max_tokens=spec.get("max_tokens"),
        temperature=spec.get("temperature"), think=spec.get("think", 0),
    )


def _run_fields(doc: Document, path: tuple, spec: dict) -> dict:
    code = spec["run"]
    try:
        compile(code, f"<evidence {path[-1]}>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        line, col = doc.where(path + ("run",))(getattr(exc, "lineno", None) or 1, getattr(exc, "offset", None) or 1)
        raise SkillError(Diagnostic(Span(doc.file, line, col), f"python syntax error in run code: "
                                    f"{getattr(exc, 'msg', exc)}")) from None
    return dict(code=code, uses=tuple(spec.get("uses", ())), timeout=spec.get("timeout", 10),
                memory_mb=spec.get("memory_mb", 512), on_failure=spec.get("on_failure"))


def _route_fields(doc: Document, path: tuple, spec: dict) -> dict:
    if "ask" not in spec:
        raise SkillError(Diagnostic(doc.key_span(path + ("route",)), f"route '{path[-1]}' needs an 'ask' prompt "
                                    "that tells the judge how to pick"))
    options = tuple(spec["route"])
    return dict(options=options, prompt=_prompt(doc, path + ("ask",)), model=spec.get("model", "default"),
                allow=tuple(spec.get("allow", ())), temperature=spec.get("temperature"),
                answer=Answer("choice", options, span=doc.span(path + ("route",))))


def _model_fields(doc: Document, path: tuple, spec: dict) -> dict:
    if "input" not in spec:
        raise SkillError(Diagnostic(doc.key_span(path + ("model",)), f"model evidence '{path[-1]}' needs an "
                                    "'input' template: the text the reward model scores"))
    return dict(model=spec["model"], input=parse_template(spec["input"], doc.file, doc.where(path + ("input",))),
                allow=tuple(spec.get("allow", ())))


_KIND_FIELDS = {"check": _check_fields, "ask": _ask_fields, "run": _run_fields,
                "route": _route_fields, "model": _model_fields}


# -- answers -------------------------------------------------------------------------

def _answer(doc: Document, path: tuple) -> Answer:
    value = doc.get(path)
    span = doc.span(path)
    if isinstance(value, dict):
        return _json_answer(value["json"], span)
    expr = _expr(doc, path)
    if isinstance(expr, Name) and expr.id in ("text", "json"):
        return Answer("text", max_tokens=None, span=span) if expr.id == "text" else _json_answer({}, span)
    if not isinstance(expr, Call) or expr.func not in _ANSWERS:
        raise SkillError(Diagnostic(span, "answer must be choice(a, b, ...), score(lo, hi), regex(\"...\"), "
                                    "json, {json: schema} or text(max_tokens=N)"))
    return _ANSWER_PARSERS[expr.func](expr, span)


def _no_kwargs(call: Call, allowed: tuple = ()) -> None:
    for key, value in call.kwargs:
        if key not in allowed:
            raise SkillError(Diagnostic(value.span, f"{call.func}() takes no argument '{key}'"))


def _choice(call: Call, span: Span) -> Answer:
    _no_kwargs(call)
    labels = []
    for arg in call.args:
        if isinstance(arg, Name):
            labels.append(arg.id)
        elif isinstance(arg, Const) and not isinstance(arg.value, bool):
            labels.append(str(arg.value))
        else:
            raise SkillError(Diagnostic(arg.span, "a choice label is a word or a quoted string"))
        if labels[-1] in labels[:-1] or not labels[-1]:
            raise SkillError(Diagnostic(arg.span, f"choice label {labels[-1]!r} is empty or given twice"))
    if len(labels) < 2:
        raise SkillError(Diagnostic(call.span, "choice(...) needs at least two labels"))
    return Answer("choice", tuple(labels), span=span)


def _int_arg(arg, what: str) -> int:
    if isinstance(arg, Const) and isinstance(arg.value, int) and not isinstance(arg.value, bool):
        return arg.value
    if isinstance(arg, Unary) and arg.op == "neg":
        return -_int_arg(arg.operand, what)
    raise SkillError(Diagnostic(arg.span, f"{what} must be a whole number"))


def _score(call: Call, span: Span) -> Answer:
    _no_kwargs(call)
    if len(call.args) != 2:
        raise SkillError(Diagnostic(call.span, "score takes two whole numbers: score(lo, hi)"))
    lo, hi = (_int_arg(a, "a score bound") for a in call.args)
    if not lo < hi or hi - lo > 100:
        raise SkillError(Diagnostic(call.span, f"score({lo}, {hi}): need lo < hi and at most 101 values"))
    return Answer("score", tuple(str(i) for i in range(lo, hi + 1)), min=lo, max=hi, span=span)


def _regex(call: Call, span: Span) -> Answer:
    _no_kwargs(call, ("max_tokens",))
    if len(call.args) != 1 or not isinstance(call.args[0], Const) or not isinstance(call.args[0].value, str):
        raise SkillError(Diagnostic(call.span, 'regex takes one quoted pattern: regex("[0-9]+")'))
    pattern = call.args[0].value
    try:
        re.compile(pattern)
    except re.error as exc:
        raise SkillError(Diagnostic(call.args[0].span, f"invalid regular expression: {exc}")) from None
    _decodable({"type": "regex", "pattern": pattern}, call.args[0].span, "regular expression: lookaround, "
               "backreferences and \\b are not supported")
    return Answer("regex", pattern=pattern, max_tokens=_max_tokens(call), span=span)


def _decodable(constraint: dict, span: Span, what: str) -> None:
    """Refuse an answer constraint the constrained-decoding engine cannot build a guide for:
    found here, not when the first judge call of a run fails."""
    from ..ir.constraints import engine_problem

    problem = engine_problem(constraint)
    if problem is not None:
        raise SkillError(Diagnostic(span, f"constrained decoding (outlines) cannot use this {what} ({problem})"))


def _text(call: Call, span: Span) -> Answer:
    _no_kwargs(call, ("max_tokens",))
    if call.args:
        raise SkillError(Diagnostic(call.span, "text takes only max_tokens=N: text(max_tokens=200)"))
    return Answer("text", max_tokens=_max_tokens(call), span=span)


def _max_tokens(call: Call) -> "int | None":
    for key, value in call.kwargs:
        if key == "max_tokens":
            n = _int_arg(value, "max_tokens")
            if not 1 <= n <= MAX_ANSWER_TOKENS:
                raise SkillError(Diagnostic(value.span, f"max_tokens must be between 1 and {MAX_ANSWER_TOKENS}"))
            return n
    return None


def _json_call(call: Call, span: Span) -> Answer:
    if call.args or call.kwargs:
        raise SkillError(Diagnostic(call.span, "json() takes no arguments here; give a schema as "
                                    "answer: {json: {type: object, ...}}"))
    return _json_answer({}, span)


def _json_answer(schema, span: Span) -> Answer:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise SkillError(Diagnostic(span, f"invalid JSON schema for the answer: {exc.message}")) from None
    _decodable({"type": "json", "schema": schema}, span, "JSON schema")
    return Answer("json", schema=schema, span=span)


_ANSWER_PARSERS = {"choice": _choice, "score": _score, "regex": _regex, "text": _text, "json": _json_call}
