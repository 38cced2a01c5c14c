"""``skilldsl verifiers``: list every registered verifier with its parameters and doc.

Authors read this to know what ``check:`` can call; ``--plugin MODULE`` (repeatable) first
imports a user module so its ``@verifier`` registrations are listed (and checked) too.
"""
from __future__ import annotations

import argparse
import inspect
import json
import textwrap
from typing import Any

from ._common import add_plugin_argument, import_plugins, reserved_stdout, user_error

__all__ = ["add_parser", "run", "describe", "signature"]


def add_parser(subparsers: Any) -> None:
    """Register ``verifiers`` on the top-level parser."""
    p = subparsers.add_parser("verifiers", help="list the registered verifiers, their parameters and docs",
                              description="List the verifiers a skill's check: can call, with their parameters "
                                          "and docs. Exit 1 when a plugin fails to import or no verifier matches.")
    p.add_argument("names", nargs="*", metavar="NAME", help="only these verifiers (exact names or prefixes such as 'math.')")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_plugin_argument(p)
    p.set_defaults(func=run)


def _default_text(default: Any) -> str:
    return json.dumps(default) if isinstance(default, str) else repr(default) if default is not None else "None"


def signature(spec: Any) -> str:
    """``name(response: text, mode: text = "normalized") -> bool``, as an author writes the call."""
    parts = [
        f"{p.name}: {p.type}" + ("" if p.required else f" = {_default_text(p.default)}") for p in spec.params
    ]
    return f"{spec.name}({', '.join(parts)}) -> {spec.returns}"


def describe(spec: Any) -> dict[str, Any]:
    """A verifier as JSON: name, version, isolate, returns, params (name, type, required, default), doc."""
    params = [
        {"name": p.name, "type": p.type, "required": p.required}
        | ({} if p.required else {"default": p.default})
        for p in spec.params
    ]
    return {"name": spec.name, "version": spec.version, "isolate": spec.isolate, "returns": spec.returns,
            "params": params, "doc": spec.doc}


def _select(specs: list[Any], names: list[str]) -> list[Any]:
    if not names:
        return specs
    return [s for s in specs if any(s.name == n or (n.endswith(".") and s.name.startswith(n)) for n in names)]


def run(args: argparse.Namespace) -> int:
    """List the verifiers; exit 1 when a plugin fails to load or a requested name is unknown."""
    with reserved_stdout() as stdout:  # a plugin printing as it loads must not break the listing (--json)
        return _list(args, stdout)


def _list(args: argparse.Namespace, stdout: Any) -> int:
    from ..verifiers import registry

    import_plugins(args.plugin)  # a plugin that fails is a one-line error (exit 1), as in every command
    specs = _select(registry.all_verifiers(), args.names)
    if args.names and not specs:
        return user_error(f"no verifier matches {' '.join(args.names)}")
    if args.json:
        print(json.dumps([describe(s) for s in specs], indent=2, default=repr), file=stdout)
        return 0
    for spec in specs:
        flags = f"version {spec.version}" + (", isolated" if spec.isolate else "")
        print(f"{signature(spec)}    [{flags}]", file=stdout)
        print(textwrap.indent(inspect.cleandoc(spec.doc) or "(no doc)", "    "), end="\n\n", file=stdout)
    return 0
