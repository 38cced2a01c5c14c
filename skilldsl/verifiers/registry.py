"""The verifier registry: small named functions whose name, version and parameters the IR records.

The IR names a verifier and its arguments, never a Python object, so a compiled skill stays
reproducible: the reward id changes when a verifier's ``version`` does.
"""
from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from ..values import Value as Verdict  # the name plugins use for the one ok/na/error type

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
]

_TYPES = ("text", "number", "integer", "bool", "list", "json", "any")


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
        if type_ not in _TYPES:
            raise ValueError(f"unknown parameter type {type_!r} in {spec!r}")
        value = inspect.Parameter.empty
        if default.strip():
            import ast

            value = ast.literal_eval(default.strip())
        return cls(name.strip(), type_, value)


@dataclass(frozen=True)
class VerifierSpec:
    """What the compiler checks a call against and the IR records."""

    name: str
    version: str
    params: tuple[Param, ...]
    doc: str
    func: Callable[..., Any] = field(compare=False, repr=False)
    isolate: bool = False  # run in a worker process (signal-based timeouts, crash isolation)
    # optional cheap in-process attempt for an isolated verifier: returns a Verdict, or None
    # when the call needs the isolated path (math: plain numbers need no CAS, no worker)
    fast: "Callable[..., Verdict | None] | None" = field(default=None, compare=False, repr=False)
    # the call mostly waits (on its own subprocess, e.g. a sandbox run), not on the GIL: calls of
    # one batch run on threads, in parallel; it must bound its own time (no worker to kill)
    concurrent: bool = False

    @property
    def positional(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.required)

    def call(self, *args: Any, **kwargs: Any) -> Verdict:
        """Run the verifier in this process; exceptions become ``error`` verdicts."""
        return call_function(self.name, self.func, args, kwargs)

    def try_fast(self, *args: Any, **kwargs: Any) -> Verdict | None:
        """The ``fast`` hook's verdict, or None when there is none or it defers to ``call``."""
        if self.fast is None:
            return None
        try:
            result = self.fast(*args, **kwargs)
        except Exception as exc:  # same contract as call(): never raise
            return Verdict.error(f"{self.name} raised {type(exc).__name__}: {exc}")
        return None if result is None else Verdict.of(result)


def call_function(name: str, func: Callable[..., Any], args: Any, kwargs: Any) -> Verdict:
    """Run verifier ``func`` (registered as ``name``); exceptions become ``error`` verdicts.

    Shared by ``VerifierSpec.call`` and the worker pool so both report failures identically.
    """
    try:
        return Verdict.of(func(*args, **kwargs))
    except Exception as exc:  # a verifier bug must not crash a batch
        return Verdict.error(f"{name} raised {type(exc).__name__}: {exc}")


_REGISTRY: dict[str, VerifierSpec] = {}
_BUILTINS_LOADED = False


def verifier(
    name: str,
    *,
    version: str = "1",
    params: "tuple[str | Param, ...] | list[str | Param]" = (),
    doc: str | None = None,
    isolate: bool = False,
    fast: "Callable[..., Verdict | None] | None" = None,
    concurrent: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``func`` as verifier ``name`` (a dotted name such as ``math.equivalent``).

    ``isolate``: run in a worker process; ``fast``: its cheap in-process first attempt;
    ``concurrent``: a non-isolated call that waits on a subprocess, run on a thread.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"verifier {name!r} is already registered")
        _REGISTRY[name] = VerifierSpec(
            name=name,
            version=str(version),
            params=tuple(Param.parse(p) for p in params),
            doc=inspect.cleandoc(doc or func.__doc__ or ""),
            func=func,
            isolate=isolate,
            fast=fast,
            concurrent=concurrent,
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
