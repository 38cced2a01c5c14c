"""Model backends by name: what ``backend="NAME"``, ``--backend NAME`` and a skill's
``models: {alias: {backend: NAME}}`` choose from.

A backend is made by a *factory*: ``factory(spec: ModelSpec, **options) -> Backend``. ``spec`` is
what the skill and the runtime say about one model alias (model id, device, dtype, context,
truncation); ``options`` are the engine's own settings (``backend_options=`` in the API,
``--backend-option KEY=VALUE`` on the command line). A factory declares its options as keyword
parameters, so an unknown or misspelt option is refused when the skill loads, not when the first
request reaches the model (a factory taking ``**options`` accepts any). A factory may also carry
``check_values(**options)``, a cheap check that raises ValueError for a value it cannot use
(``openai``'s ``guided=x``); it runs at load too, its message the one-line error.

Where names come from, in the order a name is looked up:
  - :func:`register` calls (a ``--plugin`` module, or the user's code, before the skill loads);
  - the built-ins: ``transformers`` (the default), ``vllm`` (vLLM in this process; needs the
    ``[vllm]`` extra), ``openai`` (a chat-completions server: vLLM, SGLang...) and ``fake`` (the
    scripted backend of tests and demos);
  - the ``skilldsl.backends`` entry-point group of installed packages: ``mylab =
    "skilldsl_mylab:from_spec"`` names the factory, imported only when that name is used (a
    built-in's name is the built-in's).

Importing this module imports no engine: a factory is imported when its backend is chosen.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["ModelSpec", "BackendConfigError", "DEFAULT_BACKEND", "ENTRY_POINT_GROUP", "register", "unregister",
           "names", "factory", "check_options", "create"]

DEFAULT_BACKEND = "transformers"
ENTRY_POINT_GROUP = "skilldsl.backends"

# the built-in factories, as "module:function" so that naming one imports nothing
_BUILTINS = {
    "transformers": "skilldsl.runtime.backends.hf:from_spec",
    "fake": "skilldsl.runtime.backends.fake:from_spec",
    "openai": "skilldsl.runtime.backends.openai:from_spec",
    "vllm": "skilldsl.runtime.backends.vllm:from_spec",
}
_REGISTERED: dict[str, Callable] = {}


class BackendConfigError(ValueError):
    """A backend name that is not registered, or options its factory does not take."""


@dataclass(frozen=True)
class ModelSpec:
    """One model alias as the skill declares it, with the runtime's overrides applied.

    ``id``: a Hugging Face id, a directory or a ``.gguf`` file; None is the backend's default
    model (the embedded judge). ``truncate`` (``middle`` | ``left`` | ``right``) and
    ``max_prompt_tokens`` come from the skill's ``settings``.
    """

    alias: str = "default"
    id: "str | None" = None
    device: "str | None" = None
    dtype: Any = None
    max_context: "int | None" = None
    truncate: str = "middle"
    max_prompt_tokens: "int | None" = None


def register(name: str, factory: Callable, *, replace: bool = False) -> None:
    """Make ``factory`` the backend called ``name``. A name already taken (a built-in, an
    entry point or an earlier call) is refused unless ``replace``."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise BackendConfigError(f"a backend name must be a non-empty word, not {name!r}")
    if not callable(factory):
        raise BackendConfigError(f"the factory of backend {name!r} is not callable: {factory!r}")
    if not replace and name in names():
        raise BackendConfigError(f"backend {name!r} is registered already (pass replace=True to override it)")
    _REGISTERED[name] = factory


def unregister(name: str) -> None:
    """Forget a :func:`register` call (built-ins and entry points stay)."""
    _REGISTERED.pop(name, None)


def names() -> list[str]:
    """Every backend name this process can use, sorted."""
    return sorted({*_REGISTERED, *_BUILTINS, *_entry_points()})


def factory(name: str) -> Callable:
    """The factory of backend ``name``; :class:`BackendConfigError` naming the registered
    ones if there is none, or saying what to install for a built-in whose module's
    ``unavailable()`` gives a reason (``vllm`` without vLLM)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    target = _BUILTINS.get(name) if isinstance(name, str) else None
    if target is not None:
        module, attribute = target.split(":")
        module = importlib.import_module(module)
        missing = getattr(module, "unavailable", lambda: None)()  # an optional engine not installed
        if missing:
            raise BackendConfigError(missing)
        return getattr(module, attribute)
    point = _entry_points().get(name) if isinstance(name, str) else None
    if point is None:
        raise BackendConfigError(unknown(name))
    try:
        return point.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin is the user's one-line problem
        raise BackendConfigError(f"backend {name!r} (entry point {point.value}) does not import: "
                                 f"{type(exc).__name__}: {exc}") from exc


def unknown(name: Any) -> str:
    """The one-line message for a backend name that is not registered."""
    known = names()
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown backend {name!r}{hint}; registered: {', '.join(known)}"


def check_options(name: str, options: Mapping[str, Any]) -> Callable:
    """The factory of ``name`` once it is known to take ``options``; :class:`BackendConfigError`
    for an unknown name or an option it does not take."""
    make = factory(name)
    try:
        inspect.signature(make).bind(ModelSpec(), **options)
    except TypeError:
        raise BackendConfigError(_bad_options(name, make, options)) from None
    except ValueError:  # no signature to read (a builtin or C callable): the call itself decides
        pass
    check_values = getattr(make, "check_values", None)  # a factory's cheap check of the values themselves
    if check_values is not None:
        try:
            check_values(**options)
        except (TypeError, ValueError) as exc:
            raise BackendConfigError(f"backend {name!r}: {exc}") from None
    return make


def create(name: str, spec: ModelSpec, **options: Any):
    """A new backend ``name`` for ``spec`` with the engine ``options``."""
    return check_options(name, options)(spec, **options)


def _bad_options(name: str, make: Callable, options: Mapping[str, Any]) -> str:
    params = list(inspect.signature(make).parameters.values())[1:]
    takes = [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
    wrong = sorted(set(options) - set(takes))
    missing = [p.name for p in params if p.name in takes and p.default is p.empty and p.name not in options]
    if missing and not wrong:  # e.g. openai's base_url
        return (f"backend {name!r} needs the option {', '.join(map(repr, missing))} "
                f"(--backend-option {missing[0]}=...)")
    wrong = wrong or sorted(options)
    return (f"backend {name!r} takes no option {', '.join(map(repr, wrong))}; "
            f"its options: {', '.join(takes) if takes else 'none'}")


def _entry_points() -> dict:
    """The ``skilldsl.backends`` entry points by name (not imported)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
