"""Sandbox bootstrap: the child side of :func:`skilldsl.sandbox.run`.

Runs as ``python -I -S _boot.py`` (outside the package, stdlib only), reads one marshalled job
from stdin (marshal, not json: importing json costs as much as the interpreter's start-up),
isolates itself with the OS's mechanisms and runs the untrusted code. Process tree, each stage
dying with the one before it (``PR_SET_PDEATHSIG``, armed and then checked against the
expected parent, so a parent that died first is noticed too):

- **Z**, the zygote (``serve``): one per calling process; forks a warm P per run and exits when
  the caller's socket closes, i.e. when the caller exits or is killed (SIGKILL included).
- **P** (a fork of Z, or this script started by the caller): enters new namespaces (a user
  namespace first when not root, mapping the caller's uid and gid to themselves; then mount,
  pid, net, ipc, uts) and forks A. Without them it refuses, unless the job allows rlimits only.
- **A** (pid 1 of the new pid namespace): builds the run's root file system from an allow-list
  (``build_root``: a fresh tmpfs holding read-only binds of the system directories and the
  interpreter's prefix, a few ``/etc`` files, ``/dev`` nodes, a private size- and inode-capped
  ``/tmp``, a fresh ``/proc``; then it becomes the root, the host's tree out of reach), loads a
  seccomp filter (no namespaces, mounts or chroot for anything it starts), forks B and
  watches it (``watch``): the wall clock, and the memory and process count of the *whole*
  namespace. When A exits the kernel kills every process left in the namespace, so nothing the
  code forks outlives the run. A installs no signal handlers and is not dumpable: the code can
  neither signal it (a namespace's init only gets signals it handles) nor read its descriptors.
- **B**: rlimits (CPU, address space, file size, processes, open files, no core dumps), an
  unprivileged identity (as root: a per-run uid; in a user namespace: every capability
  dropped), ``no_new_privs``; then executes the code in this interpreter (no second start-up).

A failure half-way through the set-up aborts the run with an error instead of running it
half-isolated. Everything B needs must be imported before ``build_root``: afterwards only the
allow-list is visible (the interpreter's prefix holds the standard library; this package's
own folder is not visible).
"""
import ctypes
import marshal
import os
import resource
import select
import signal
import stat
import sys
import time

__all__ = ["EXIT_MEMORY", "NAMESPACES", "REQUIRED", "SYSTEM_DIRS", "enter_namespaces", "probe"]

EXIT_MEMORY = 120  # B's exit status after a MemoryError: the memory limit was hit
NAMESPACES = {"mount": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000, "net": 0x40000000, "pid": 0x20000000}
USER_NAMESPACE = 0x10000000
REQUIRED = ("mount", "pid", "net", "ipc", "uts")  # less than this is "rlimits only"

# The run's root file system: these (bound read-only, or the same symlink), the interpreter's
# prefix, the /etc files below, the /dev nodes below, a private /tmp and a fresh /proc.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_COPIED = ("ld.so.cache", "localtime")  # the dynamic loader's cache; the time zone (a symlink)
DEVICES = ("null", "zero", "full", "random", "urandom")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "shm": "/tmp"}
HOSTNAME = "sandbox"
WATCH_INTERVAL = 0.01  # seconds between two looks at the namespace's memory and processes
WALL_MARGIN = 0.25  # A ends the run this long after its timeout if the caller has not already

_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21
_MS_MOVE = 8192
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 1, 4, 24, 38, 47
_CAP_AMBIENT_CLEAR_ALL, _CAP_VERSION_3 = 4, 0x20080522
_PAGE = os.sysconf("SC_PAGE_SIZE")
_LIBC = ctypes.CDLL(None, use_errno=True)


def _report(job, **fields):
    os.write(job["report_fd"], (repr(fields) + "\n").encode())  # parent: ast.literal_eval


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(text):
    return None if text is None else text.encode()


def _mount(source, target, fstype, flags, data=None):
    _check(_LIBC.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)), f"mount {target}")


def _write(path, text, mode="w"):
    with open(path, mode) as fh:
        fh.write(text)


# -- namespaces --------------------------------------------------------------------------------

def _enter_user_namespace():
    """A new user namespace in which our uid and gid map to themselves (no root inside)."""
    uid, gid = os.getuid(), os.getgid()
    _check(_LIBC.unshare(USER_NAMESPACE), "unshare")
    _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def enter_namespaces(kinds):
    """Enter each namespace of ``kinds`` ("user" first if asked); (entered, {kind: why not})."""
    entered, failed = [], {}
    for kind in kinds:
        try:
            if kind == "user":
                _enter_user_namespace()
            else:
                _check(_LIBC.unshare(NAMESPACES[kind]), "unshare")
            entered.append(kind)
        except OSError as exc:
            failed[kind] = exc.strerror or str(exc)
            if kind == "user":  # unprivileged, nothing else can follow
                break
    return entered, failed


# -- the allow-listed root file system ----------------------------------------------------------

def _tmpfs(target, options):
    _mount("tmpfs", target, "tmpfs", _MS_NOSUID | _MS_NODEV, options)


def _kept_flags(path):
    """Flags a read-only remount must repeat: in a user namespace the host's are locked."""
    have = os.statvfs(path).f_flag
    pairs = ((os.ST_NOEXEC, _MS_NOEXEC), (os.ST_NOATIME, _MS_NOATIME), (os.ST_NODIRATIME, _MS_NODIRATIME),
             (os.ST_RELATIME, _MS_RELATIME))
    return sum(ms for st, ms in pairs if have & st)


def _bind_readonly(source, target):
    _mount(source, target, None, _MS_BIND | _MS_REC)
    _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | _kept_flags(target))


def allowed_paths():
    """The host paths bound read-only into every run: the system's directories, the interpreter's
    prefix and its executable (a fresh interpreter can be started inside)."""
    own = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix, sys.executable)}
    extra = []
    for path in sorted(own):  # a prefix sorts before the files in it
        if not any(path == d or path.startswith(d + "/") for d in list(SYSTEM_DIRS) + extra):
            extra.append(path)
    return list(SYSTEM_DIRS) + extra


def _carry(path, root):
    """Make the host's ``path`` appear at the same place under ``root``: same symlink, or bound."""
    target = root + path
    if os.path.islink(path):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(os.readlink(path), target)
    elif os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
        _bind_readonly(path, target)
    elif os.path.isfile(path):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _write(target, "")  # the mount point
        _bind_readonly(path, target)


def _make_etc(etc, uid, gid):
    os.mkdir(etc, 0o755)
    for name in ETC_COPIED:
        host = "/etc/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), f"{etc}/{name}")
        elif os.path.isfile(host):
            with open(host, "rb") as fh:
                _write(f"{etc}/{name}", fh.read(), "wb")
    _write(f"{etc}/passwd", f"root:x:0:0::/:/usr/sbin/nologin\nsandbox:x:{uid}:{gid}::/tmp:/usr/sbin/nologin\n")
    _write(f"{etc}/group", f"root:x:0:\nsandbox:x:{gid}:\n")
    _write(f"{etc}/hostname", HOSTNAME + "\n")
    _write(f"{etc}/hosts", f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost\n")


def _make_dev(dev):
    os.mkdir(dev, 0o755)
    for name in DEVICES:
        _write(f"{dev}/{name}", "")  # the mount point
        _mount(f"/dev/{name}", f"{dev}/{name}", None, _MS_BIND)
    for name, target in DEV_LINKS.items():
        os.symlink(target, f"{dev}/{name}")


def _switch_root(new_root):
    """Move ``new_root`` over ``/`` and make it our root (as switch_root does), then read-only.

    The host's tree stays underneath, unreachable: no process in the namespace has another
    root or a descriptor into it, none may call chroot, mount or pivot_root (seccomp), and
    mountinfo lists only what is under the root. (pivot_root plus detaching the old root is
    the alternative; the detach waits for an RCU grace period, milliseconds per run.)
    """
    os.chdir(new_root)
    _mount(new_root, "/", None, _MS_MOVE)
    os.chroot(".")
    os.chdir("/")
    _mount(None, "/", None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def build_root(limits, uid, gid, fresh_proc):
    """Switch to a root holding only the allow-list; returns the code's private directory."""
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount propagates back out
    root = "/tmp"  # any directory will do: the new root is mounted over it, in our namespace only
    _tmpfs(root, "size=1m,nr_inodes=1024,mode=755")
    os.mkdir(root + "/tmp")
    _tmpfs(root + "/tmp", f"size={limits['disk_mb']}m,nr_inodes={limits['disk_inodes']},mode=700,uid={uid},gid={gid}")
    for path in allowed_paths():
        _carry(path, root)
    _make_etc(root + "/etc", uid, gid)
    _make_dev(root + "/dev")
    if fresh_proc:  # of our pid namespace: the host's processes are not in it
        os.mkdir(root + "/proc")
        _mount("proc", root + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    _switch_root(root)
    return "/tmp"


# -- the watchdog: wall clock, memory and processes of the whole namespace ---------------------

def _read(path):
    with open(path, "rb") as fh:
        return fh.read()


def _resident(pid):
    return int(_read(f"/proc/{pid}/statm").split()[1]) * _PAGE


def _private(pid):
    """Anonymous and shared-memory pages of ``pid``, shared ones split between their users (PSS).

    A process we may not inspect (not dumpable, in a user namespace) counts with all its
    resident pages, which can only over-count.
    """
    try:
        text = _read(f"/proc/{pid}/smaps_rollup")
    except PermissionError:
        return _resident(pid)
    fields = dict(line.split(b":", 1) for line in text.splitlines()[1:])
    names = (b"Pss_Anon", b"Pss_Shmem", b"SwapPss") if b"Pss_Anon" in fields else (b"Pss", b"SwapPss")
    return sum(int(fields[n].split()[0]) for n in names if n in fields) * 1024


def _unlinked_files(pids):
    """Bytes in open files with no name (memfd, deleted files): memory no process's RSS shows."""
    seen = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                st = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink == 0:
                seen[(st.st_dev, st.st_ino)] = st.st_blocks * 512
    return sum(seen.values())


def _sysv_bytes():
    """SysV shared memory and message queues of our IPC namespace (held by no process)."""
    total = 0
    for path, columns in (("/proc/sysvipc/shm", (b"rss", b"swap")), ("/proc/sysvipc/msg", (b"cbytes",))):
        try:
            lines = _read(path).splitlines()
        except OSError:
            continue
        header = lines[0].split() if lines else []
        where = [header.index(c) for c in columns if c in header]
        total += sum(int(line.split()[i]) for line in lines[1:] for i in where)
    return total


def _safe_sum(measure, pids):
    total = 0
    for pid in pids:
        try:
            total += measure(pid)
        except (OSError, ValueError, IndexError):  # it exited meanwhile
            continue
    return total


def over_limits(memory_bytes, nproc):
    """Which limit the namespace (seen through our /proc) exceeds now: "processes", "memory" or None.

    Resident pages are cheap to read and over-count memory shared between processes (a
    forked child's copy-on-write pages), so the proportional count is read only when they
    exceed the limit.
    """
    pids = [name for name in os.listdir("/proc") if name.isdigit() and name != "1"]  # 1 is us
    if len(pids) > nproc:
        return "processes"
    held = _unlinked_files(pids) + _sysv_bytes()
    if held + _safe_sum(_resident, pids) <= memory_bytes:
        return None
    return "memory" if held + _safe_sum(_private, pids) > memory_bytes else None


def _exited(pid, pidfd, timeout):
    if pidfd is not None:
        return bool(select.select([pidfd], [], [], timeout)[0])
    time.sleep(timeout)  # no pidfd (Linux < 5.3): look again after the interval
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def watch(pid, limits, scan):
    """Wait for B; the limit that ended it ("wall", "memory", "processes") or None if it exited.

    ``scan``: our /proc is the namespace's own, so the memory and process limits can be
    enforced across every process the code started, not per process as rlimits are.
    """
    deadline = time.monotonic() + limits["timeout"] + WALL_MARGIN
    memory, nproc = limits["memory_mb"] << 20, limits["nproc"]
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        pidfd = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "wall"
            if _exited(pid, pidfd, min(WATCH_INTERVAL, left)):
                return None
            hit = over_limits(memory, nproc) if scan else None
            if hit:
                return hit
    finally:
        if pidfd is not None:
            os.close(pidfd)


# -- process B: the code --------------------------------------------------------------------------

def _set_limits(limits, supervisors):
    cpu = int(limits["cpu_seconds"])
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU, then SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize_mb"] * mb,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["nofile"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    # Counted per uid (per user namespace and uid since Linux 5.14): in a user namespace P and
    # A share B's uid, so they are added to keep the code's own budget the same.
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"] + supervisors,) * 2)


MEMORY_HEADROOM_MB = 4  # address space B must have left after start-up, or the limit is an error


def _memory_too_small(memory_mb):
    """Why ``memory_mb`` cannot hold this interpreter and a little work, or None. Below that, the
    run's end would depend on which allocation of which process came first, and a correct
    program could be called a failure: the skill's limits are wrong, an error."""
    with open("/proc/self/statm", "rb") as fh:
        used = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    if used + (MEMORY_HEADROOM_MB << 20) <= memory_mb << 20:
        return None
    return (f"memory_mb={memory_mb} is too small: the sandbox's interpreter already uses "
            f"{used / (1 << 20):.0f} MiB of address space (raise the skill's limits)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_privileges(uid):
    """No capability left, in any namespace; as root also a uid of the run's own."""
    last = int(_read("/proc/sys/kernel/cap_last_cap")) if os.path.exists("/proc/sys/kernel/cap_last_cap") else 40
    for cap in range(last + 1):  # needs CAP_SETPCAP, so before the uid changes
        _LIBC.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    _LIBC.prctl(_PR_CAP_AMBIENT, _CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _check(_LIBC.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), (_CapData * 2)()), "capset")


# The code may not make namespaces or mounts of its own (a tmpfs in a nested user namespace
# would hold memory no limit sees), nor use these kernel interfaces; clone3 says ENOSYS so
# that glibc falls back to clone, whose namespace flags can be checked. {machine: audit arch}
_SECCOMP_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_DENIED = {  # system call: (x86_64 number, aarch64 number)
    "unshare": (272, 97), "setns": (308, 268), "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41),
    "chroot": (161, 51), "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "mount_setattr": (442, 442),
    "bpf": (321, 280), "perf_event_open": (298, 241), "userfaultfd": (323, 282), "keyctl": (250, 219),
    "add_key": (248, 217), "request_key": (249, 218),
}
_CLONE, _CLONE3 = (56, 220), (435, 435)
_CLONE_NEW_ANY = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(machine):
    """The classic-BPF filter for ``machine`` as (code, jt, jf, k) tuples, or None if unknown."""
    if machine not in _SECCOMP_ARCH:
        return None
    col = 0 if machine == "x86_64" else 1
    eperm, enosys = _ERRNO | 1, _ERRNO | 38
    prog = [(_LD_ABS, 0, 0, 4), (_JEQ, 1, 0, _SECCOMP_ARCH[machine]), (_RET, 0, 0, _KILL), (_LD_ABS, 0, 0, 0)]
    if machine == "x86_64":  # the x32 ABI's numbers: none of ours
        prog += [(_JGE, 0, 1, 0x40000000), (_RET, 0, 0, eperm)]
    for numbers in _DENIED.values():
        prog += [(_JEQ, 0, 1, numbers[col]), (_RET, 0, 0, eperm)]
    prog += [(_JEQ, 0, 1, _CLONE3[col]), (_RET, 0, 0, enosys)]
    prog += [(_JEQ, 0, 4, _CLONE[col]), (_LD_ABS, 0, 0, 16),  # clone's flags (low word of args[0])
             (_JSET, 0, 1, _CLONE_NEW_ANY), (_RET, 0, 0, eperm), (_RET, 0, 0, _ALLOW)]
    return prog + [(_RET, 0, 0, _ALLOW)]


def _compiled_filter():
    prog = seccomp_program(os.uname().machine)
    if prog is None:
        return None
    table = (_SockFilter * len(prog))(*[_SockFilter(*ins) for ins in prog])
    return _SockFprog(len(prog), table), table  # the table must live as long as the program


_FILTER = _compiled_filter()  # built once, in the zygote; every run forks with it ready


def _install_seccomp():
    """Load the filter for this process and every child (A loads it: a failure is then a set-up
    error, not the code's); False where the machine is not known."""
    if _FILTER is None:
        return False
    _check(_LIBC.prctl(_PR_SET_SECCOMP, ctypes.c_ulong(_SECCOMP_MODE_FILTER), ctypes.byref(_FILTER[0]),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "seccomp")
    return True


def _execute(code, namespace):
    """Run the code; map its end to an exit status (SystemExit, MemoryError, exceptions) and exit.
    Also how the harness runs a ``code.io_passes`` program in each case's process."""
    try:
        exec(compile(code, "<sandbox>", "exec"), namespace)
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
    """Process B: limits, unprivileged identity, clean cwd/HOME, then the code. Never returns."""
    harness = job.pop("harness", None)  # code evidence: see _run_harness
    if harness is not None:
        harness["sealed_fd"] = os.dup(0)  # the job's second frame, which the harness reads itself
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    in_user_namespace = "user" in applied
    _set_limits(job["limits"], supervisors=2 if in_user_namespace else 0)
    short = _memory_too_small(job["limits"]["memory_mb"])
    if short:  # whichever allocation failed first would decide the verdict: the limits' fault
        _report(job, error=short)
        os._exit(1)
    if harness is None:
        os.close(job["report_fd"])
    if in_user_namespace:  # A inherited "not dumpable"; it must still read our /proc entries
        _LIBC.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    _drop_privileges(job["uid"] if "uid" in applied else None)
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; a too-big file should kill
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    sys.argv = ["<sandbox>"]
    # a process group of its own: the code's kill(0, ...) must not reach P, which shares its uid in
    # a user namespace (the run would end with no report: an error instead of a failure); nothing
    # escapes through it: A ends the namespace, and every process dies with its parent
    os.setpgid(0, 0)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    namespace.update(job.get("globals") or {})
    if harness is not None:
        _run_harness(harness, job, namespace)
    _execute(job["code"], namespace)


def _run_harness(harness, job, namespace):
    """Code evidence (``code.passes``, ``code.io_passes``, ``run``): hand B to the trusted harness
    the job carries compiled (sandbox/_candidate.py and _harness.py; it keeps the report descriptor).

    B becomes non-dumpable: processes of its uid (the candidate's) can then neither ptrace it
    nor open its /proc/<pid>/fd or mem. (In a user namespace A then cannot read B's
    smaps_rollup either; B runs only trusted code there, bounded by its RLIMIT_AS, and the
    processes it starts for the code (C, W) are dumpable again and fully watched.) The harness gets its own
    snapshot of the builtins, so code replacing ``builtins.len`` cannot change what it calls.
    """
    import builtins

    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    module = {"__name__": "_skilldsl_harness", "__builtins__": dict(vars(builtins))}
    for code_object in harness["code_objects"]:  # _candidate.py, then _harness.py
        exec(code_object, module)
    module["main"](harness, job.pop("code"), job["report_fd"], namespace, _execute)
    os._exit(1)


# -- process A: pid 1 of the namespace --------------------------------------------------------

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


def _isolate(job, applied):
    """A's part of the isolation: root file system, host name; returns (workdir, applied)."""
    uid = job["uid"] if job["uid"] is not None else os.getuid()
    gid = job["uid"] if job["uid"] is not None else os.getgid()
    if "uts" in applied:
        _check(_LIBC.sethostname(HOSTNAME.encode(), len(HOSTNAME)), "sethostname")
    if "mount" not in applied:
        return job["workdir"], applied
    sys.executable = os.path.realpath(sys.executable)  # a venv's link is not in the allow-list, its target is
    workdir = build_root(job["limits"], uid, gid, fresh_proc="pid" in applied)
    applied = applied + ["rootfs"]
    if job["uid"] is not None:
        applied.append("uid")  # the interpreter stays reachable for that uid only through our mounts
    return workdir, applied


def _end_all(pid, whole_namespace):
    if whole_namespace:
        os.kill(-1, signal.SIGKILL)  # as the namespace's init: every process in it but us
    else:
        os.kill(pid, signal.SIGKILL)


def reaper(job, lifeline, applied):
    """Process A: finish the isolation, run B, watch it, report how it ended."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if not _parent_alive(lifeline):  # P died before we set the death signal
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # no handler: the code cannot signal its init
    _LIBC.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # nor open our descriptors through /proc/1/fd
    workdir, applied = _isolate(job, applied)
    _write_files(workdir, job.get("files"))
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)  # A never executes anything; the filter needs it
    if _install_seccomp():
        applied.append("seccomp")
    own_namespace = "pid" in applied and "rootfs" in applied
    _report(job, isolation=applied + ["rlimits", "no_new_privs"] + (["watchdog"] if own_namespace else []))
    pid = os.fork()
    if pid == 0:
        run_untrusted(job, workdir, applied)
    limit = watch(pid, job["limits"], scan=own_namespace)
    if limit:
        _end_all(pid, "pid" in applied)
    _, status, usage = os.wait4(pid, 0)
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    _report(job, exit=code, signal=sig, cpu=usage.ru_utime + usage.ru_stime, limit=limit)
    os._exit(0)


# -- process P, the zygote, and the probe -------------------------------------------------------

def _die_with_parent(expected_parent):
    """SIGKILL when the parent exits; exit now if it already did (before the signal was armed)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)


def _read_frame(fd):
    """One length-prefixed frame from ``fd``, read exactly (a buffered read could take the next one)."""
    head = b""
    while len(head) < 8:
        chunk = os.read(fd, 8 - len(head))
        if not chunk:
            raise EOFError("the job ended early")
        head += chunk
    size, parts = int.from_bytes(head, "big"), []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("the job ended early")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def run_job(expected_parent=None):
    """Process P: read the job from stdin, enter the namespaces, fork the reaper and wait for it."""
    _die_with_parent(expected_parent)
    job = marshal.loads(_read_frame(0))  # exactly the job: the sealed frame stays in the pipe
    applied, failed = enter_namespaces(job["namespaces"])
    missing = [kind for kind in REQUIRED if kind not in applied]
    if missing and job.get("require", True):
        _report(job, refused=", ".join(f"{k}: {failed.get(k, 'not available')}" for k in missing))
        os._exit(1)
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


def _become_job(sock, fds, zygote):
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
        run_job(expected_parent=zygote)
    finally:
        os._exit(1)


def serve(sock_fd):
    """Zygote: fork a warm P per request (saves the interpreter start-up and imports per run).

    A request is one message carrying four fds (job stdin, stdout, stderr, report); the reply
    is P's pid. EOF on the socket (the parent exited or was killed) ends the zygote, and with
    it, through their death signal, every P it forked.
    """
    import socket

    sock = socket.socket(fileno=sock_fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our P children
    me = os.getpid()
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, 16, 4)
        if not msg:
            return
        pid = os.fork() if len(fds) == 4 else -1
        if pid == 0:
            _become_job(sock, fds, me)
        for fd in fds:
            os.close(fd)
        sock.send(str(pid).encode())


def _probe_child(kinds, uid):
    """What ``probe`` runs in its child: (entered, {kind: why not}), "rootfs" included."""
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        _LIBC.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)  # the uid change cleared it: /proc/self is root's
    applied, failed = enter_namespaces(kinds)
    if "pid" in applied and "mount" in applied:  # the root file system needs pid 1 of the namespace
        pid = os.fork()
        if pid == 0:
            try:
                build_root({"disk_mb": 1, "disk_inodes": 64}, os.getuid(), os.getgid(), fresh_proc=True)
                os._exit(0)
            except OSError as exc:
                os._exit(exc.errno or 255)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code == 0:
            applied.append("rootfs")
        else:
            failed["rootfs"] = os.strerror(code) if code > 0 else f"killed by signal {-code}"
    _LIBC.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    try:
        if _install_seccomp():
            applied.append("seccomp")
    except OSError as exc:
        failed["seccomp"] = exc.strerror or str(exc)
    return applied, failed


def probe(kinds, uid=None):
    """Try the isolation in a throw-away child (as ``uid`` if given): (entered, {kind: why not})."""
    import ast

    reads, writes = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reads)
        try:
            os.write(writes, repr(_probe_child(kinds, uid)).encode())
        finally:
            os._exit(0)
    os.close(writes)
    with os.fdopen(reads, "rb") as fh:
        text = fh.read().decode()
    os.waitpid(pid, 0)
    return ast.literal_eval(text) if text else ([], {"probe": "the probe process failed"})


if __name__ == "__main__":
    if sys.argv[1:2] == ["--zygote"]:
        serve(int(sys.argv[2]))
    else:
        run_job(int(sys.argv[2]) if sys.argv[1:2] == ["--parent"] else None)
