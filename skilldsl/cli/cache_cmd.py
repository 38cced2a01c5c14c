"""``skilldsl cache``: see and prune what skilldsl keeps on disk (``$SKILLDSL_HOME`` or
``~/.cache/skilldsl``): the embedded judge, converted copies of GGUF models, the LLM result cache
and compiled constraints. ``list`` (the default) shows each entry with its size, ``prune`` removes
what will not be used again, ``clear`` removes whole parts. The work is in
:mod:`skilldsl.runtime.backends.cache_admin`.
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ._common import count

__all__ = ["add_parser", "run", "human_size"]


def add_parser(subparsers: Any) -> None:
    """Register ``cache`` with its actions ``list``, ``prune`` and ``clear``."""
    from ..runtime.backends.cache_admin import PARTS

    p = subparsers.add_parser("cache", help="list, prune or clear what skilldsl keeps on disk",
                              description="List what skilldsl keeps in its cache directory (models, converted "
                                          "model copies, LLM results, constraint indexes), prune what will not be "
                                          "used again, or clear whole parts. Exit 1 when something could not be "
                                          "removed.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="every entry with its size and when it was last used (the default)")
    listing.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    prune = actions.add_parser("prune", help="remove converted copies not used for --days days or whose GGUF "
                                             "changed, unfinished conversions and set-aside damaged LLM caches")
    prune.add_argument("--days", type=count, default=30, metavar="N",
                       help="remove converted copies not used for N days (default: 30)")
    prune.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    clear = actions.add_parser("clear", help="remove whole parts: " + ", ".join(PARTS))
    clear.add_argument("parts", nargs="+", choices=list(PARTS), metavar="PART",
                       help="llm (LLM results), converted (converted model copies), constraints, "
                            "models (everything under models/: fetched or converted again on next use)")
    clear.add_argument("--dry-run", action="store_true", help="only say what would be removed")


def run(args: argparse.Namespace) -> int:
    """List, prune or clear; exit 1 when an entry could not be removed."""
    from ..runtime.backends import cache_admin

    if args.action in (None, "list"):  # `skilldsl cache` lists
        return _list(cache_admin.inventory(), args.json)
    if args.action == "prune":
        return _report(cache_admin.prune(days=args.days, dry_run=args.dry_run), args.dry_run)
    return _report(cache_admin.clear(args.parts, dry_run=args.dry_run), args.dry_run)


def human_size(n: int) -> str:
    """``n`` bytes in binary units: ``512 B``, ``93.8 MiB``."""
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024:
            break
    return f"{size:.1f} {unit}"


def _list(entries: list, as_json: bool) -> int:
    from ..runtime.backends.models import cache_home

    total = sum(e.bytes for e in entries)
    if as_json:
        print(json.dumps({"root": str(cache_home()), "bytes": total, "entries": [e.as_json() for e in entries]},
                         indent=2))
        return 0
    rows = [(_label(e), _relative(e.path), human_size(e.bytes), _when(e.last_used), _describe(e)) for e in entries]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(_HEADER)]
    for row in [_HEADER, *rows]:
        print("  ".join(cell.ljust(w) if i != 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
              .rstrip())
    print(f"total {human_size(total)} in {cache_home()}")
    return 0


_HEADER = ("kind", "path", "size", "last used", "details")


def _report(entries: list, dry_run: bool) -> int:
    """One line per entry removed (or that would be), a total, and the failures; exit 1 on one."""
    if not entries:
        print("nothing to remove")
        return 0
    verb = "would remove" if dry_run else "removed"
    failed = [e for e in entries if e.error]
    for entry in entries:
        if entry.error:
            print(f"could not remove {_relative(entry.path)}: {entry.error}")
        else:
            why = f": {entry.reason}" if entry.reason else ""
            print(f"{verb} {_relative(entry.path)} ({human_size(entry.bytes)}){why}")
    freed = sum(e.bytes for e in entries if not e.error)
    print(f"{verb} {len(entries) - len(failed)} entries, {human_size(freed)}"
          + (f"; {len(failed)} could not be removed" if failed else ""))
    return 1 if failed else 0


def _label(entry) -> str:
    return "embedded judge" if entry.details.get("embedded_judge") else entry.kind


def _relative(path) -> str:
    from ..runtime.backends.models import cache_home

    try:
        return str(path.relative_to(cache_home()))
    except ValueError:
        return str(path)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _describe(entry) -> str:
    """A converted copy: what made it and whether this environment loads it."""
    d = entry.details
    if entry.kind == "partial":
        return "an unfinished (or running) conversion"
    if entry.kind == "llm-cache-corrupt":
        return "damaged, set aside"
    if entry.kind != "converted":
        return ""
    if d["made_by"] == "unknown":
        return "made by an older skilldsl (source unknown)"
    if d["source_state"] != "ok":
        return f"{d['made_by']}, {d['dtype']}: source GGUF {d['source_state']} ({d['source']})"
    use = "used by this environment" if d["used_here"] else "not used by this environment"
    return f"{d['made_by']}, {d['dtype']}, {use}"
