"""Prompt templates: the one jinja2 environment the checker and the runtime share.

A template is jinja2 narrowed to what a prompt needs. The checker refuses at ``file:line:col``
everything the runtime would refuse (:func:`refusals`, and :func:`free_names` for the checker's
name rules), and the runtime refuses the same again for IR written by hand
(:func:`compile_template`):

- statements: ``{{ ... }}``, ``{% if %}``, ``{% for %}`` (not ``recursive``), ``{% set x = ... %}``;
  no macros, ``call``/``filter``/``with``/``block`` sections, block ``set``, include or import;
- names: what the skill declares, names bound by ``for``/``set``, and ``loop`` inside a ``for``;
  no globals (jinja's ``range``, ``lipsum``, ``dict``, ``cycler``, ``joiner``, ``namespace``) and
  no ``self``;
- attributes: none starting with ``_``, none of the interpreter internals the sandbox hides;
- filters: :data:`FILTERS`; tests: :data:`TESTS`; calls: the methods in :data:`METHODS` only.

Nothing is evaluated while building: jinja folds constant expressions when it compiles a
template (``{{ 'x' * 10**10 }}`` would be built by ``skilldsl check``); this environment folds
none. Rendering is bounded while it runs: the output may reach :data:`MAX_CHARS` characters, and
the strings and lists that operators, filters and method calls build may reach
:data:`MAX_CHARS` characters or items in total. An operation whose result would pass the limit
is refused *before* it is built (repetition, ``**``, ``%``/``format`` padding, ``center``,
``indent``, ``wordwrap``, ``join``, ``replace``, ``batch``, ``slice``, ``tojson`` indents). A
prompt under the limit but longer than a model's context is the backend's to truncate.

A value a template may not use (a na one is undefined, an erred one :class:`Unusable`; see
``runtime/unknowns.py``) raises its error from every test, method call and ``tojson`` it reaches,
not only when printed: ``x is false`` on a broken verdict is no answer.
"""
from __future__ import annotations

import contextvars
import functools
import math
import re
import types
from dataclasses import dataclass

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS as _JINJA_FILTERS, make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import pass_environment

from .schema_messages import did_you_mean

__all__ = [
    "MAX_CHARS", "MAX_DIGITS", "FILTERS", "TESTS", "METHODS", "TemplateLimit", "TemplateRefused", "Refusal",
    "environment", "parse", "refusals", "free_names", "unavailable", "compile_template", "render", "Unusable",
]

MAX_CHARS = 1_000_000   # output characters, and characters or items built, per rendering
MAX_DIGITS = 4_300      # digits of a number a template computes (Python's own int -> str limit)

# jinja's filters minus the nondeterministic (random) and the HTML ones prompts do not need
FILTERS = frozenset(_JINJA_FILTERS) - {"random", "pprint", "urlize", "xmlattr", "safe", "forceescape"}
TESTS = frozenset({
    "!=", "<", "<=", "==", ">", ">=", "boolean", "defined", "divisibleby", "eq", "equalto", "even", "false",
    "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping",
    "ne", "none", "number", "odd", "sameas", "sequence", "string", "true", "undefined", "upper",
})
# methods whose result is no larger than their object (no center, ljust, zfill, replace, join, format...)
METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isascii", "isdecimal",
    "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "swapcase", "title", "upper", "get", "items", "keys", "values", "cycle", "changed",
})
_RECEIVERS = (str, list, tuple, dict, types.MappingProxyType)
# filters and methods that return (a part of) what they were given, building nothing: not charged
_GIVEN_BACK = frozenset({"first", "last", "default", "d", "attr", "min", "max", "get", "cycle", "changed"})

_GLOBALS = {  # jinja's globals: none is available, each refusal says what to use instead
    "range": "number items with loop.index (loop.index0 from 0)",
    "lipsum": "write the text in the template",
    "dict": "use a JSON input or {'key': value}",
    "cycler": "use loop.cycle(...)",
    "joiner": "use the join filter or loop.first",
    "namespace": "compute the value in an expression or a check evidence",
}
_STATEMENTS = (nodes.Output, nodes.If, nodes.For, nodes.Assign)
_KEYWORDS = {
    "Macro": "macro", "CallBlock": "call", "FilterBlock": "filter", "With": "with",
    "Block": "block", "Extends": "extends", "Include": "include", "Import": "import", "FromImport": "from",
    "ExprStmt": "do", "Break": "break", "Continue": "continue", "EvalContextModifier": "autoescape",
    "ScopedEvalContextModifier": "autoescape",
}
# attribute names the sandbox refuses on any object (besides every name starting with "_")
_INTERNALS = frozenset({"mro", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_code", "ag_frame"})


class TemplateLimit(SecurityError):
    """Rendering would build or output more than a template may."""


class TemplateRefused(SecurityError):
    """A template uses what skill templates may not (a statement, name, filter, attribute or call)."""


@dataclass(frozen=True)
class Refusal:
    """Why a template is refused: ``message``, on template line ``lineno``, at word ``token``."""

    lineno: int
    token: str
    message: str


# -- the environment --------------------------------------------------------------------------


class Unusable:
    """Base of a value no template may look at (``runtime/unknowns.py``'s stand-in for an erred
    evidence): its ``_fail()`` raises why. The stand-in fails every operation itself; the
    environment's tests and ``tojson``, which would answer without operating on it, call ``_fail()``."""

    __slots__ = ()

    def _fail(self, *_args, **_kwargs):
        raise NotImplementedError



class _NoFolding(CodeGenerator):
    """jinja's code generator without compile-time evaluation, with capped ``~``."""

    def _output_child_to_const(self, node, frame, finalize):
        if not isinstance(node, nodes.TemplateData):  # template text is data; expressions run later
            raise nodes.Impossible()
        return super()._output_child_to_const(node, frame, finalize)

    def visit_Concat(self, node, frame) -> None:
        self.write("environment.concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(SandboxedEnvironment):
    """The sandbox with no globals, allow-listed filters, tests and calls, and capped builders."""

    code_generator_class = _NoFolding
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, optimized=False)
        self.globals.clear()
        self.filters = _filters()
        self.tests = {name: _strict(name, test) for name, test in self.tests.items() if name in TESTS}
        self.policies["json.dumps_kwargs"] = {**self.policies["json.dumps_kwargs"], "default": _unserialisable}

    def call_binop(self, context, operator: str, left, right):
        _check_binop(operator, left, right)
        return _spent(self.binop_table[operator](left, right), f"'{operator}'", deep=True)

    def concat(self, values) -> str:
        parts = [str(v) for v in values]
        _budget().spend(sum(map(len, parts)), "'~'")
        return "".join(parts)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
        if isinstance(__obj, Undefined):
            __obj()  # raises its own error: an undefined name, or a na value (see runtime/unknowns.py)
        name = getattr(__obj, "__name__", type(__obj).__name__)
        if not _callable(__obj):
            raise TemplateRefused(f"calling {name!r} is not allowed in a skill template")
        for arg in (*args, *kwargs.values()):  # loop.changed(x) would compare x by identity only
            _raise_unknown(arg)
        result = __context.call(__obj, *args, **kwargs)
        return result if name in _GIVEN_BACK else _spent(result, f"{name}()")


def _raise_unknown(value, undefined: bool = True) -> None:
    """Raise the error of an unknown value: an erred stand-in, and (``undefined``) an undefined one
    (a na value or a missing name)."""
    if isinstance(value, Unusable):
        value._fail()
    if undefined and isinstance(value, Undefined):
        value._fail_with_undefined_error()


_ASKS_DEFINED = frozenset({"defined", "undefined"})  # the tests that may look at an undefined value


def _strict(name: str, test):
    """``test`` raising the error of an unknown operand instead of answering about it (``x is
    false`` on a broken verdict is not "no"): an erred one always, an undefined one unless it is
    the subject of ``defined``/``undefined``."""
    skip = 1 if hasattr(test, "jinja_pass_arg") else 0

    @functools.wraps(test)
    def strict(*args, **kwargs):
        operands = (*args[skip:], *kwargs.values())
        for i, value in enumerate(operands):
            _raise_unknown(value, undefined=i > 0 or name not in _ASKS_DEFINED)
        return test(*args, **kwargs)

    return strict


def _unserialisable(value):
    """``tojson``'s fallback: an unknown value raises its own error; anything else json's TypeError."""
    _raise_unknown(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _callable(obj) -> bool:
    """Only allow-listed methods of strings, sequences, mappings and ``loop``."""
    owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", None)
    if name not in METHODS or not isinstance(obj, (types.BuiltinMethodType, types.MethodType)):
        return False
    return isinstance(owner, _RECEIVERS) or (isinstance(owner, LoopContext) and name in ("cycle", "changed"))


@functools.lru_cache(maxsize=1)
def environment() -> _Environment:
    """The environment every skill template is parsed, checked and rendered with."""
    return _Environment()


def parse(source: str) -> nodes.Template:
    """The template's syntax tree (raises jinja's ``TemplateSyntaxError``); nothing is evaluated."""
    return environment().parse(source)


# -- budgets ----------------------------------------------------------------------------------


@dataclass
class _Budget:
    """What one rendering may still build."""

    limit: int
    built: int = 0

    def check(self, size: int, what: str) -> None:
        if size > self.limit - self.built:
            raise TemplateLimit(f"{what} would build {size:,} characters or items; a template may build "
                                f"{self.limit:,} in all")

    def spend(self, size: int, what: str) -> None:
        self.check(size, what)
        self.built += size


_BUDGET: contextvars.ContextVar = contextvars.ContextVar("skilldsl_template_budget", default=None)


def _budget() -> _Budget:
    """The budget of the rendering under way (outside :func:`render`: a fresh one per operation)."""
    return _BUDGET.get() or _Budget(MAX_CHARS)


def _size(value, deep: bool = False) -> int:
    """Characters of a string, items of a collection; ``deep``: about what printing it takes (a
    list of one long string repeated is as large as its text, however few items it holds)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if not deep:
        return len(value) if isinstance(value, (list, tuple, dict, set, frozenset)) else 0
    if isinstance(value, dict):
        return len(value) + sum(_size(k, True) + _size(v, True) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return len(value) + sum(_size(v, True) for v in value)
    return 0


def _spent(result, what: str, deep: bool = False):
    """``result``, charged to the rendering's budget (a new string or collection of its size)."""
    _budget().spend(_size(result, deep), what)
    return result


def _int(value) -> int:
    return value if isinstance(value, int) else 0


def _digits(n: int) -> int:
    return n.bit_length() * 30103 // 100000 + 1


def _check_binop(op: str, left, right) -> None:
    """Refuse, before it runs, an operation whose result would pass the limits."""
    seqs = (str, list, tuple)
    if op == "*" and isinstance(left, seqs) != isinstance(right, seqs):
        seq, n = (left, right) if isinstance(left, seqs) else (right, left)
        _budget().check(_size(seq, True) * max(_int(n), 0), "'*'")
    elif op == "+" and isinstance(left, seqs) and isinstance(right, seqs):
        _budget().check(_size(left, True) + _size(right, True), "'+'")
    elif op == "%" and isinstance(left, str):
        _budget().check(_printf_size(left, right), "'%'")
    elif isinstance(left, int) and isinstance(right, int):
        digits = _digits(left) + _digits(right) if op == "*" else 0
        if op == "**" and right > 0 and abs(left) > 1:
            digits = int(right * math.log10(abs(left))) + 1
        if digits > MAX_DIGITS:
            raise TemplateLimit(f"'{op}' would make a number of about {digits:,} digits; at most {MAX_DIGITS:,}")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _printf_size(fmt: str, args) -> int:
    """An upper bound of ``fmt % args``: the format, every width and precision, every argument."""
    values = list(args.values()) if isinstance(args, dict) else list(args) if isinstance(args, tuple) else [args]
    widest = max((abs(v) for v in values if isinstance(v, int)), default=0)
    pads = [widest if n == "*" else int(n) for m in _PRINTF.finditer(fmt) for n in m.groups() if n]
    return len(fmt) + sum(pads) + sum(_size(v, True) + 32 for v in values)


# -- filters ----------------------------------------------------------------------------------


def _text(value) -> str:
    return value if isinstance(value, str) else str(value)


def _center(value, width=80, *_, **__) -> int:
    return max(len(_text(value)), _int(width))


def _indent(s, width=4, *_, **__) -> int:
    text = _text(s)
    return len(text) + (text.count("\n") + 1) * (len(width) if isinstance(width, str) else _int(width))


def _wordwrap(s, width=79, break_long_words=True, wrapstring=None, *_, **__) -> int:
    text = _text(s)
    lines = 2 * len(text) // max(_int(width), 1) + 1
    return len(text) + lines * (1 if wrapstring is None else len(_text(wrapstring)))


def _replace(s, old, new, count=None, *_, **__) -> int:
    text, old, new = _text(s), _text(old), _text(new)
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def _format(value, *args, **kwargs) -> int:
    return _printf_size(_text(value), kwargs or args)


def _batch(value, linecount, fill_with=None, *_, **__) -> int:
    return 0 if fill_with is None else _int(linecount)


def _slice(value, slices, *_, **__) -> int:
    return _int(slices)


def _tojson(value, indent=None, *_, **__) -> int:
    width = len(indent) if isinstance(indent, str) else _int(indent)
    if width > 16:
        raise TemplateLimit(f"tojson: an indent of {width:,}; at most 16")
    return 0


_BOUNDS = {"center": _center, "indent": _indent, "wordwrap": _wordwrap, "replace": _replace, "format": _format,
           "batch": _batch, "slice": _slice, "tojson": _tojson}


@pass_environment
def _join(env, value, d="", attribute=None) -> str:
    """jinja's ``join`` that sizes the result before building it."""
    if attribute is not None:
        value = map(make_attrgetter(env, attribute), value)
    parts, sep = [_text(v) for v in value], _text(d)
    _budget().spend(sum(map(len, parts)) + max(len(parts) - 1, 0) * len(sep), "the join filter")
    return sep.join(parts)


def _capped(name: str, fn):
    """``fn`` checked against its bound before it runs (if it has one) and charged after."""
    bound, skip = _BOUNDS.get(name), 1 if hasattr(fn, "jinja_pass_arg") else 0

    @functools.wraps(fn)
    def filter_(*args, **kwargs):
        if bound is not None:
            _budget().check(bound(*args[skip:], **kwargs), f"the {name} filter")
        result = fn(*args, **kwargs)
        return result if name in _GIVEN_BACK else _spent(result, f"the {name} filter")

    return filter_


def _filters() -> dict:
    table = {name: _capped(name, fn) for name, fn in _JINJA_FILTERS.items() if name in FILTERS}
    table["join"] = _join
    return table


# -- what the checker and the runtime refuse -------------------------------------------------


def unavailable(name: str) -> str | None:
    """Why ``name``, one of jinja's globals, is not available in a skill template (else None)."""
    if name not in _GLOBALS:
        return None
    return f"'{name}' is not available in skill templates (they have no global functions): {_GLOBALS[name]}"


def refusals(tree: nodes.Template) -> list[Refusal]:
    """Everything in ``tree`` that skill templates may not use, in source order."""
    found = [r for node in tree.find_all(nodes.Node) for r in _refuse(node)]
    return sorted(found, key=lambda r: r.lineno)


def _refuse(node):
    lineno = node.lineno or 1
    if isinstance(node, nodes.AssignBlock):
        yield Refusal(lineno, "set", "{% set x %}...{% endset %} is not available in skill templates: "
                      "use {% set x = ... %}")
    elif isinstance(node, nodes.Stmt) and not isinstance(node, _STATEMENTS):
        word = _KEYWORDS.get(type(node).__name__, type(node).__name__.lower())
        yield Refusal(lineno, word, f"{{% {word} %}} is not available in skill templates"
                      " (they have {{ }}, if, for and set)")
    elif isinstance(node, nodes.For) and node.recursive:
        yield Refusal(lineno, "recursive", "recursive loops are not available in skill templates")
    elif isinstance(node, nodes.NSRef):
        yield Refusal(lineno, node.name, "namespace attributes cannot be set in skill templates")
    elif isinstance(node, nodes.Name) and node.name == "self":
        yield Refusal(lineno, "self", "'self' is not available in skill templates")
    elif isinstance(node, nodes.Getattr) and _internal(node.attr):
        yield _attribute(lineno, node.attr)
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
            and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
        yield _attribute(lineno, node.arg.value)
    elif isinstance(node, nodes.Filter):
        yield from _refuse_filter(node, lineno)
    elif isinstance(node, nodes.Test) and node.name not in TESTS:
        yield Refusal(lineno, node.name, f"no test named '{node.name}' in skill templates"
                      + did_you_mean(node.name, TESTS))
    elif isinstance(node, nodes.Call) and not (isinstance(node.node, nodes.Getattr) and node.node.attr in METHODS):
        yield _call(lineno, node.node)


def _internal(attr: str) -> bool:
    return attr.startswith("_") or attr in _INTERNALS


def _attribute(lineno: int, attr: str) -> Refusal:
    return Refusal(lineno, attr, f"attribute '{attr}' is not available in skill templates"
                   " (names starting with '_' and interpreter internals are hidden)")


def _refuse_filter(node: nodes.Filter, lineno: int):
    if node.name not in FILTERS:
        yield Refusal(lineno, node.name, f"no filter named '{node.name}' in skill templates"
                      + did_you_mean(node.name, FILTERS))
        return
    named = {"map": (0, FILTERS, "filter"), "select": (0, TESTS, "test"), "reject": (0, TESTS, "test"),
             "selectattr": (1, TESTS, "test"), "rejectattr": (1, TESTS, "test")}.get(node.name)
    if named and len(node.args) > named[0] and isinstance(node.args[named[0]], nodes.Const):
        value = node.args[named[0]].value
        if isinstance(value, str) and value not in named[1]:
            yield Refusal(lineno, value, f"no {named[2]} named '{value}' in skill templates"
                          + did_you_mean(value, named[1]))
    at = _ATTRIBUTE_ARG.get(node.name)
    given = [node.args[at]] if at is not None and len(node.args) > at else []
    given += [kw.value for kw in node.kwargs if kw.key == "attribute"]
    for value in given:
        if isinstance(value, nodes.Const) and any(_internal(part) for part in str(value.value).split(".")):
            yield _attribute(lineno, str(value.value))


# filters that read an attribute named by a positional argument (its index; ``attribute=`` anywhere):
# a dotted path is read part by part, so every part must be visible
_ATTRIBUTE_ARG = {"attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "join": 1, "unique": 1,
                  "min": 1, "max": 1, "sort": 2}


def _call(lineno: int, callee) -> Refusal:
    name = callee.name if isinstance(callee, nodes.Name) else getattr(callee, "attr", "this")
    if isinstance(callee, nodes.Name) and name in _GLOBALS:
        return Refusal(lineno, name, unavailable(name))
    return Refusal(lineno, name, f"calling '{name}' is not allowed in skill templates: they call filters "
                   "({{ x | trim }}) and the methods of strings, lists and mappings that cannot grow them")


class _Tracking(_NoFolding):
    """The names a template reads from its context (jinja's ``meta`` does this with folding on)."""

    def __init__(self, environment) -> None:
        super().__init__(environment, "<check>", "<check>", optimized=False)
        self.free: set[str] = set()

    def write(self, x: str) -> None:
        pass

    def enter_frame(self, frame) -> None:
        super().enter_frame(frame)
        self.free.update(param for action, param in frame.symbols.loads.values() if action == "resolve")


def free_names(tree: nodes.Template) -> set[str]:
    """The names ``tree`` reads from its context: every one must be declared by the skill."""
    tracker = _Tracking(environment())
    tracker.visit(tree)
    return tracker.free


# -- rendering ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def compile_template(source: str):
    """The compiled template (once per source); :class:`TemplateRefused` if it uses what skill
    templates may not (IR written by hand: the checker refuses it at build)."""
    tree = parse(source)
    refused = refusals(tree)
    if refused:
        raise TemplateRefused(f"line {refused[0].lineno}: {refused[0].message}")
    return environment().from_string(tree)


def render(source: str, context: dict) -> str:
    """Render ``source``; :class:`TemplateLimit` as soon as the output passes :data:`MAX_CHARS`
    characters or the values built pass :data:`MAX_CHARS` characters or items."""
    token = _BUDGET.set(_Budget(MAX_CHARS))
    try:
        parts, size = [], 0
        for chunk in compile_template(source).generate(context):
            size += len(chunk)
            if size > MAX_CHARS:
                raise TemplateLimit(f"the rendered prompt passes {MAX_CHARS:,} characters")
            parts.append(chunk)
        return "".join(parts)
    finally:
        _BUDGET.reset(token)
