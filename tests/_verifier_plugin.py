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
