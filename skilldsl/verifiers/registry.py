"""The verifier registry: small named functions whose name, version and parameters the IR records.

The IR names a verifier and its arguments, never a Python object, so a compiled skill stays
reproducible: the reward id changes when a verifier's ``version`` does.
"""
from __future__ import annotations

import importlib
import inspect
import json
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

from ..data import AnyOf, list_reference_refused
from ..ir.types import VALUE_CHECKS
from ..values import _NO_DETAIL, STATUSES
from ..values import Value as Verdict  # the name plugins use for the one ok/na/error type
from . import guard

__all__ = [
    "Param",
    "VerifierSpec",
    "Verdict",
    "verifier",
    "get",
    "all_verifiers",
    "registered",
    "load_plugins",
    "call_function",
    "verdict_of",
]

# what a parameter of each type must be, in a message; the test itself is the checker's rule for
# the type (ir.types.VALUE_CHECKS), so a checked skill never fails here: only values typed
# ``json``/``any`` at build time can
_PARAM_WORDS = {"text": "text", "number": "a finite number", "integer": "an integer", "bool": "true/false",
                "list": "a list", "json": "JSON", "any": "any value"}


def _finite_number(value: Any) -> bool:  # a NaN or an infinity is no argument for a verifier
    return VALUE_CHECKS["number"](value) and (not isinstance(value, float) or math.isfinite(value))


def _shown(value: Any) -> str:
    """A value for a message: its kind and a short repr."""
    kind = {bool: "true/false", int: "number", float: "number", str: "text", list: "list", tuple: "list",
            dict: "mapping", type(None): "null"}.get(type(value), type(value).__name__)
    return f"{kind} {_short(value)}"


def _short(value: Any) -> str:
    text = _printable(repr, value)
    return text[:60] + "..." if len(text) > 60 else text


def _printable(show: Callable[[Any], str], value: Any) -> str:
    """``show(value)`` as plain text, or a placeholder when the value's own ``__repr__``/``__str__``
    fails -- or exits: a message must never raise, nor end the run it reports on."""
    try:
        return str.__str__(show(value))
    except (Exception, SystemExit):  # noqa: BLE001
        return f"<unprintable {type(value).__name__}>"


@dataclass(frozen=True)
class Param:
    """One verifier parameter: ``name: type`` with an optional default (keyword-only if it has one)."""

    name: str
    type: str = "any"
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    @classmethod
    def parse(cls, spec: "str | Param") -> "Param":
        """``"reference: text"`` or ``"tolerance: number = 1e-6"`` -> Param."""
        if isinstance(spec, Param):
            return spec
        name, _, rest = spec.partition(":")
        type_, _, default = rest.partition("=")
        type_ = type_.strip() or "any"
        value = inspect.Parameter.empty
        if default.strip():
            import ast

            value = ast.literal_eval(default.strip())
        return cls(name.strip(), type_, value)

    def __post_init__(self) -> None:
        if self.type not in _PARAM_WORDS:
            raise ValueError(f"unknown parameter type {self.type!r} for {self.name!r} (types: {', '.join(_PARAM_WORDS)})")
        accepts = _finite_number if self.type == "number" else VALUE_CHECKS[self.type]
        object.__setattr__(self, "_accepts", accepts)  # looked up once, used per call

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be passed as this parameter (None: it can). A ``None`` default,
        say for an omitted bound, may also be passed explicitly."""
        if self._accepts(value) or (value is None and self.default is None):
            return None
        return f"'{self.name}' must be {_PARAM_WORDS[self.type]}, got {_shown(value)}"


@dataclass(frozen=True)
class VerifierSpec:
    """What the compiler checks a call against and the IR records."""

    name: str
    version: str
    params: tuple[Param, ...]
    doc: str
    func: Callable[..., Any] = field(compare=False, repr=False)
    isolate: bool = True  # run in a worker process (hard timeout, crash isolation); False: in-process
    # optional cheap in-process attempt for an isolated verifier: returns a Verdict, or None
    # when the call needs the isolated path (math: plain numbers need no CAS, no worker)
    fast: "Callable[..., Verdict | None] | None" = field(default=None, compare=False, repr=False)
    # the call mostly waits (on its own subprocess, e.g. a sandbox run), not on the GIL: calls of
    # one batch run on threads, in parallel; it must bound its own time (no worker to kill)
    concurrent: bool = False
    # "module:function" (or a module to import) each worker runs once before its first call of
    # this verifier, outside any call's timeout: first-use costs such as math-verify's grammar
    warm: "str | None" = None
    # the type of the value: "bool" (true/false) or "number" (in [0, 1]); the checker types the
    # evidence by it and the runtime holds the verifier to it
    returns: str = "bool"

    @cached_property
    def positional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.required)

    @cached_property
    def _by_name(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    @cached_property
    def reads_alternatives(self) -> bool:
        """Whether the verifier reads a list reference as its options (``reference.alternatives``)."""
        return bool(getattr(self.func, "reads_alternatives", False))

    def argument_problem(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str | None:
        """Why these arguments do not fit the declared parameters (count, names, types), naming
        the verifier and the parameter; None when they fit. Runs before every call: kept lean."""
        positional = self.positional
        if len(args) > len(positional):
            return f"{self.name} takes {len(positional)} positional argument(s), got {len(args)}"
        pairs = list(zip(positional, args))
        for key, value in kwargs.items():
            param = self._by_name.get(key)
            if param is None:
                return f"{self.name} has no parameter {key!r}"
            pairs.append((param, value))
        if len(args) < len(positional):
            missing = [p.name for p in positional[len(args):] if p.name not in kwargs]
            if missing:
                return f"{self.name} is missing argument {missing[0]!r}"
        for param, value in pairs:
            if isinstance(value, AnyOf) and not self.reads_alternatives:  # its text is no answer
                return f"{self.name}: {list_reference_refused(repr(param.name), value)}"
            problem = param.problem(value)
            if problem:
                return f"{self.name}: {problem}"
        return None

    def call(self, *args: Any, **kwargs: Any) -> Verdict:
        """Run the verifier in this process; a wrong argument, an exception or a result outside
        the contract becomes an ``error`` verdict."""
        problem = self.argument_problem(args, kwargs)
        if problem:
            return Verdict.error(problem)
        return call_function(self.name, self.func, args, kwargs)

    def try_fast(self, *args: Any, **kwargs: Any) -> Verdict | None:
        """The ``fast`` hook's verdict, or None when there is none or it defers to ``call``."""
        if self.fast is None:
            return None
        return call_function(self.name, self.fast, args, kwargs, may_defer=True)


def call_function(name: str, func: Callable[..., Any], args: Any, kwargs: Any, *,
                  may_defer: bool = False) -> Verdict | None:
    """Run verifier ``func`` (registered as ``name``) -> its Verdict, never an exception.

    Whatever the call raises -- ``SystemExit``, a ``KeyboardInterrupt`` of its own, any error --
    is an ``error`` naming the verifier; only the user's real Ctrl-C propagates (see
    :mod:`guard`). ``may_defer``: a ``fast`` hook's None means "not decided here" (returned as is).
    Shared by ``VerifierSpec.call`` and the worker so both report failures identically.
    """
    seen = guard.sigints()
    try:
        result = func(*args, **kwargs)
        return None if may_defer and result is None else verdict_of(name, result)
    except BaseException as exc:  # noqa: BLE001 - a verifier must not end or crash the run
        if isinstance(exc, KeyboardInterrupt) and guard.is_users_interrupt(seen):
            raise
        return Verdict.error(_raised(name, exc))


def _raised(name: str, exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"{name} called sys.exit({'' if exc.code is None else _printable(repr, exc.code)})"
    message = _clipped(_printable(str, exc), MAX_REASON)
    return f"{name} raised {type(exc).__name__}" + (f": {message}" if message else "")


# What a verdict may carry: far above what a real one holds, far below what slows a results line.
MAX_REASON = 10_000  # characters of a reason
MAX_DETAIL_CHARS = 100_000  # characters of a detail: its texts and keys together
MAX_DETAIL_DEPTH = 20  # mappings and lists nested in a detail
# the slots of a Verdict, read past any property a subclass puts in front of them
_SLOTS = tuple(Verdict.__dict__[name] for name in ("status", "value", "reason", "detail"))


def verdict_of(name: str, result: Any) -> Verdict:
    """A verifier's return value as a plain Verdict, or an ``error`` naming ``name`` when it breaks
    the contract: a bool, a finite number in [0, 1], None (na) or a Verdict whose ``ok`` value is
    one of those, with a known status, a text (or no) reason and a mapping as detail.

    Every verdict crosses this point, in the caller's process or a worker's, and leaves it as plain
    data that runs none of the verifier's code when it is compared, written or sent: each field is
    read once (a value that changes between reads, or a subclass's property, cannot pass one value
    to the check and another to the reward); a value must be a bool, an int or a float (a float
    subclass, such as ``numpy.float64``, is read as the float it holds); a reason is text, cut to
    :data:`MAX_REASON` characters; a detail is rebuilt as JSON data (:func:`_plain_detail`). A
    NaN, a wrong status or a text value never passes as a score. ``name`` may be empty (``Verdict.of``).
    """
    if (type(result) is Verdict and result.detail is _NO_DETAIL and result.reason is None
            and type(result.value) is bool and type(result.status) is str and result.status == "ok"):
        return result  # the common case (``Verdict.ok(True)``), already plain
    if not issubclass(type(result), Verdict):
        verdict = _plain_result(result)
        return verdict.with_reason(name) if name and not verdict.is_ok else verdict
    who = name or "verifier"
    status, value, reason, detail = (slot.__get__(result) for slot in _SLOTS)
    if type(status) is not str or status not in STATUSES:
        return Verdict.error(f"{who} returned an unknown status {_short(status)}")
    if not issubclass(type(detail), dict):
        return Verdict.error(f"{who} returned a detail that is not a mapping ({type(detail).__name__})")
    number = None
    if status == "ok":
        number = _read_number(value)
        if number is None or type(number) is not bool and not 0.0 <= number <= 1.0:
            shown = number if number is not None and type(value) is not int else value
            return Verdict.error(f"{who} returned ok with {_shown(shown)}: a verifier's value is true/false "
                                 "or a number in [0, 1]")
    reason = _clipped(str.__str__(reason), MAX_REASON) if issubclass(type(reason), str) else None
    if status != "ok" and reason is None:
        reason = f"{who} gave no reason"
    elif status == "error" and name and not reason.startswith(name):
        reason = f"{name}: {reason}"  # an error names the verifier that found it
    return Verdict(status, number, reason, _plain_detail(detail))


def _plain_result(result: Any) -> Verdict:
    """A plain return value (not a Verdict) as a Verdict; its reasons do not name the verifier."""
    if result is None:
        return Verdict.na("verifier could not decide")
    if type(result) is bool:
        return Verdict.ok(result)
    number = _read_number(result)
    if number is None:
        return Verdict.error(f"verifier returned an unsupported value of type {type(result).__name__}")
    if not 0.0 <= number <= 1.0:  # NaN fails this too
        return Verdict.error(f"verifier returned {_short(result if type(result) is int else number)}, outside [0, 1]")
    return Verdict.ok(number)


def _read_number(value: Any) -> "bool | float | None":
    """The bool, or the float, ``value`` holds, read once and without running code of its own (no
    ``__float__`` or comparison of a subclass); None for any other type, an int subclass included."""
    kind = type(value)
    if kind is bool or kind is float:
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if issubclass(kind, float):  # numpy.float64 and the like: the float it holds
        return float.__float__(value)
    return None


def _plain_detail(detail: dict) -> Mapping:
    """``detail`` rebuilt from plain JSON data -- text-keyed dicts, lists, texts, numbers, bools,
    None -- so nothing downstream (the trace, the results writer, a pipe) runs a verifier's code.
    Iterative, so any depth (or a cycle) is safe: what is nested deeper than
    :data:`MAX_DETAIL_DEPTH` or lies past :data:`MAX_DETAIL_CHARS` is cut, with a note that says so;
    any other object becomes its repr."""
    if not dict.__len__(detail):
        return _NO_DETAIL
    budget, root = MAX_DETAIL_CHARS, {}
    stack: list = [(detail, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        keyed = type(target) is dict
        items = dict.items(source) if keyed else enumerate(_sequence_of(source))
        for key, value in items:
            key = _plain_key(key) if keyed else key
            if budget <= 0:
                _put(target, key, f"<cut: the detail is over {MAX_DETAIL_CHARS} characters>")
                break
            kind = type(value)  # (isinstance would believe a __class__ property)
            if issubclass(kind, (dict, list, tuple)):
                if depth >= MAX_DETAIL_DEPTH:
                    value = f"<cut: nested deeper than {MAX_DETAIL_DEPTH} levels>"
                else:
                    child: Any = {} if issubclass(kind, dict) else []
                    stack.append((value, child, depth + 1))
                    value = child
            else:
                value = _plain_leaf(value)
            if type(value) is str:
                value = _clipped(value, budget)
                budget -= len(value)
            budget -= 1 + (len(key) if keyed else 0)
            _put(target, key, value)
    return root


def _sequence_of(source: "list | tuple") -> Any:
    """The items of a list or tuple by the built-in iterator (not a subclass's ``__iter__``)."""
    return (list if issubclass(type(source), list) else tuple).__iter__(source)


def _put(target: "dict | list", key: Any, value: Any) -> None:
    if type(target) is dict:
        target[key] = value
    else:
        target.append(value)


def _plain_leaf(value: Any) -> Any:
    """A detail's leaf as a JSON scalar: texts, numbers, bools and None as themselves (a subclass's
    as the plain value it holds), anything else as its repr."""
    kind = type(value)
    if kind is str or kind is bool or kind is float or value is None:
        return value
    if issubclass(kind, str):
        return str.__str__(value)
    if issubclass(kind, float):
        return float.__float__(value)
    if issubclass(kind, int):
        number = int.__int__(value)
        return number if -2 ** 63 <= number < 2 ** 64 else _printable(repr, number)  # a JSON writer's limits
    try:  # the verifier's own object: its repr exiting is the verifier exiting (call_function says so)
        return str.__str__(repr(value))
    except Exception:  # noqa: BLE001
        return f"<unprintable {kind.__name__}>"


def _plain_key(key: Any) -> str:
    leaf = _plain_leaf(key)
    return leaf if type(leaf) is str else json.dumps(leaf)  # 1 -> "1", None -> "null", as JSON writes them


def _clipped(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with a note of how many more there were."""
    if len(text) <= limit:
        return text
    limit = max(limit, 0)
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


_REGISTRY: dict[str, VerifierSpec] = {}
_BUILTINS_LOADED = False


def verifier(
    name: str,
    *,
    version: str = "1",
    params: "tuple[str | Param, ...] | list[str | Param]" = (),
    doc: str | None = None,
    isolate: "bool | None" = None,
    fast: "Callable[..., Verdict | None] | None" = None,
    concurrent: bool = False,
    warm: "str | None" = None,
    returns: str = "bool",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as verifier ``name`` (a dotted name such as ``math.equivalent``).

    Where it runs: by default in a worker process (``isolate``), where a hang, a spin, an exit or a
    crash costs only that call -- an ``error`` on its row -- and its prints reach stderr. The
    function must then be module-level in an importable module, its arguments and result
    picklable. ``isolate=False`` runs it in the caller's process, much faster: a promise that it
    is pure, fast and total, as the built-in format and reference checks are -- nothing can
    stop an in-process call that never returns (exits, its own KeyboardInterrupt and prints are
    still contained). ``fast``: a cheap in-process first attempt of an isolated verifier, under
    the same promise (a Verdict, or None to go to the worker: ``ifeval.follows`` checks short
    responses there and sends long ones, whose time it cannot promise, to a worker). ``concurrent=True``: an in-process
    call that waits on a subprocess of its own (``code.passes``), run on a thread; it implies
    ``isolate=False`` and must bound its own time. ``warm``: ``"module:function"`` each worker runs
    once before its first call of this verifier, outside any call's timeout (first-use costs).
    ``returns``: ``"bool"`` (the default) or ``"number"`` (a score in [0, 1]), the type expressions
    see; a value of the other type is an ``error`` of the call.
    """
    if isolate is None:
        isolate = not concurrent
    if returns not in ("bool", "number"):
        raise ValueError(f"verifier {name!r}: returns must be 'bool' or 'number', not {returns!r}")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"verifier {name!r} is already registered")
        _REGISTRY[name] = VerifierSpec(
            name=name,
            version=str(version),
            params=tuple(Param.parse(p) for p in params),
            doc=inspect.cleandoc(doc or func.__doc__ or ""),
            func=func,
            isolate=bool(isolate),
            fast=fast,
            concurrent=concurrent,
            warm=warm,
            returns=returns,
        )
        return func

    return register


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        # marked loaded only on success: a broken module re-raises its real error on every
        # lookup instead of leaving a silently partial registry ("unknown verifier ...")
        importlib.import_module("skilldsl.verifiers.builtin")
        load_plugins()
        _BUILTINS_LOADED = True


def load_plugins(modules: "list[str] | None" = None) -> None:
    """Import user verifier modules: ``modules`` (names or ``.py`` paths), ``$SKILLDSL_PLUGINS``
    (comma-separated) and the ``skilldsl.verifiers`` entry-point group."""
    names = list(modules or [])
    names += [m.strip() for m in os.environ.get("SKILLDSL_PLUGINS", "").split(",") if m.strip()]
    for name in names:
        _import_plugin(name)
    from importlib.metadata import entry_points

    for ep in entry_points(group="skilldsl.verifiers"):
        ep.load()


def _import_plugin(name: str) -> None:
    """Import plugin ``name``: a module name, or a ``.py`` file path (imported by its stem).

    The plugin's directory (or the working directory, for a bare module name not found
    otherwise) joins ``sys.path``, so worker processes can import it again by name.
    """
    import sys

    if name.endswith(".py"):
        folder, filename = os.path.split(os.path.abspath(name))
        if folder not in sys.path:
            sys.path.insert(0, folder)
        importlib.import_module(filename[: -len(".py")])
        return
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name != name.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
        sys.path.insert(0, cwd)
        importlib.import_module(name)


def get(name: str) -> VerifierSpec | None:
    """The verifier registered as ``name``, or None."""
    _load_builtins()
    return _REGISTRY.get(name)


def all_verifiers() -> list[VerifierSpec]:
    """Every registered verifier, sorted by name."""
    _load_builtins()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def registered() -> dict[str, VerifierSpec]:
    """The verifiers registered so far, by name, without importing the built-ins: what still
    works when a built-in module fails to import (``get`` and ``all_verifiers`` re-raise that)."""
    return dict(_REGISTRY)
