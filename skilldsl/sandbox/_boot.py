"""Sandbox bootstrap: the child side of :func:`skilldsl.sandbox.run`.

Runs as ``python -I -S _boot.py`` (outside the package, stdlib only), reads one marshalled job
from stdin (marshal, not json: importing json costs as much as the interpreter's start-up),
isolates itself with the OS's mechanisms and runs the untrusted code. Process tree:

- **P** (this script, or a fork of it running as the zygote, see ``serve``): calls ``unshare``
  for new mount/net/ipc/uts/pid namespaces, forks A.
- **A** (pid 1 of the new pid namespace, root): makes the mount tree private, remounts ``/``
  read-only, hides home and work directories, gives the run a private size-capped tmpfs at
  ``/tmp`` (its cwd and HOME), mounts a fresh ``/proc``, forks B and reports B's end on the
  report pipe. When A exits the kernel kills every process left in the namespace, so nothing
  the code forks outlives the run; A dies with P (``PR_SET_PDEATHSIG``).
- **B**: rlimits (CPU, address space, file size, process count, open files, no core dumps),
  an unprivileged uid of its own (so ``RLIMIT_NPROC`` is enforced), ``no_new_privs``; then
  executes the code in a fresh ``__main__`` namespace, in this interpreter (no second start-up).

Each mechanism that fails is skipped and left out of the reported ``isolation`` list; a
failure half-way through the mount setup aborts the run instead (no silent partial sandbox).
"""
import ctypes
import marshal
import os
import resource
import signal
import sys

__all__ = ["EXIT_MEMORY", "RESULT_KEY", "NAMESPACES"]

EXIT_MEMORY = 120  # B's exit status after a MemoryError: the memory limit was hit
RESULT_KEY = "__skilldsl_result__"  # stdout line carrying the `result` global (emit_result jobs)
NAMESPACES = {"mount": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000, "net": 0x40000000, "pid": 0x20000000}

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_LIBC = ctypes.CDLL(None, use_errno=True)


def _report(job, **fields):
    os.write(job["report_fd"], (repr(fields) + "\n").encode())  # parent: ast.literal_eval


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731 - ctypes wants bytes or NULL
    _check(_LIBC.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def unshare_all(kinds):
    """Enter each namespace in ``kinds`` that the kernel allows; return the ones entered."""
    entered = []
    for kind in kinds:
        if _LIBC.unshare(NAMESPACES[kind]) == 0:
            entered.append(kind)
    return entered


def _tmpfs(target, size, mode, uid=0):
    data = f"size={size},mode={mode:o},uid={uid},gid={uid}"
    _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, data)


def _hide(path, keep_fds):
    """Cover ``path`` with an empty read-only tmpfs, binding back the kept (interpreter) dirs."""
    _tmpfs(path, "64k", 0o755)
    for keep, fd in keep_fds.items():
        if keep.startswith(path.rstrip("/") + "/"):
            os.makedirs(keep, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", keep, None, _MS_BIND | _MS_REC)
            _mount(None, keep, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    _mount(None, path, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def setup_mounts(job, applied):
    """Private, read-only view of the file system with a private tmpfs at /tmp; returns the cwd."""
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount propagates back out
    keep_fds = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in job["keep"] if os.path.isdir(k)}
    _mount("/", "/", None, _MS_BIND | _MS_REC)
    _mount(None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    for path in job["hide"]:
        if os.path.isdir(path) and not os.path.islink(path):
            _hide(path, keep_fds)
    uid = job["uid"] if job["uid"] is not None else 0
    _tmpfs("/tmp", f"{job['limits']['disk_mb']}m", 0o700, uid)
    if "pid" in applied:  # a fresh /proc shows only our pid namespace, not the host's argv
        _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    for fd in keep_fds.values():
        os.close(fd)
    return "/tmp"


def _set_limits(limits):
    cpu = int(limits["cpu_seconds"])
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["nofile"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"],) * 2)


def _drop_privileges(uid):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _execute(job, namespace):
    """Run the code; map its end to an exit status (SystemExit, MemoryError, exceptions)."""
    try:
        exec(compile(job["code"], "<sandbox>", "exec"), namespace)
        if job.get("emit_result") and "result" in namespace:
            import json

            sys.stdout.write("\n" + json.dumps({RESULT_KEY: namespace["result"]}) + "\n")
        status = 0
    except SystemExit as exc:
        code = exc.code
        status = code if isinstance(code, int) else (0 if code is None else 1)
        if not isinstance(code, int) and code is not None:
            print(code, file=sys.stderr)
    except MemoryError:
        status = EXIT_MEMORY
        print("sandbox: MemoryError (memory limit)", file=sys.stderr)
    except BaseException as exc:  # untrusted code: any exception is a failed run, with its traceback
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)  # from the code's frame
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(status & 0xFF)


def run_untrusted(job, workdir, applied):
    """Process B: limits, unprivileged uid, clean cwd/HOME, then the code. Never returns."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(job["report_fd"])
    _set_limits(job["limits"])
    if "uid" in applied:
        _drop_privileges(job["uid"])
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; a too-big file should kill
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    sys.argv = ["<sandbox>"]
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    namespace.update(job.get("globals") or {})
    _execute(job, namespace)


def _write_files(workdir, files):
    for name, text in (files or {}).items():
        with open(os.path.join(workdir, os.path.basename(name)), "w", encoding="utf-8") as fh:
            fh.write(text)


def _parent_alive(lifeline):
    # getppid() is 0 across a pid namespace, so P's liveness is its end of a pipe staying open.
    os.set_blocking(lifeline, False)
    try:
        return os.read(lifeline, 1) != b""
    except BlockingIOError:
        return True
    finally:
        os.close(lifeline)


def reaper(job, lifeline, applied):
    """Process A: finish the isolation, run B, report how it ended."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not _parent_alive(lifeline):  # P died before we set the death signal
        os._exit(1)
    workdir = setup_mounts(job, applied) if "mount" in applied else job["workdir"]
    if "mount" in applied and job["uid"] is not None:
        applied = applied + ["uid"]  # the interpreter stays reachable only through our mounts
    _write_files(workdir, job.get("files"))
    _report(job, isolation=applied + ["rlimits", "no_new_privs"])
    pid = os.fork()
    if pid == 0:
        run_untrusted(job, workdir, applied)
    _, status, usage = os.wait4(pid, 0)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    _report(job, exit=code, signal=sig, cpu=usage.ru_utime + usage.ru_stime)
    os._exit(0)


def run_job():
    """Process P: read the job from stdin, unshare, fork the reaper and wait for it."""
    job = marshal.loads(sys.stdin.buffer.read())
    applied = unshare_all(job["namespaces"])
    lifeline, held = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(held)
        try:
            reaper(job, lifeline, applied)
        except BaseException as exc:  # setup failed: report instead of running half-isolated
            _report(job, error=f"sandbox setup failed: {type(exc).__name__}: {exc}")
            os._exit(1)
    os.close(lifeline)
    os.waitpid(pid, 0)
    os._exit(0)


def _become_job(sock, fds):
    """In a fork of the zygote: take the job's pipes as fds 0-3 and run it as P."""
    sock.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # P waits for its reaper
    os.setsid()  # its own process group: the parent kills the run with killpg(pid)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 3:
            os.close(fd)
    try:
        run_job()
    finally:
        os._exit(1)


def serve(sock_fd):
    """Zygote: fork a warm P per request (saves the interpreter start-up and imports per run).

    A request is one message carrying four fds (job stdin, stdout, stderr, report); the reply
    is P's pid. EOF on the socket (the parent exited) ends the zygote.
    """
    import socket

    sock = socket.socket(fileno=sock_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our P children
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 16, 4)
        if not msg:
            return
        pid = os.fork() if len(fds) == 4 else -1
        if pid == 0:
            _become_job(sock, fds)
        for fd in fds:
            os.close(fd)
        sock.send(str(pid).encode())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        serve(int(sys.argv[2]))
    else:
        run_job()
