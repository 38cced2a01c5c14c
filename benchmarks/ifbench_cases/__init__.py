"""Candidate responses for the IFBench differential test (benchmarks/ifbench_reference.py).

Each family module here (``count``, ``words``, ...) defines ``RESPONSES: dict[id, f(kwargs, prompt)
-> list[str]]`` (responses that follow, that narrowly violate, and edge cases for that id) and
``EXTRA_KWARGS: dict[id, list[dict]]`` (kwargs beyond the data's, at the boundaries). ``edges``
adds the generic edge responses every id gets. Modules here import only the standard library:
they also run under the reference venv (/work/venv-ifbench), which has no skilldsl.
"""
from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

__all__ = ["Cases", "load"]

_NOT_FAMILIES = {"edges"}


class Cases:
    """Every family's generators, merged: ``responses[id]`` is a list of ``(family, f)``."""

    def __init__(self) -> None:
        self.responses: "dict[str, list[tuple[str, Callable[[dict, str], list[str]]]]]" = {}
        self.extra_kwargs: "dict[str, list[dict]]" = {}
        self.problems: "list[str]" = []  # family modules that failed to import, with why

    def add(self, name: str, module: ModuleType) -> None:
        for iid, make in getattr(module, "RESPONSES", {}).items():
            self.responses.setdefault(iid, []).append((name, make))
        for iid, extra in getattr(module, "EXTRA_KWARGS", {}).items():
            self.extra_kwargs.setdefault(iid, []).extend(extra)

    def candidates(self, iid: str, kwargs: dict, prompt: str) -> "list[tuple[str, str]]":
        """``(source, response)`` pairs for one instruction: the families' responses, in order,
        duplicates dropped; a generator that raises is reported in :attr:`problems`."""
        seen: set[str] = set()
        out = []
        for family, make in self.responses.get(iid, []):
            try:
                made = list(make(dict(kwargs), prompt))
            except Exception as exc:  # a case generator bug must not hide the other cases
                self.problems.append(f"{family}.RESPONSES[{iid!r}]({kwargs}) raised {exc!r}")
                continue
            for response in made:
                if isinstance(response, str) and response not in seen:
                    seen.add(response)
                    out.append((family, response))
        return out


def load() -> Cases:
    """Import every family module in this folder (a failing one is reported, not fatal)."""
    cases = Cases()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _NOT_FAMILIES:
            continue
        try:
            module = importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # e.g. a family module importing skilldsl under the reference venv
            cases.problems.append(f"cannot import {info.name}: {exc!r}")
            continue
        cases.add(info.name, module)
    return cases
