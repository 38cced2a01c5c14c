"""What skilldsl keeps on disk under :func:`~.models.cache_home`, and removing what is no longer used.

The cache holds the embedded judge (``models/<folder>/``), converted safetensors copies of GGUF
files (``models/converted/``, one per GGUF, dtype and transformers release: an upgrade leaves the
old one behind), the LLM result cache (``llm-cache.sqlite`` with its journals, and damaged ones
set aside as ``llm-cache.sqlite.corrupt-*``) and compiled constraint indexes (``constraints/``).
:func:`inventory` lists them, :func:`prune` removes what cannot or will not be used again and
:func:`clear` removes whole parts; ``skilldsl cache`` is the command line over them.

Removal never leaves the cache: a path whose real location (its parent, resolved) is not inside
the cache is left alone, and a symlink is unlinked, never followed.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cache import default_cache_path
from .models import (CONVERTED_META, DEFAULT_MODEL, ResolvedModel, _conversion_source, _converted_key, cache_home,
                     models_dir)

__all__ = ["Entry", "PARTS", "inventory", "prune", "clear"]

# What `clear` removes, by part: "models" is everything under models/ (fetched or converted again on next use).
PARTS = {
    "llm": ("llm-cache", "llm-cache-corrupt"),
    "converted": ("converted", "partial"),
    "constraints": ("constraints",),
    "models": ("model", "converted", "partial"),
}
_JOURNALS = ("", "-wal", "-shm")  # an sqlite file and the journals that go with it
_PARTIAL_AGE = 3600  # seconds: a younger .tmp-* dir may be a conversion still being written
_DAY = 86400


@dataclass(frozen=True)
class Entry:
    """One thing in the cache.

    ``kind``: ``model`` (under models/, the embedded judge among them), ``converted`` (a converted
    copy), ``partial`` (a conversion that did not finish), ``llm-cache``, ``llm-cache-corrupt`` (one
    set aside), ``constraints`` or ``other``. ``last_used`` is the mtime (a converted copy's is set
    each time it is loaded); ``files`` are what removing it deletes; ``reason`` says why
    :func:`prune` removes it, ``error`` why removing it failed."""

    kind: str
    path: Path
    bytes: int
    last_used: float
    details: dict = field(default_factory=dict)
    files: tuple = ()
    reason: "str | None" = None
    error: "str | None" = None

    def as_json(self) -> dict:
        """The entry as JSON (``last_used`` in UTC, ISO 8601)."""
        out = {"kind": self.kind, "path": str(self.path), "bytes": self.bytes,
               "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_used)), "details": self.details}
        return out | {k: v for k, v in (("reason", self.reason), ("error", self.error)) if v is not None}


def inventory() -> list[Entry]:
    """Everything under the cache root, one entry per removable unit."""
    root = cache_home()
    return [*_model_entries(models_dir()), *_converted_entries(models_dir() / "converted"), *_top_entries(root)]


def prune(days: float = 30, dry_run: bool = False) -> list[Entry]:
    """Remove (with ``dry_run``, only list) what will not be used again: converted copies not used
    for ``days`` days or whose source GGUF is gone or changed (their key can never be hit again),
    ``.tmp-*`` conversions older than an hour and LLM caches set aside as damaged. Never the models
    under models/, the live LLM cache, the constraint indexes, nor a copy of an unchanged GGUF used
    within ``days``. Returns the entries removed (or that would be), each with its ``reason``; an
    entry that could not be removed has an ``error``."""
    now = time.time()
    doomed = [dataclasses.replace(e, reason=why) for e in inventory() if (why := _prune_reason(e, days, now))]
    return _remove(doomed, dry_run)


def clear(parts, dry_run: bool = False) -> list[Entry]:
    """Remove whole parts of the cache (names in :data:`PARTS`): ``llm`` (the LLM result cache with
    its journals, and set-aside ones), ``converted``, ``constraints``, ``models`` (everything under
    models/, the embedded judge too: fetched again on next use). Returns the entries removed."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown cache part {', '.join(unknown)}: use {', '.join(PARTS)}")
    kinds = {kind for part in parts for kind in PARTS[part]}
    return _remove([e for e in inventory() if e.kind in kinds], dry_run)


# -- what is there ------------------------------------------------------------------------------

def _model_entries(folder: Path) -> list[Entry]:
    return [_entry("model", p, {"embedded_judge": p.name == DEFAULT_MODEL.folder})
            for p in _children(folder) if p.name != "converted"]


def _converted_entries(folder: Path) -> list[Entry]:
    return [_entry("partial", p) if p.name.startswith(".tmp-") else _entry("converted", p, _converted_details(p))
            for p in _children(folder)]


def _top_entries(root: Path) -> list[Entry]:
    """The LLM caches (grouped with their journals), ``constraints/`` and anything else at the top."""
    live = default_cache_path().name
    entries, sqlite = [], {}  # sqlite: the base name of each LLM cache (a dict keeps the order)
    for path in _children(root):
        base = _sqlite_base(path.name)
        if base == live or base.startswith(f"{live}.corrupt-"):
            sqlite[base] = "llm-cache" if base == live else "llm-cache-corrupt"
        elif path.name == "constraints":
            entries.append(_entry("constraints", path))
        elif path.name != "models":
            entries.append(_entry("other", path))
    return entries + [_sqlite_entry(kind, root / base) for base, kind in sqlite.items()]


def _sqlite_base(name: str) -> str:
    for journal in _JOURNALS[1:]:
        if name.endswith(journal):
            return name[: -len(journal)]
    return name


def _sqlite_entry(kind: str, path: Path) -> Entry:
    files = tuple(path.with_name(path.name + journal) for journal in _JOURNALS)
    present = [f for f in files if os.path.lexists(f)]
    return Entry(kind, path, sum(_size(f) for f in present), max(map(_mtime, present), default=0.0), {}, files)


def _entry(kind: str, path: Path, details: "dict | None" = None) -> Entry:
    return Entry(kind, path, _size(path), _mtime(path), details or {}, (path,))


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(folder))
    except OSError:  # not there (yet), or not a directory
        return []


def _size(path: Path) -> int:
    """Bytes in ``path`` (a directory's files, summed), never following a symlink."""
    try:
        if not stat.S_ISDIR(path.lstat().st_mode):
            return path.lstat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _, names in os.walk(path):  # os.walk does not descend into symlinked directories
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


# -- converted copies -----------------------------------------------------------------------------

def _converted_details(path: Path) -> dict:
    """What a converted copy was made from (``made_by`` ``unknown`` for one an older skilldsl made)
    and whether its source is unchanged (``source_state`` ok, changed, gone) and this environment
    would load it (``used_here``)."""
    meta = _read_meta(path)
    if meta is None:
        return {"made_by": "unknown", "source": None, "source_state": "unknown", "used_here": None}
    state = _source_state(meta)
    return {"made_by": f"transformers {meta['transformers']}", "dtype": meta["dtype"], "source": meta["source"],
            "source_state": state, "used_here": state == "ok" and _used_here(path, meta)}


def _read_meta(path: Path) -> "dict | None":
    if path.is_symlink():
        return None
    try:
        meta = json.loads((path / CONVERTED_META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    types = {"source": str, "size": int, "mtime_ns": int, "transformers": str, "conversion": int, "dtype": str}
    ok = isinstance(meta, dict) and all(isinstance(meta.get(k), t) for k, t in types.items())
    return meta if ok else None


def _source_state(meta: dict) -> str:
    try:
        now = os.stat(meta["source"])
    except OSError:
        return "gone"
    return "ok" if (now.st_size, now.st_mtime_ns) == (meta["size"], meta["mtime_ns"]) else "changed"


def _used_here(path: Path, meta: dict) -> bool:
    """Whether this environment (its transformers release) would load ``path`` for its source:
    the name :func:`~.models._converted_dir` gives it ends with the same dtype and key."""
    source = Path(meta["source"])
    try:
        now = _conversion_source(ResolvedModel(str(source.parent), source.name, source.stem), meta["dtype"])
    except (OSError, ImportError):
        return False
    return path.name.endswith(f"-{now['dtype']}-{_converted_key(now)}")


def _prune_reason(entry: Entry, days: float, now: float) -> "str | None":
    """Why :func:`prune` removes ``entry``, or None to keep it."""
    age = now - entry.last_used
    if entry.kind == "llm-cache-corrupt":
        return "a damaged LLM cache, set aside"
    if entry.kind == "partial":
        return "a conversion that did not finish" if age > _PARTIAL_AGE else None
    if entry.kind != "converted":
        return None
    if entry.details["source_state"] in ("gone", "changed"):
        return f"its source GGUF is {entry.details['source_state']}: it can never be used again"
    return f"not used for {_duration(age)}" if age > days * _DAY else None


def _duration(seconds: float) -> str:
    return f"{int(seconds // _DAY)} days" if seconds >= 2 * _DAY else f"{int(seconds // 3600)} hours"


# -- removing ------------------------------------------------------------------------------------

def _remove(entries: list[Entry], dry_run: bool) -> list[Entry]:
    """Delete the files of each entry that lies inside the cache; the entries, with an ``error``
    where deleting failed (entries outside the cache are left out: they are not removed)."""
    root = cache_home()
    done = []
    for entry in entries:
        if not all(_inside(f, root) for f in entry.files):
            continue
        try:
            if not dry_run:
                for path in entry.files:
                    _delete(path)
        except OSError as exc:
            entry = dataclasses.replace(entry, error=f"{exc.strerror or exc}: {exc.filename or entry.path}")
        done.append(entry)
    return done


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path`` itself (not what a symlink there points to) lies inside ``root``, below it."""
    try:
        where = path.parent.resolve(strict=True) / path.name
        top = root.resolve(strict=True)
    except OSError:
        return False
    return where != top and where.is_relative_to(top)


def _delete(path: Path) -> None:
    """Delete a file or a directory tree; a symlink is unlinked, never followed."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)
