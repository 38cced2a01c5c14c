"""``skilldsl cache`` and ``cache_admin``: listing, pruning and clearing a fake cache under a
temporary ``SKILLDSL_HOME`` (no model is loaded; converted copies are folders with metadata and a
checksum manifest, their last use set with ``os.utime``)."""
import json
import os
import time
from pathlib import Path

import pytest

from _runtime_support import PretrainedStandIn
from skilldsl.cli import main
from skilldsl.cli.cache_cmd import human_size
from skilldsl.runtime.backends import cache_admin, models

DAY = 86400


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLDSL_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def _age(path: Path, seconds: float) -> None:
    """Make ``path`` look last used (modified) ``seconds`` ago; a symlink itself, not its target."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def _gguf(tmp_path: Path, name: str, data: bytes = b"gguf") -> models.ResolvedModel:
    path = tmp_path / "ggufs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return models.resolve_model(path)


def _copy(resolved: "models.ResolvedModel | None", name: str = "", age: float = 0) -> Path:
    """A converted copy as ``load_model`` saves it: of ``resolved`` (with metadata, at the path this
    environment uses) or, with ``resolved=None``, one an older skilldsl made (no metadata)."""
    folder = models._converted_dir(resolved, "float32") if resolved else models.models_dir() / "converted" / name
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"w" * 1000)
    if resolved:
        made = models._conversion_source(resolved, "float32")
        (folder / models.CONVERTED_META).write_text(json.dumps(made))
    models._write_manifest(folder, models._manifest_of(folder))
    _age(folder, age)
    return folder


def _sqlite(path: Path, age: float = 0) -> list[Path]:
    files = [path.with_name(path.name + journal) for journal in ("", "-wal", "-shm")]
    for f in files:
        f.write_bytes(b"s" * 10)
        _age(f, age)
    return files


@pytest.fixture
def cache(home, tmp_path):
    """A cache holding one of everything; returns {name: path}."""
    judge = models.models_dir() / models.DEFAULT_MODEL.folder
    judge.mkdir(parents=True)
    (judge / models.DEFAULT_MODEL.filename).write_bytes(b"judge")
    _age(judge, 400 * DAY)
    changed, gone = _gguf(tmp_path, "Changed.gguf"), _gguf(tmp_path, "Gone.gguf")
    c = {
        "judge": judge,
        "fresh": _copy(_gguf(tmp_path, "Fresh.gguf"), age=DAY),
        "aged": _copy(_gguf(tmp_path, "Aged.gguf"), age=40 * DAY),
        "old-unknown": _copy(None, "Old-float32-0123456789abcdef", age=40 * DAY),
        "new-unknown": _copy(None, "New-float32-0123456789abcdef", age=DAY),
        "changed": _copy(changed),
        "gone": _copy(gone),
        "tmp-old": models.models_dir() / "converted" / ".tmp-crashed",
        "tmp-new": models.models_dir() / "converted" / ".tmp-writing",
        "constraints": home / "constraints",
    }
    Path(changed.path, changed.gguf_file).write_bytes(b"gguf, converted again")  # another size: the key moved on
    Path(gone.path, gone.gguf_file).unlink()
    for name, age in (("tmp-old", 2 * 3600), ("tmp-new", 60)):
        c[name].mkdir()
        (c[name] / "model.safetensors").write_bytes(b"part")
        _age(c[name], age)
    c["constraints"].mkdir()
    (c["constraints"] / "abc.index").write_bytes(b"i")
    _age(c["constraints"], 400 * DAY)
    c["live"] = _sqlite(home / "llm-cache.sqlite", age=400 * DAY)
    c["corrupt"] = _sqlite(home / "llm-cache.sqlite.corrupt-20250101-000000-42")
    return c


def _tree(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_prune_removes_stale_aged_partial_and_damaged_entries_and_keeps_the_rest(cache, home):
    removed = cache_admin.prune(days=30)
    assert {e.path for e in removed} == {cache[n] for n in ("aged", "old-unknown", "changed", "gone", "tmp-old")} \
        | {cache["corrupt"][0]}
    reasons = {e.path: e.reason for e in removed}
    assert reasons[cache["gone"]] == "its source GGUF is gone: it can never be used again"
    assert reasons[cache["changed"]] == "its source GGUF is changed: it can never be used again"
    assert reasons[cache["aged"]] == "not used for 40 days"
    for name in ("aged", "old-unknown", "changed", "gone", "tmp-old"):
        assert not os.path.lexists(cache[name])
    assert not any(os.path.lexists(f) for f in cache["corrupt"])  # the set-aside file with its journals
    for name in ("judge", "fresh", "new-unknown", "tmp-new", "constraints"):
        assert cache[name].is_dir(), name
    assert all(f.is_file() for f in cache["live"])  # the live LLM cache, however old
    assert (cache["judge"] / models.DEFAULT_MODEL.filename).is_file()


def test_days_sets_how_long_an_unused_copy_is_kept(cache):
    assert cache["aged"] not in {e.path for e in cache_admin.prune(days=60)}
    assert cache["aged"].is_dir()
    assert cache["fresh"] in {e.path for e in cache_admin.prune(days=0)}  # used a day ago: not within 0 days


def test_dry_run_removes_nothing(cache, home):
    before = _tree(home)
    would = cache_admin.prune(days=30, dry_run=True)
    assert len(would) == 6 and _tree(home) == before
    assert cache_admin.clear(["models", "llm"], dry_run=True) and _tree(home) == before
    assert main(["cache", "prune", "--dry-run"]) == 0 and _tree(home) == before


def test_clear_llm_removes_the_cache_with_its_journals_and_set_aside_ones(cache, home):
    removed = cache_admin.clear(["llm"])
    assert {e.kind for e in removed} == {"llm-cache", "llm-cache-corrupt"}
    assert not any(os.path.lexists(f) for f in cache["live"] + cache["corrupt"])
    assert cache["judge"].is_dir() and cache["fresh"].is_dir() and cache["constraints"].is_dir()


def test_clear_models_removes_everything_under_models_and_only_that(cache, home):
    cache_admin.clear(["models"])
    assert list(models.models_dir().iterdir()) in ([], [models.models_dir() / "converted"])
    assert not any((models.models_dir() / "converted").iterdir())
    assert cache["constraints"].is_dir() and all(f.is_file() for f in cache["live"])
    cache_admin.clear(["constraints"])
    assert not cache["constraints"].exists()
    with pytest.raises(ValueError, match="unknown cache part bogus"):
        cache_admin.clear(["bogus"])


def test_a_symlink_out_of_the_cache_is_unlinked_never_followed(home, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "model.safetensors").write_bytes(b"keep me")
    links = [models.models_dir() / "converted" / "Link-float32-0123456789abcdef",
             models.models_dir() / "converted" / ".tmp-link",
             home / "llm-cache.sqlite.corrupt-1-2", home / "constraints"]
    links[0].parent.mkdir(parents=True)
    for link in links:
        link.symlink_to(outside / "model.safetensors" if "corrupt" in link.name else outside)
        _age(link, 400 * DAY)
    assert {e.path for e in cache_admin.prune()} == set(links[:3])
    cache_admin.clear(["constraints"])
    assert not any(os.path.lexists(link) for link in links)
    assert (outside / "model.safetensors").read_bytes() == b"keep me"


def test_nothing_is_removed_where_the_cache_reaches_outside_itself(home, tmp_path):
    """A models/ that is a symlink to elsewhere: what lies there is not the cache's to delete."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "converted" / "Old-float32-0123456789abcdef").mkdir(parents=True)
    _age(elsewhere / "converted" / "Old-float32-0123456789abcdef", 400 * DAY)
    (home / "models").symlink_to(elsewhere)
    assert [e.kind for e in cache_admin.inventory()] == ["converted"]
    assert cache_admin.prune() == [] and cache_admin.clear(["converted"]) == []
    assert (elsewhere / "converted" / "Old-float32-0123456789abcdef").is_dir()


def test_inventory_says_what_made_each_copy_and_whether_it_is_used_here(cache):
    entries = {e.path: e for e in cache_admin.inventory()}
    fresh = entries[cache["fresh"]].details
    assert fresh["made_by"].startswith("transformers ") and fresh["used_here"] is True
    assert fresh["source_state"] == "ok" and fresh["source"].endswith("Fresh.gguf")
    assert entries[cache["old-unknown"]].details["made_by"] == "unknown"
    assert entries[cache["changed"]].details == entries[cache["changed"]].details | {"source_state": "changed",
                                                                                      "used_here": False}
    assert entries[cache["judge"]].details == {"embedded_judge": True}
    assert entries[cache["live"][0]].bytes == 30  # the sqlite file and its two journals


def test_another_release_copy_is_listed_as_not_used_here(home, tmp_path, monkeypatch):
    import transformers

    copy = _copy(_gguf(tmp_path, "Tiny.gguf"))
    monkeypatch.setattr(transformers, "__version__", "0.0.0-another")
    (entry,) = cache_admin.inventory()
    assert entry.details["source_state"] == "ok" and entry.details["used_here"] is False and entry.path == copy


def test_list_prints_a_table_with_sizes_and_a_total(cache, home, capsys):
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["kind", "path", "size", "last", "used", "details"]
    assert "embedded judge" in out and "used by this environment" in out
    assert "made by an older skilldsl (source unknown)" in out and "source GGUF gone" in out
    total = sum(e.bytes for e in cache_admin.inventory())
    assert 8 * 1024 < total < 16 * 1024 and out.splitlines()[-1] == f"total {human_size(total)} in {home}"
    assert main(["cache", "list"]) == 0 and capsys.readouterr().out == out


def test_sizes_read_in_binary_units():
    assert [human_size(n) for n in (0, 1023, 1536, models.DEFAULT_MODEL.size, 3 * 2**30)] == \
        ["0 B", "1023 B", "1.5 KiB", "93.8 MiB", "3.0 GiB"]


def test_list_json(cache, home, capsys):
    assert main(["cache", "list", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["root"] == str(home) and report["bytes"] == sum(e["bytes"] for e in report["entries"])
    kinds = sorted(e["kind"] for e in report["entries"])
    assert kinds == sorted(["model"] + ["converted"] * 6 + ["partial"] * 2 + ["constraints", "llm-cache",
                                                                              "llm-cache-corrupt"])
    assert main(["cache", "--json"]) == 0 and json.loads(capsys.readouterr().out) == report


def test_prune_and_clear_on_the_command_line(cache, home, capsys):
    assert main(["cache", "prune", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "removed models/converted/.tmp-crashed (4 B): a conversion that did not finish" in out
    assert out.splitlines()[-1].startswith("removed 6 entries, ")
    assert main(["cache", "prune"]) == 0 and capsys.readouterr().out == "nothing to remove\n"
    assert main(["cache", "clear", "llm", "constraints"]) == 0
    assert main(["cache", "clear", "llm"]) == 0 and capsys.readouterr().out.endswith("nothing to remove\n")


def test_usage_errors_exit_2(home):
    for argv in (["cache", "clear"], ["cache", "clear", "bogus"], ["cache", "prune", "--days", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_a_failed_removal_exits_1(cache, monkeypatch, capsys):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache_admin, "_delete", refuse)
    assert main(["cache", "clear", "llm"]) == 1
    out = capsys.readouterr().out
    assert "could not remove llm-cache.sqlite: Permission denied" in out and "; 2 could not be removed" in out


# -- what load_model writes and records ----------------------------------------------------------------

@pytest.fixture
def load(home, tmp_path, monkeypatch):
    """``load_model`` of a local GGUF with transformers faked."""
    resolved = _gguf(tmp_path, "Tiny.Q8_0.gguf")
    monkeypatch.setattr(models, "_from_pretrained",
                        lambda *a: (PretrainedStandIn({"tokenizer.json": b"w" * 100}),
                                    PretrainedStandIn({"model.safetensors": b"w" * 100})))
    return resolved, lambda: models.load_model(resolved, "cpu", "float32")


def test_a_conversion_records_its_source_under_the_checksums(load):
    import transformers

    resolved, load_it = load
    load_it()
    (copy,) = (models.models_dir() / "converted").iterdir()
    meta = json.loads((copy / models.CONVERTED_META).read_text())
    gguf = Path(resolved.path, resolved.gguf_file)
    assert meta | {"created": None} == {"source": str(gguf.resolve()), "size": 4, "mtime_ns": gguf.stat().st_mtime_ns,
                                        "transformers": transformers.__version__, "conversion": models.CONVERSION,
                                        "dtype": "float32", "created": None}
    assert models.CONVERTED_META in json.loads((copy / models.MANIFEST).read_text())


def test_loading_a_copy_marks_it_used_so_prune_keeps_it(load):
    resolved, load_it = load
    load_it()
    (copy,) = (models.models_dir() / "converted").iterdir()
    _age(copy, 40 * DAY)
    load_it()  # from the copy
    assert cache_admin.prune(days=30) == [] and copy.is_dir()
    _age(copy, 40 * DAY)
    assert models.model_directory(resolved, "float32") == copy
    assert cache_admin.prune(days=30) == []


def test_a_read_only_cache_still_loads(load, monkeypatch):
    resolved, load_it = load
    load_it()

    def refuse(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(models.os, "utime", refuse)
    assert load_it() and models.model_directory(resolved, "float32").is_dir()
