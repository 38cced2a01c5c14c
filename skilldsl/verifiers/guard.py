"""Keep a verifier that runs in the caller's process inside its own row.

In-process calls are the pure, fast built-ins, a plugin's ``isolate=False`` verifier or ``fast``
hook, and ``concurrent`` ones on threads. Around them (:func:`inline_calls`):

- ``sys.stdout`` points at stderr, so a print cannot land in a results stream written to stdout
  (a write to file descriptor 1 itself is the CLI's to redirect; worker processes move theirs);
- real SIGINTs are counted, so :func:`is_users_interrupt` tells the user's Ctrl-C (which must
  stop the run) from a ``KeyboardInterrupt`` a verifier raises itself (an error on its row). A
  Ctrl-C that a verifier swallows is raised again when the calls end.

Python runs signal handlers only in the main thread, so a ``KeyboardInterrupt`` on any other
thread, or in a worker process (which ignores SIGINT), always comes from the verifier.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

try:  # signal's C core: the public wrappers turn every handler into an enum through two raised
    import _signal as _handlers  # and caught exceptions, ~8 us a call -- most of a batch's guard
except ImportError:  # pragma: no cover - an interpreter without it
    _handlers = signal

__all__ = ["inline_calls", "sigints", "is_users_interrupt", "ignore_interrupts"]

_lock = threading.Lock()
_redirects = 0  # inline_calls() active on any thread: the first swaps sys.stdout, the last restores it
_saved_stdout: Any = None
_sigints = 0  # real SIGINTs seen by the counting handler
_watching = False  # the counting handler is installed (main thread only)
_delegate: Any = None  # the handler it wraps while installed (the default raises KeyboardInterrupt)
_no_user_interrupts = False  # a worker process: SIGINT is ignored, every KeyboardInterrupt is a verifier's


def sigints() -> int:
    """How many real SIGINTs have arrived while calls were watched (compare before and after)."""
    return _sigints


def is_users_interrupt(seen_before: int) -> bool:
    """Whether a ``KeyboardInterrupt`` caught now is the user's Ctrl-C (re-raise it) rather than one
    a verifier raised; ``seen_before`` is :func:`sigints` from before the call. An unwatched call on
    the main thread cannot tell the two apart while a Python handler could raise one: the Ctrl-C
    wins."""
    if _no_user_interrupts or threading.current_thread() is not threading.main_thread():
        return False
    if _watching:
        return _sigints != seen_before
    return callable(_handlers.getsignal(signal.SIGINT))  # SIG_IGN / SIG_DFL never raise it


def ignore_interrupts() -> None:
    """For a worker process: ignore SIGINT (the parent handles Ctrl-C), so every
    ``KeyboardInterrupt`` is a verifier's own."""
    global _no_user_interrupts
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _no_user_interrupts = True


@contextmanager
def inline_calls() -> Iterator[None]:
    """Around a batch of in-process verifier calls: stdout to stderr, real Ctrl-C counted."""
    previous = _watch_sigint()
    before = _sigints
    _stdout_to_stderr()
    try:
        yield
    finally:
        _restore_stdout()
        if previous is not None:
            _unwatch_sigint(previous)
    if previous is signal.default_int_handler and _sigints != before:
        raise KeyboardInterrupt  # a verifier swallowed the user's Ctrl-C


def _count_then_delegate(signum: int, frame: Any) -> None:
    """The SIGINT handler while calls are watched: count the signal, then do what was set before."""
    global _sigints
    _sigints += 1
    _delegate(signum, frame)  # the default raises KeyboardInterrupt


def _watch_sigint() -> Any:
    """Install the counting SIGINT handler; the handler it wraps, or None if not installed."""
    global _watching, _delegate
    if _watching or threading.current_thread() is not threading.main_thread():
        return None
    previous = _handlers.getsignal(signal.SIGINT)
    if not callable(previous):  # SIG_IGN, SIG_DFL or a handler set outside Python: leave it be
        return None
    _delegate = previous
    _handlers.signal(signal.SIGINT, _count_then_delegate)
    _watching = True
    return previous


def _unwatch_sigint(previous: Any) -> None:
    global _watching
    _handlers.signal(signal.SIGINT, previous)  # also undoes a handler a verifier installed meanwhile
    _watching = False


def _stdout_to_stderr() -> None:
    global _redirects, _saved_stdout
    with _lock:
        if _redirects == 0:
            _saved_stdout, sys.stdout = sys.stdout, sys.stderr
        _redirects += 1


def _restore_stdout() -> None:
    global _redirects, _saved_stdout
    with _lock:
        _redirects -= 1
        if _redirects == 0:
            sys.stdout, _saved_stdout = _saved_stdout, None  # also undoes a verifier's own swap
