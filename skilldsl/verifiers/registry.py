"""The verifier registry: small named functions whose name, version and parameters the IR records.

The IR names a verifier and its arguments, never a Python object, so a compiled skill stays
reproducible: the reward id changes when a verifier's ``version`` does.
"""
from __future__ import annotations

import importlib
import inspect
import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

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

def _is_number(value: Any) -> bool:  # as the checker types it: bool and integer are numbers
    return isinstance(value, int) or isinstance(value, float) and math.isfinite(value)


# what a value must be at run time for each parameter type: what the checker accepts, so a
# checked skill never fails here; only values typed ``json``/``any`` at build time can
_ACCEPTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "text": (lambda v: isinstance(v, str), "text"),
    "number": (_is_number, "a finite number"),
    "integer": (lambda v: isinstance(v, int), "an integer"),
    "bool": (lambda v: isinstance(v, bool), "true/false"),
    "list": (lambda v: isinstance(v, (list, tuple)), "a list"),
    "json": (lambda v: True, "JSON"),
    "any": (lambda v: True, "any value"),
}


def _shown(value: Any) -> str:
    """A value for a message: its kind and a short repr."""
    kind = {bool: "true/false", int: "number", float: "number", str: "text", list: "list", tuple: "list",
            dict: "mapping", type(None): "null"}.get(type(value), type(value).__name__)
    text = _printable(repr, value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"


def _printable(show: Callable[[Any], str], value: Any) -> str:
    """``show(value)``, or a placeholder when the value's own ``__repr__``/``__str__`` fails."""
    try:
        return show(value)
    except Exception:  # noqa: BLE001 - a message must never raise
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
        if self.type not in _ACCEPTS:
            raise ValueError(f"unknown parameter type {self.type!r} for {self.name!r} (types: {', '.join(_ACCEPTS)})")
        object.__setattr__(self, "_accepts", _ACCEPTS[self.type][0])  # looked up once, used per call

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be passed as this parameter (None: it can). A ``None`` default,
        say for an omitted bound, may also be passed explicitly."""
        if self._accepts(value) or (value is None and self.default is None):
            return None
        return f"'{self.name}' must be {_ACCEPTS[self.type][1]}, got {_shown(value)}"


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
    message = _printable(str, exc)
    return f"{name} raised {type(exc).__name__}" + (f": {message}" if message else "")


def verdict_of(name: str, result: Any) -> Verdict:
    """A verifier's return value as a plain Verdict, or an ``error`` naming ``name`` when it breaks
    the contract: a bool, a finite number in [0, 1], None (na) or a Verdict whose ``ok`` value is
    one of those, with a known status and a mapping as detail. A NaN, a wrong status or a text
    value never passes as a score."""
    if not isinstance(result, Verdict):
        verdict = Verdict.of(result)
        return verdict.with_reason(name) if not verdict.is_ok else verdict
    if type(result) is Verdict and result.status == "ok" and type(result.value) is bool and type(result.detail) is dict:
        return result  # the common case, already plain
    problem = _verdict_problem(result)
    if problem:
        return Verdict.error(f"{name} returned {problem}")
    reason = result.reason if result.is_ok or isinstance(result.reason, str) else f"{name} gave no reason"
    if result.is_error and not reason.startswith(name):
        reason = f"{name}: {reason}"  # an error names the verifier that found it
    return Verdict(result.status, result.value, reason, result.detail)


def _verdict_problem(verdict: Verdict) -> str | None:
    if verdict.status not in ("ok", "na", "error"):
        return f"an unknown status {verdict.status!r}"
    if not isinstance(verdict.detail, dict):
        return f"a detail that is not a mapping ({type(verdict.detail).__name__})"
    value = verdict.value
    if verdict.is_ok and not (isinstance(value, bool) or _is_number(value) and 0 <= value <= 1):
        return f"ok with {_shown(value)}: a verifier's value is true/false or a number in [0, 1]"
    return None


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
    is pure, fast and total, as the built-in format, reference and IFEval checks are -- nothing can
    stop an in-process call that never returns (exits, its own KeyboardInterrupt and prints are
    still contained). ``fast``: a cheap in-process first attempt of an isolated verifier, under
    the same promise (a Verdict, or None to go to the worker). ``concurrent=True``: an in-process
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
