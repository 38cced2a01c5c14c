"""The trusted side of code evidence, run inside the sandbox (stdlib only; the parent is ``code.py``).

The parent compiles this file (after ``_candidate.py``) and ships it in the job;
``_boot.run_untrusted`` runs it in process B (after B's limits, uid and ``PR_SET_DUMPABLE 0``) with
the report descriptor, which the untrusted code never holds. Only a report carrying the run's one-time secret counts,
and only this harness writes one. Modes (``harness["mode"]``):

- ``tests`` (``code.passes``): B runs the problem's tests; the candidate runs in C, a fork of B
  made before B reads the job's sealed frame (so C's memory never held the tests or the secret) that B
  calls over a pipe. Only plain data crosses (``_candidate.encode``): no candidate object, ``__eq__``
  or patched builtin reaches the tests. B is non-dumpable, so C (same uid) cannot ptrace it or
  open its ``/proc/<pid>/fd|mem``.
- ``io`` (``code.io_passes``): B runs the candidate program once per input in a C forked before B
  reads the sealed frame (the secret), stdin in, stdout out; the expected outputs never enter the
  sandbox (the parent compares).
- ``shared`` (``run`` evidence; ``code.passes`` when its tests cannot run apart): B forks W, which
  runs the code in-process behind audit hooks (see ``_guard``) with no way to start threads or
  processes; W proves it finished normally by sending the secret with the ``result`` value, B
  checks it and reports.

The wire format and C's side are in ``_candidate.py``, shipped with this file and run first in
the same namespace.
"""
import builtins
import marshal
import os
import sys

if __name__ != "_skilldsl_harness":  # imported as a module (tests, tools); in B, _candidate ran first here
    from ._candidate import (  # noqa: F401
        EXIT_MEMORY, Unsupported, _close, _exit, _exit_status, _flush, _getpid, _message, _one_line, _open, _read,
        _receive, _send, _write, candidate_main, decode, encode,
    )

__all__ = ["main"]

_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4
# signal, resource, select and time are imported where used (B has them loaded already).


def _report(fd, **fields) -> None:
    """One report line for the parent (``core._Capture.reports`` keeps every ``harness`` entry)."""
    view = memoryview((repr({"harness": fields}) + "\n").encode())
    while view:
        view = view[_write(fd, view):]


def _exit_like(status) -> None:
    """End this process the way a child ended: same exit status, or same signal."""
    import signal

    kind, number = status
    if kind == "signal":
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
        os.kill(_getpid(), number)
    _exit(number & 0xFF if kind == "exit" else 1)


def _ended(end):
    import signal

    kind, number = end
    if kind == "exit":
        return f"exited with status {number}"
    try:
        return f"was killed by {signal.Signals(number).name}"
    except ValueError:
        return f"was killed by signal {number}"


def _end_of(wait_status):
    if os.WIFSIGNALED(wait_status):
        return ("signal", os.WTERMSIG(wait_status))
    return ("exit", os.WEXITSTATUS(wait_status))


# -- the candidate's processes: forks of B made before it reads the sealed frame -------------------


def _become_candidate(keep):
    """In a fork of B: keep fds 0-2 and ``keep`` (the sealed frame, the report pipe and B's ends are
    closed), die with B, and be dumpable again (B is not), so that A's watchdog can read our /proc
    entries and count our memory."""
    import ctypes  # already loaded by _boot: no import cost
    import signal

    libc = ctypes.CDLL(None)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    last = 2
    for fd in sorted(keep):
        os.closerange(last + 1, fd)
        last = fd
    os.closerange(last + 1, 1 << 20)


# -- tests mode: B runs the tests, C the candidate ----------------------------------------------------


class CandidateError(Exception):
    """The candidate raised an exception that is not a builtin one (or a refused builtin one)."""


class _CannotSend(BaseException):
    """The tests passed the candidate a value plain data cannot carry (a limit of this harness,
    not the candidate's fault: the parent then falls back to the shared harness). BaseException,
    so a test's ``except Exception`` cannot swallow it."""


# Exceptions the candidate may raise into the tests: builtin Exception classes, except the two
# that silently end an iteration (``all(map(candidate, xs))`` would pass on StopIteration).
_RAISABLE = {
    name: cls for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (StopIteration, StopAsyncIteration)
}


class _Peer:
    """B's end of the pipes to C; every call is one request and one reply."""

    def __init__(self, pid, rfd, wfd):
        self.pid, self.rfd, self.wfd = pid, rfd, wfd
        self.calls = 0
        self.gone = None  # how C ended, once it ended on its own
        self.failure = None  # why the calls stopped working

    def receive(self):
        try:
            return decode(_receive(self.rfd))
        except (EOFError, OSError) as exc:
            self._lost(exc)
        except ValueError as exc:  # garbage from C: it is the candidate's answer, and a wrong one
            self.failure = f"the candidate process sent malformed data ({exc})"
        raise CandidateError(self.failure)

    def _lost(self, exc):
        _, status = os.waitpid(self.pid, 0)
        self.gone = _end_of(status)
        self.failure = f"the candidate process {_ended(self.gone)} before the tests finished"

    def call(self, args, kwargs):
        if self.failure:
            raise CandidateError(self.failure)
        try:
            request = encode([list(args), kwargs])
        except Unsupported as exc:
            raise _CannotSend(f"the tests call the candidate with data the harness cannot send: {exc}") from None
        self.calls += 1
        try:
            _send(self.wfd, request)
        except OSError as exc:
            self._lost(exc)
            raise CandidateError(self.failure) from None
        return _reply(self.receive())

    def close(self):
        import signal

        for fd in (self.rfd, self.wfd):
            _close(fd)
        if self.gone is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _reply(reply):
    if type(reply) is list and len(reply) == 2 and reply[0] == "ok":
        return reply[1]
    if type(reply) is list and len(reply) == 3 and reply[0] == "raise" and type(reply[1]) is str:
        cls = _RAISABLE.get(reply[1])
        message = reply[2] if type(reply[2]) is str else ""
        try:
            error = cls(message) if cls else CandidateError(f"{reply[1]}: {message}")
        except TypeError:  # e.g. UnicodeDecodeError wants five arguments
            error = CandidateError(f"{reply[1]}: {message}")
        raise error
    raise CandidateError("the candidate process sent an unexpected reply")


class _Candidate:
    """What the tests see as ``candidate`` (and as the entry point's name): calls go to C."""

    def __init__(self, peer, name):
        self._peer, self.__name__ = peer, name

    def __call__(self, *args, **kwargs):
        return self._peer.call(args, kwargs)

    def __repr__(self):
        return f"<candidate {self.__name__}>"


def _start_peer(h, code):
    """C for the tests: a fork of B made before B reads the tests or the secret, so nothing the
    candidate can reach in its memory ever held them (and no interpreter start-up to pay)."""
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    _flush()  # nothing buffered in B may come out of C too
    pid = os.fork()
    if pid == 0:
        try:
            _become_candidate((req_r, rep_w))
            candidate_main(req_r, rep_w)
        finally:
            _exit(127)
    _close(req_r)
    _close(rep_w)
    peer = _Peer(pid, rep_r, req_w)
    try:
        _send(req_w, encode([code, h["entry_point"]]))
    except OSError as exc:
        peer._lost(exc)
    return peer


def _tests_mode(h, peer, report_fd, secret):
    try:
        prompt = compile(h["prompt"], "<prompt>", "exec")
        tests = compile(h["test"], "<test>", "exec")
    except (SyntaxError, ValueError) as exc:
        peer.close()
        _report(report_fd, secret=secret, error=f"the problem's prompt or tests do not compile: {exc}")
        _exit(1)
    outcome = _run_tests(peer, prompt, tests, h["entry_point"])
    peer.close()
    _report(report_fd, secret=secret, calls=peer.calls, candidate=peer.gone, **outcome)
    _flush()
    if outcome.get("passed"):
        _exit(0)
    if peer.gone is not None and peer.gone != ("exit", 0):
        _exit_like(peer.gone)  # the run's status says how the candidate ended (memory, cpu, signal)
    _exit(1)


def _handshake(peer, entry_point):
    """Wait for C to load the candidate's code; ``peer.failure`` says why it did not."""
    if peer.failure:
        return
    try:
        ready = peer.receive()
    except CandidateError:
        return
    if type(ready) is list and ready[:1] == ["load_error"]:
        peer.failure = f"the candidate's code does not load: {ready[1] if len(ready) > 1 else '?'}"
    elif ready != ["ready", True]:
        peer.failure = f"the candidate defines no function {entry_point!r}"


def _run_tests(peer, prompt, tests, entry_point):
    """{"passed": bool, "reason": ...} or {"error": ...} / {"unsupported": ...} (not the candidate's doing)."""
    _handshake(peer, entry_point)
    if peer.failure:
        print(f"sandbox: {peer.failure}", file=sys.stderr)
        return {"passed": False, "reason": peer.failure}
    candidate = _Candidate(peer, entry_point)
    namespace, loaded = {"__name__": "__main__", "__builtins__": builtins}, False
    try:
        exec(prompt, namespace)
        namespace[entry_point] = candidate  # the tests (and the prompt's helpers) call the candidate
        exec(tests, namespace)
        loaded = callable(namespace.get("check"))
        if not loaded:
            return {"error": "the tests define no check(candidate)"}
        namespace["check"](candidate)
    except _CannotSend as exc:  # a fallback only while no answer of the candidate can have led here
        return {"unsupported": str(exc)} if not peer.calls else {"error": str(exc)}
    except BaseException as exc:
        if not loaded and not peer.calls:  # broken tests: the candidate played no part
            return {"error": f"the problem's prompt or tests raised {_one_line(exc)}"}
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)
        return {"passed": False, "reason": peer.failure or f"the tests failed: {_one_line(exc)}"}
    if peer.failure:
        return {"passed": False, "reason": peer.failure}
    return {"passed": True}


# -- io mode: one C per input, stdout captured ----------------------------------------------------------


def _io_cases(h, code, namespace, execute):
    """Run the program once per input, up to the first case that fails; every case's stdout is kept
    for the one report, so all of them together are capped too (``kept_bytes``)."""
    cases, room = [], h["kept_bytes"]
    for text in h["inputs"]:
        try:
            case, kept = _run_case(h, code, text, min(h["output_bytes"], room), namespace, execute)
        except OSError as exc:
            if not cases:
                raise  # nothing of the candidate ran yet: the sandbox's failure
            # earlier cases may have left processes behind (up to the process limit)
            case, kept = {"status": "failed", "reason": f"the next case could not start: {_one_line(exc)}"}, 0
        cases.append(case)
        room -= kept
        if case["status"] != "ok":  # failing here fails the problem, whatever the expected output
            break
    return cases


def _run_case(h, code, text, cap, namespace, execute):
    """One case in a fork of B running the program as ``__main__`` (``_boot._execute``); (case, bytes kept)."""
    import time

    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    start = time.monotonic()
    _flush()  # nothing buffered in B may come out of C too
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            _become_candidate(())
            execute(code, namespace)
        finally:
            _exit(127)
    for fd in (in_r, out_w):
        _close(fd)
    stdout, killed = _exchange(pid, in_w, out_r, text.encode("utf-8", "surrogatepass"), start + h["case_timeout"], cap)
    _, status = os.waitpid(pid, 0)
    end = _end_of(status)
    case = {"status": _case_status(end, killed), "end": end, "killed": killed,
            "stdout": stdout.decode("utf-8", "replace"), "seconds": round(time.monotonic() - start, 4)}
    return case, len(stdout)


def _exchange(pid, in_w, out_r, data, deadline, cap):
    """Feed ``data`` to C's stdin while reading its stdout; (stdout, why C was killed or None)."""
    import select
    import signal
    import time

    poller, out, killed, view = select.poll(), bytearray(), None, memoryview(data)
    poller.register(out_r, select.POLLIN)
    os.set_blocking(in_w, False)
    if view:
        poller.register(in_w, select.POLLOUT)
    else:
        in_w = _closed(in_w)
    while killed is None:
        left = deadline - time.monotonic()
        if left <= 0:
            killed = "timeout"
            break
        events = dict(poller.poll(left * 1000))
        if in_w in events:
            view = _feed(in_w, view)
            if not view:
                poller.unregister(in_w)
                in_w = _closed(in_w)
        if out_r in events:
            chunk = _read(out_r, 65536)
            if not chunk:
                break
            out += chunk
            killed = "output" if len(out) > cap else None
    if killed:
        os.kill(pid, signal.SIGKILL)
    for fd in (in_w, out_r):
        _closed(fd)
    return bytes(out[:cap]), killed


def _feed(fd, view):
    try:
        return view[_write(fd, view[:65536]):]
    except BlockingIOError:
        return view
    except OSError:  # C closed its stdin: the rest of the input is not wanted
        return view[:0]


def _closed(fd):
    if fd >= 0:
        _close(fd)
    return -1


def _case_status(end, killed):
    import signal

    if killed:
        return "timeout" if killed == "timeout" else "limit"
    kind, number = end
    if kind == "exit":
        return "ok" if number == 0 else ("limit" if number == EXIT_MEMORY else "failed")
    return "limit" if number in (signal.SIGXCPU, signal.SIGXFSZ) else "crashed"


# -- shared mode: W runs the code in-process; the secret proves it finished ----------------------------


def _shared_mode(h, code, report_fd, secret, namespace):
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _become_candidate((wfd,))  # the report pipe closed; watched by A's watchdog
            _worker(code, namespace, wfd, secret)
        finally:  # never back into main(): W must not report, nor outlive its code
            _exit(1)
    _close(wfd)
    frames, overflow = _drain(rfd, h["output_bytes"])
    _, status = os.waitpid(pid, 0)
    end = _end_of(status)
    verdict = _shared_verdict(frames, overflow, end, secret, h["output_bytes"])
    _report(report_fd, secret=secret, end=end, **verdict)
    _exit_like(end)


def _drain(fd, cap):
    """Every frame W (or code in W) wrote, until EOF or ``cap`` bytes (the last one maybe cut short)."""
    data = bytearray()
    while len(data) <= cap:
        chunk = _read(fd, 65536)
        if not chunk:
            break
        data += chunk
    _close(fd)
    frames, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 8], "big")
        frames.append(bytes(data[pos + 8:pos + 8 + size]))
        pos += 8 + size
    return frames, len(data) > cap or pos != len(data)


def _shared_verdict(frames, overflow, end, secret, cap):
    """Finished iff W exited 0 and wrote exactly one frame, which carries the secret."""
    if overflow and len(frames) == 1 and frames[0].startswith(b"l3:" + encode(secret)):  # W's [secret, ...], cut
        return {"finished": False, "reason": f"the code's `result` is larger than {cap} bytes (output_bytes)"}
    genuine = []
    for frame in frames:
        try:
            message = decode(frame)
        except ValueError:
            continue
        if type(message) is list and len(message) == 3 and message[0] == secret:
            genuine.append(message)
    forged = len(frames) - len(genuine) + (1 if overflow else 0)
    if forged or len(genuine) > 1:
        return {"finished": False, "reason": "the code wrote to the harness's result pipe"}
    if end != ("exit", 0) or not genuine:
        how = "exited before its end" if end == ("exit", 0) else _ended(end)
        return {"finished": False, "reason": f"the code {how}"}
    _, has_result, value = genuine[0]
    if has_result == "guard":
        return {"finished": False, "error": f"the code's guard could not be set up: {value}"}
    if has_result == "unsupported":
        return {"finished": True, "unsupported": str(value)}
    if has_result is not True:
        return {"finished": True, "reason": "the code set no `result`"}
    return {"finished": True, "value": encode(value)}  # bytes: the report stays a Python literal


def _worker(code, namespace, wfd, secret):
    """Process W: run ``code`` behind the guard; on a normal end send (secret, result) once."""
    try:
        program = compile(code, "<sandbox>", "exec")
    except (SyntaxError, ValueError) as exc:
        print(f"sandbox: the code does not compile: {exc}", file=sys.stderr)
        _exit(1)
    try:
        _guard()
    except BaseException as exc:  # the sandbox's failure, not the code's: say so, signed
        _send(wfd, encode([secret, "guard", _one_line(exc)]))
        _exit(0)
    try:
        exec(program, namespace)
    except SystemExit as exc:  # an early exit, whatever its status, is not a normal end
        _flush()
        _exit(_exit_status(exc) or 1)
    except MemoryError:
        _exit(EXIT_MEMORY)
    except BaseException as exc:
        _print_failure(exc)
        _flush()
        _exit(1)
    found = "result" in namespace
    try:
        message = encode([secret, found, namespace.get("result")])
    except Unsupported as exc:  # the value is not plain data: say so, without running its code
        message = encode([secret, "unsupported", str(exc)])
    _flush()  # may run the code's own objects (a replaced sys.stdout): the message is bytes by now
    _send(wfd, message)
    _exit(0)


def _print_failure(exc):
    """The exception's type, message and line numbers (a full traceback would need frames, which
    the guard refuses even to this harness)."""
    lines, tb = [], exc.__traceback__
    while tb is not None:
        lines.append(str(tb.tb_lineno))
        tb = tb.tb_next
    try:
        print(f"Traceback (lines {', '.join(lines[1:]) or '?'}):\n{type(exc).__name__}: {_message(exc)}", file=sys.stderr)
    except BaseException:
        pass


# -- the guard: audit hooks for code that shares W with the harness ------------------------------------

_REFUSED = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
    "sys.addaudithook", "gc.get_objects", "gc.get_referrers", "gc.get_referents", "code.__new__",
    "marshal.load", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn",
    "os.system", "subprocess.Popen", "pty.spawn", "sys.monitoring.register_callback",
})
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})  # f_back is never audited
_PATH_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "os.chdir", "os.symlink", "os.link", "os.rename"})
_MODULES = frozenset({"ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_xxsubinterpreters", "_ctypes_test"})
_PREFIX = sys.base_prefix.rstrip("/") + "/"  # read-only inside the sandbox: its .pyc files are genuine
_pyc = {"data": None, "reading": False}  # the genuine .pyc the import system opened last


def _guard():
    """No threads or processes (RLIMIT_NPROC 0), no signal handlers (seccomp), and an audit hook
    refusing what reaches the harness's memory: frames, gc walks, ctypes, tracing, crafted code
    objects, ``/proc``."""
    import resource

    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    _no_signal_handlers()
    sys.addaudithook(_refuse)


# A signal handler is handed the interrupted frame, and neither signal.signal nor frame.f_back is
# audited: the handler could walk up to _worker's frame (the secret, the result pipe). So W may
# not install handlers at all: rt_sigaction fails with EPERM (Python's signal.signal raises
# OSError), by a seccomp filter stacked on the sandbox's own. {machine: (audit arch, syscall nr)}
_SIGACTION = {"x86_64": (0xC000003E, 13), "aarch64": (0xC00000B7, 134)}


def _no_signal_handlers():
    import ctypes  # already loaded by _boot; the audit hook refuses ctypes only after this

    arch, number = _SIGACTION.get(os.uname().machine, (None, None))
    if arch is None:
        raise RuntimeError(f"no signal-handler filter for {os.uname().machine}: the run would be forgeable")

    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

    ld, jeq, ret, allow, eperm, kill = 0x20, 0x15, 0x06, 0x7FFF0000, 0x00050001, 0x80000000
    code = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0),
            (jeq, 0, 1, number), (ret, 0, 0, eperm), (ret, 0, 0, allow)]
    table = (Insn * len(code))(*[Insn(*i) for i in code])
    ulong = ctypes.c_ulong
    if ctypes.CDLL(None).prctl(ulong(22), ulong(2), ctypes.byref(Prog(len(code), table)), ulong(0), ulong(0)):
        raise RuntimeError("cannot refuse signal handlers (seccomp)")


def _refuse(event, args):
    if _pyc["reading"]:
        return  # our own read of a genuine .pyc (below)
    if event in _REFUSED or event.startswith("ctypes."):
        raise RuntimeError(f"sandbox: {event} is not allowed here")
    if event == "object.__getattr__" and args[1] in _FRAME_ATTRIBUTES:
        raise RuntimeError(f"sandbox: reading {args[1]} is not allowed here")
    if event == "import" and (type(args[0]) is not str or args[0] in _MODULES):  # a str subclass could lie
        raise RuntimeError(f"sandbox: importing {args[0]!r} is not allowed here")
    if event in ("os.kill", "os.killpg") and (type(args[0]) is not int or args[0] != _getpid()):  # 0, -1: others
        raise RuntimeError("sandbox: signalling other processes is not allowed here")
    if event == "marshal.loads":
        _genuine_bytecode(args[0])
    if event in _PATH_EVENTS:
        for path in args[:2] if event in ("os.symlink", "os.link", "os.rename") else args[:1]:
            if _reaches_proc(path):
                raise RuntimeError(f"sandbox: {event} on {path!r} is not allowed here")
            if event == "open" and _foreign_pyc(path):  # an OSError: importlib compiles the source instead
                raise PermissionError(f"sandbox: bytecode outside the interpreter's prefix: {path!r}")


def _foreign_pyc(path):
    """A .pyc outside the interpreter's prefix (crafted bytecode reads any memory) is refused; a
    genuine one is remembered, so that unmarshalling exactly its code is allowed."""
    if type(path) is not str or not path.endswith(".pyc"):
        return False
    if not path.startswith(_PREFIX) or "/../" in path:
        return True
    _pyc["reading"] = True
    try:
        fd = _open(path, 0)  # O_RDONLY; our own call, with the hook paused: only bound functions
        try:
            _pyc["data"] = _read(fd, 1 << 26)[16:]  # after the header, as importlib unmarshals it
        finally:
            _close(fd)
    except OSError:
        _pyc["data"] = None
    finally:
        _pyc["reading"] = False
    return False


def _genuine_bytecode(data):
    """Only the import system's unmarshalling of the genuine .pyc it just opened is allowed."""
    genuine, _pyc["data"] = _pyc["data"], None
    if genuine is None or bytes(data) != genuine:
        raise RuntimeError("sandbox: marshal.loads is not allowed here")


def _reaches_proc(path):
    """Whether a path names ``/proc`` or ``/dev/fd`` (relative ones may be taken from any directory,
    through ``dir_fd``). Paths other than str/bytes are refused: their ``__fspath__`` could answer
    this check and the call differently."""
    if type(path) is int or path is None:
        return False
    if type(path) is not str and type(path) is not bytes:
        return True
    text = path.decode("utf-8", "replace") if type(path) is bytes else path
    parts = [p for p in text.split("/") if p not in ("", ".")]
    return "proc" in parts or ("dev" in parts and "fd" in parts) or text.startswith("fd/")


# -- entry point ------------------------------------------------------------------------------------


class _Unsealed(Exception):
    """The sealed frame could not be read (more than B's memory holds, cut short): no secret."""


def _unseal(h):
    """The secret, once the job's sealed frame (the secret, the tests) is read into ``h`` and closed."""
    fd = h.pop("sealed_fd")
    try:
        h.update(marshal.loads(_receive(fd)))
        return h.pop("secret")
    except BaseException as exc:
        why = _one_line(exc)
    finally:
        _close(fd)
    raise _Unsealed(f"the harness could not read its sealed job: {why}")  # what it held is freed by now


def main(h, code, report_fd, namespace, execute):
    """Run one harness job in process B; never returns. ``execute(code, namespace)`` runs a program
    as ``__main__`` and exits with its status (``_boot._execute``)."""
    secret = None
    try:
        # C first: forks of B made before B reads the tests and the secret (see _start_peer, _run_case)
        if h["mode"] == "tests":
            peer = _start_peer(h, code)
            secret = _unseal(h)
            _tests_mode(h, peer, report_fd, secret)
        elif h["mode"] == "io":
            cases = _io_cases(h, code, namespace, execute)
            secret = _unseal(h)
            _report(report_fd, secret=secret, cases=cases)
            _flush()
            _exit(0)
        else:
            secret = _unseal(h)
            _shared_mode(h, code, report_fd, secret, namespace)
    except BaseException as exc:  # a harness bug or an exhausted limit in B itself
        try:
            _failed(h, report_fd, secret, exc)
        finally:
            _exit(1)
    _exit(1)


def _failed(h, report_fd, secret, exc):
    """Report what stopped the harness as its error: signed with the secret (read now if it was not
    yet); unsigned, marked ``sealed: False``, if the sealed frame cannot be read. Only B holds the
    report pipe, so the parent takes that report for an error too, never for the candidate's."""
    try:
        if secret is None and "sealed_fd" in h:
            secret = _unseal(h)
    except _Unsealed as unsealed:
        exc = unsealed
    why = str(exc) if isinstance(exc, _Unsealed) else f"harness failed: {_one_line(exc)}"
    if secret is None:
        _report(report_fd, sealed=False, error=why)
    else:
        _report(report_fd, secret=secret, error=why)
