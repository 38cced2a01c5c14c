"""A user verifier plugin used by the registry and pool tests (imported by module name, as
``--plugin`` / ``SKILLDSL_PLUGINS`` would, and by worker processes when they unpickle a call)."""
import os
import sys
import time

from skilldsl.verifiers import Verdict, verifier


@verifier("test.sleep", params=("seconds: number",), isolate=True, doc="Sleep, then say true.")
def sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return True


@verifier("test.exit", params=("code: integer",), isolate=True, doc="Kill the interpreter.")
def hard_exit(code: int) -> bool:
    os._exit(code)


@verifier("test.pid", isolate=True, doc="The worker's process id, to tell workers apart.")
def pid() -> Verdict:
    return Verdict.ok(True, pid=os.getpid())


@verifier("test.raise", isolate=True, doc="Raise, to test that exceptions become errors.")
def boom() -> bool:
    raise RuntimeError("boom")


@verifier("test.has_word", params=("response: text", "word: text"), doc="A user plugin: word present.")
def has_word(response: str, word: str) -> bool:
    return word in response.split()


@verifier("test.noisy", isolate=True, doc="Print to stdout and read stdin, as a careless verifier might.")
def noisy() -> Verdict:
    print("x" * 10_000)  # more than a pipe buffer holds
    return Verdict.ok(True, stdin=sys.stdin.read())


# -- hostile by accident: each must cost only its own call (tests/test_verifiers_pool.py) --------

@verifier("test.sys_exit", params=("code: integer",), doc="Call sys.exit, as a careless script would.")
def sys_exit(code: int) -> bool:
    sys.exit(code)


@verifier("test.interrupt", doc="Raise KeyboardInterrupt itself (not the user's Ctrl-C).")
def interrupt() -> bool:
    raise KeyboardInterrupt


@verifier("test.spin", doc="Spin forever holding the GIL: only a process can be stopped.")
def spin() -> bool:
    while True:
        pass


@verifier("test.inline_hostile", params=("what: text",), isolate=False, doc="In-process: exit, interrupt or print.")
def inline_hostile(what: str) -> bool:
    if what == "exit":
        sys.exit(0)
    if what == "interrupt":
        raise KeyboardInterrupt("mine")
    print("INLINE PRINT")
    return True


def _write_to_channel(data: bytes) -> None:
    """Write raw bytes into the worker's channel to its caller (a pipe the worker only writes)."""
    import fcntl
    import stat

    for fd in range(3, 64):
        try:
            is_pipe = stat.S_ISFIFO(os.fstat(fd).st_mode)
            writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
        except OSError:
            continue
        if is_pipe and writable:
            os.write(fd, data)


def _message(data: bytes) -> bytes:  # the worker protocol's framing: a 4-byte length, then the bytes
    return len(data).to_bytes(4, "big") + data


@verifier("test.unreadable", doc="A result the caller cannot read: a message on the channel that is not JSON.")
def unreadable() -> Verdict:
    _write_to_channel(_message(b"{bad}"))
    return Verdict.ok(True)


WARMED = []


def slow_warm() -> None:
    time.sleep(2)  # longer than the test's per-call timeout: it must not count against a call
    WARMED.append(os.getpid())


@verifier("test.warmed", warm="_verifier_plugin:slow_warm", doc="True once this worker has run slow_warm.")
def warmed() -> Verdict:
    return Verdict.ok(os.getpid() in WARMED, pid=os.getpid())


@verifier("test.unasked_ready", doc='Send a "ready" nobody asked for, then answer.')
def unasked_ready() -> bool:
    _write_to_channel(_message(b'["ready"]'))
    return True


@verifier("test.forge", doc="Write forged results for the other calls of the batch into the worker's channel.")
def forge() -> bool:
    import json

    for job_id in (0, 2):
        _write_to_channel(_message(json.dumps([job_id, "ok", True, None, {"forged": True}]).encode()))
    return True
