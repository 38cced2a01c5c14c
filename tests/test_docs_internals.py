"""docs/internals.md stays true to the code where it lists things the code defines."""
from __future__ import annotations

import re
from pathlib import Path

from skilldsl.cli.verifiers_cmd import signature
from skilldsl.verifiers import registry

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")


def test_builtin_verifier_table_matches_the_registry():
    rows = {name: (params, value) for name, params, value in
            re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| `([^`]*)`(?:[^|\\]|\\.)*\| ([a-z]+)", DOC, re.M)}
    registry.load_plugins([])
    builtins = {s.name: s for s in registry.all_verifiers() if s.func.__module__.startswith("skilldsl.")}
    assert set(rows) == set(builtins)
    for name, (params, value) in rows.items():
        spec = builtins[name]
        assert signature(spec) == f"{name}({params}) -> {spec.returns}"
        assert value == spec.returns, f"{name}: the table says {value}, the verifier returns {spec.returns}"


def test_each_section_once_and_every_module_in_the_map():
    headings = re.findall(r"^#+ .*$", DOC, re.M)
    assert len(headings) == len(set(headings))
    mapped = DOC.split("## Module map", 1)[1].split("\n## ", 1)[0]
    for path in (ROOT / "skilldsl").rglob("*.py"):
        if path.name in ("__init__.py", "__main__.py") or path.stem.endswith("_cmd"):
            continue  # subcommands: "one module per subcommand"
        assert path.stem in mapped, f"{path.relative_to(ROOT)} is missing from the module map"
