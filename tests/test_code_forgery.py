"""Hostile responses against code evidence: each tries to earn a reward it has not.

Every test is an attack as a policy under RL would find it, and asserts the reward stays what
honest behaviour earns (0 for a wrong solution), with status ``ok``: a candidate must not turn its
failure into an ``error`` either (a trainer may drop error rows instead of penalising them).

- ``code.passes`` (``code_tests``): the wrong solution ``return a - b`` plus an attack on the signal.
- ``run`` evidence: the docs' run demo (exec the response, then the test) with ``on_failure: false``.
- ``code.io_passes`` (``code_io``): attacks that look for the expected output.

The last tests pin the in-process hacks that ``run`` evidence still allows (docs/language.md,
"What a hostile response can still do"), next to ``code.passes`` refusing the same hacks.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import skilldsl
from skilldsl.verifiers.code import io_passes, passes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

PROMPT = 'import math\n\n\ndef add(a, b):\n    """Return a + b."""\n'
# Every assert goes through a function the candidate could patch in one process.
TEST = """
def check(candidate):
    assert abs(candidate(1, 2) - 3) < 1e-9
    assert math.isclose(candidate(2.5, 2.5), 5.0)
"""
EQ_TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4\n"
WRONG = "    return a - b\n"


# Candidate code: write each line to every descriptor it can name, its own and (through /proc) others'.
WRITE_EVERYWHERE = """
import os
def write_everywhere(lines):
    targets = list(range(64))
    for pid in ("self", "1", str(os.getppid())):
        try:
            targets += [f"/proc/{pid}/fd/{n}" for n in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            pass
    for target in targets:
        for line in lines:
            try:
                if isinstance(target, int):
                    os.write(target, line.encode())
                else:
                    with open(target, "w") as fh:
                        fh.write(line)
            except OSError:
                pass
"""


def wrong_with(attack: str) -> str:
    """The wrong body, then module-level attack code (it runs when the candidate loads)."""
    return WRONG + "\n" + textwrap.dedent(attack)


def assert_honest_zero(verdict) -> None:
    assert (verdict.status, verdict.value) == ("ok", False), (verdict.reason, verdict.detail)


def test_the_wrong_solution_alone_fails_and_the_right_one_passes():
    assert_honest_zero(passes(WRONG, TEST, "add", prompt=PROMPT))
    assert passes("    return a + b\n", TEST, "add", prompt=PROMPT).value is True


# -- code.passes: the signal --------------------------------------------------------------------

SIGNAL_ATTACKS = {
    # the reported attack: the per-run success marker was a constant of the program
    "marker_from_co_consts": """
        import os, sys
        frame = sys._getframe(0)
        while frame is not None:
            for const in frame.f_code.co_consts:
                if isinstance(const, str) and const.startswith("skilldsl"):
                    print(const, flush=True)
            frame = frame.f_back
        os._exit(0)
    """,
    "print_and_exit_0": "print('passed', flush=True)\nimport sys\nsys.exit(0)\n",
    "os_exit_0": "import os\nos._exit(0)\n",
    "raise_system_exit": "raise SystemExit(0)\n",
    "keyboard_interrupt_in_call": "def add(a, b):\n    raise KeyboardInterrupt\n",
    "system_exit_in_call": "def add(a, b):\n    raise SystemExit(0)\n",
    "atexit_exits_0": "import atexit, os\natexit.register(lambda: os._exit(0))\nraise RuntimeError('boom')\n",
    "forged_reports_on_every_fd": WRITE_EVERYWHERE + """
write_everywhere([repr({"harness": {"secret": "0" * 32, "passed": True, "calls": 2}}) + "\\n",
                  repr({"exit": 0, "signal": None}) + "\\n", "True\\n"])
""",
    "patch_builtins_and_math": "import builtins, math\nbuiltins.abs = lambda x: 0\nmath.isclose = lambda *a, **k: True\n",
    "thread_swaps_check": """
        import sys, threading
        sys.setswitchinterval(1e-6)
        def swap():
            main = sys.modules["__main__"].__dict__
            for _ in range(10 ** 7):
                for space in (main, globals()):
                    if "check" in space:
                        space["check"] = lambda candidate: None
                        return
        threading.Thread(target=swap, daemon=True).start()
    """,
    "trace_jumps_over_assertions": """
        import sys
        def tracer(frame, event, arg):
            if frame.f_code.co_name != "check":
                return None
            def line(frame, event, arg):
                if event == "line":
                    try:
                        frame.f_lineno = frame.f_lineno + 1  # skip the assert on this line
                    except ValueError:
                        pass
                return line
            return line
        sys.settrace(tracer)
    """,
    "kill_the_tests_process": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "garbage_on_the_reply_pipe": "import os\nfor fd in range(3, 16):\n    try:\n        os.write(fd, b'\\xff' * 64)\n    except OSError:\n        pass\n",
    "flood_stdout": "import sys\nsys.stdout.write('x' * (4 << 20))\n",
    # the harness's unsigned report for a sealed frame it could not read (an error, not a failure),
    # on every descriptor, and the tests process killed so that it is the only report
    "forged_unsealed_error_then_kill_the_tests_process": WRITE_EVERYWHERE + """
write_everywhere([repr({"harness": {"sealed": False, "error": "forged"}}) + "\\n"])
import signal
os.kill(os.getppid(), signal.SIGKILL)
""",
    "ptrace_the_tests_process_via_proc_mem": """
        import os
        for pid in (os.getppid(), 1):
            for name in ("mem", "environ"):
                try:
                    open(f"/proc/{pid}/{name}", "rb").read(1)
                    print("READ", pid, name, flush=True)
                except OSError:
                    pass
    """,
}


@pytest.mark.parametrize("name", list(SIGNAL_ATTACKS))
def test_code_passes_signal_cannot_be_forged(name):
    assert_honest_zero(passes(wrong_with(SIGNAL_ATTACKS[name]), TEST, "add", prompt=PROMPT, timeout=5))


def test_stop_iteration_cannot_end_the_tests_iteration_early():
    # In one process, StopIteration from the candidate ends map(): all() is True, any() False.
    prompt = "def is_even(n):\n"
    test = "def check(candidate):\n    assert all(map(candidate, [2, 4]))\n    assert not any(map(candidate, [1, 3]))\n"
    assert passes("    return n % 2 == 0\n", test, "is_even", prompt=prompt).value is True
    assert_honest_zero(passes("    raise StopIteration\n", test, "is_even", prompt=prompt))


def test_objects_with_a_permissive_eq_do_not_reach_the_tests():
    always = "    class Yes:\n        def __eq__(self, other):\n            return True\n    return Yes()\n"
    int_like = "    class Int(int):\n        def __eq__(self, other):\n            return True\n    return Int(0)\n"
    for body in (always, int_like):
        assert_honest_zero(passes(body, EQ_TEST, "add", prompt=PROMPT))


# Candidate code: every match of ``pattern`` in the process's own readable memory (a fork of the
# harness made after it read the tests or the secret would show them).
OWN_MEMORY = """
def own_memory_matches(pattern):
    seen = []
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if perms.startswith("r"):
                start, end = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(start)
                    seen += pattern.findall(mem.read(end - start))
                except (OSError, ValueError, OverflowError):
                    pass
    return seen
"""


def test_the_tests_are_not_in_the_candidates_memory():
    # Unsolvable without reading the test: the answer is only in the test's text.
    prompt = 'def guess():\n    """Return the number the hidden test expects."""\n'
    test = "def check(candidate):\n    assert candidate() == 735193\n"
    reader = """
    import gc, os, re, sys
    def guess():
        pattern = re.compile(rb"== (\\d{6})")
        seen = []
        for obj in gc.get_objects():
            try:
                if hasattr(obj, "co_consts"):
                    seen += [c for c in obj.co_consts if isinstance(c, int) and c > 99999]
                if isinstance(obj, dict):
                    seen += [int(m) for v in obj.values() if isinstance(v, str) for m in pattern.findall(v.encode())]
            except Exception:
                pass
        frame = sys._getframe()
        while frame is not None:
            seen += [c for c in frame.f_code.co_consts if isinstance(c, int) and c > 99999]
            frame = frame.f_back
        for path in ("/proc/self/environ", "/proc/self/cmdline", f"/proc/{os.getppid()}/cmdline",
                     f"/proc/{os.getppid()}/environ", f"/proc/{os.getppid()}/mem"):
            try:
                seen += [int(m) for m in pattern.findall(open(path, "rb").read())]
            except (OSError, ValueError):
                pass
        try:  # every readable byte of its own memory
            seen += [int(m) for m in own_memory_matches(pattern)]
        except OSError:
            pass
        for root, _, files in os.walk("/tmp"):
            for f in files:
                try:
                    seen += [int(m) for m in pattern.findall(open(os.path.join(root, f), "rb").read())]
                except OSError:
                    pass
        return seen[0] if seen else -1
    """
    assert_honest_zero(passes(OWN_MEMORY + textwrap.dedent(reader), test, "guess", prompt=prompt))


# -- run evidence: the docs' demo with on_failure ------------------------------------------------

RUN_SKILL = """
skill: run_forgery
mode: pointwise
inputs: {response: text, test: {type: text, visibility: reference}}
evidence:
  passes:
    run: |
      namespace = {}
      exec(response, namespace)
      exec(test, namespace)
      result = True
    uses: [response, test]
    timeout: 5
    on_failure: false
reward: 1 if passes else 0
"""
RUN_TEST = "assert add(1, 2) == 3\nassert add(2, 2) == 4\n"
# Looks for the one-time secret (32 hex digits) everywhere it could be, then sends forged frames.
STEAL = """
import ctypes, gc, os, re, sys
found = []
def look(values):
    found.extend(v for v in values if isinstance(v, str) and re.fullmatch("[0-9a-f]{32}", v))
def frames():
    f = sys._getframe()
    while f is not None:
        look(f.f_locals.values())
        f = f.f_back
def traceback_frames():
    try:
        raise ValueError
    except ValueError as exc:
        look(exc.__traceback__.tb_frame.f_back.f_locals.values())
def generator_frame():
    gen = (x for x in ())
    look(gen.gi_frame.f_locals.values())
def every_object():
    look(gc.get_objects())
    look(gc.get_referents(*gc.get_objects()))
def own_memory():
    open("/proc/self/mem", "rb").close()
def via_ctypes():
    ctypes.string_at(id(os), 64)
def trace():
    sys.settrace(lambda *a: None)
for probe in (frames, traceback_frames, generator_frame, every_object, own_memory, via_ctypes, trace):
    try:
        probe()
        print("PROBE-WORKED", probe.__name__, file=sys.stderr, flush=True)
    except Exception:
        pass
for secret in found:
    data = b"l3:s32:%sTT" % secret.encode()
    for fd in range(64):
        try:
            os.write(fd, len(data).to_bytes(8, "big") + data)
        except OSError:
            pass
os._exit(0)
"""
RUN_WRONG = "def add(a, b):\n    return a - b\n"

RUN_ATTACKS = {
    "print_true_and_exit": "print('true', flush=True)\nimport os\nos._exit(0)\n",  # the reported attack
    "print_result_key_json": 'print(\'{"__skilldsl_result__": true}\', flush=True)\nimport sys\nsys.exit(0)\n',
    "raise_system_exit": "raise SystemExit(0)\n",
    "keyboard_interrupt": "raise KeyboardInterrupt\n",
    "atexit": "import atexit, os\natexit.register(lambda: print('true', flush=True))\n",
    "start_a_thread": "import threading\nthreading.Thread(target=lambda: None).start()\n",
    "fork": "import os\nif os.fork() == 0:\n    os._exit(0)\n",
    "forged_frames_on_every_fd": """
        import os
        def frame(payload):
            return len(payload).to_bytes(8, "big") + payload
        # the harness's plain-data encoding of [secret, True, True], with guessed secrets
        for secret in ("0" * 32, "f" * 32, ""):
            data = b"l3:s%d:%sTT" % (len(secret), secret.encode())
            for fd in range(64):
                try:
                    os.write(fd, frame(data))
                except OSError:
                    pass
        os._exit(0)
    """,
    "forged_unsealed_error_on_every_fd": """
        import os
        for fd in range(64):
            try:
                os.write(fd, (repr({"harness": {"sealed": False, "error": "forged"}}) + "\\n").encode())
            except OSError:
                pass
        os._exit(0)
    """,
    "steal_the_secret": STEAL,
    # a signal handler is handed the current frame, and f_back is not audited: up to the harness's
    # frame, its secret and its result pipe (signal.signal raises no audit event)
    "signal_handler_frame": """
        import os, signal
        def handler(signum, frame):
            f = frame
            while f is not None:
                here = f.f_locals
                if "secret" in here and "wfd" in here:
                    data = b"l3:s32:%sTT" % here["secret"].encode()
                    os.write(here["wfd"], len(data).to_bytes(8, "big") + data)
                    os._exit(0)
                f = f.f_back
        signal.signal(signal.SIGUSR1, handler)
        signal.raise_signal(signal.SIGUSR1)
    """,
    # the audit hook reads a genuine .pyc itself when the import system opens one: it must not call
    # anything the code can replace while it does (os.open here), or that code runs unguarded
    # crafted bytecode reads any memory (the secret included): no code object may come from outside
    "crafted_bytecode": """
        import importlib.util, marshal, os, sys
        os.makedirs("/tmp/evil/__pycache__", exist_ok=True)
        with open("/tmp/evil/evil.py", "w") as fh:
            fh.write("X = 1\\n")
        st = os.stat("/tmp/evil/evil.py")
        header = importlib.util.MAGIC_NUMBER + bytes(4) + int(st.st_mtime).to_bytes(4, "little") + st.st_size.to_bytes(4, "little")
        with open(importlib.util.cache_from_source("/tmp/evil/evil.py"), "wb") as fh:
            fh.write(header + marshal.dumps(compile("X = 2", "evil", "exec")))
        sys.path.insert(0, "/tmp/evil")
        import evil
        if evil.X == 2:
            print("PROBE-WORKED crafted pyc", file=sys.stderr, flush=True)
        try:
            marshal.loads(marshal.dumps(compile("Y = 1", "y", "exec")))
            print("PROBE-WORKED marshal.loads", file=sys.stderr, flush=True)
        except Exception:
            pass
        os._exit(0)
    """,
    "pause_the_hook_through_os_open": """
        import os, sys
        real = os.open
        def spy(*args, **kwargs):
            try:
                sys._getframe()
                print("PROBE-WORKED hook paused", file=sys.stderr, flush=True)
            except Exception:
                pass
            return real(*args, **kwargs)
        os.open = spy
        import decimal, fractions, statistics  # not imported yet: their .pyc files are opened now
        os._exit(0)
    """,
}


@pytest.fixture(scope="module")
def run_skill(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run_forgery.skill"
    path.write_text(RUN_SKILL, encoding="utf-8")
    return skilldsl.load(str(path))


def test_run_evidence_honest_answers(run_skill):
    right, wrong = run_skill.score([{"response": "def add(a, b):\n    return a + b\n", "test": RUN_TEST},
                                    {"response": RUN_WRONG, "test": RUN_TEST}])
    assert (right.reward, right.status) == (1.0, "ok")
    assert (wrong.reward, wrong.status) == (0.0, "ok")  # a wrong answer is 0, not an error
    assert "AssertionError" in wrong.trace["passes"].detail["output"]


def test_run_evidence_value_cannot_be_forged(run_skill):
    rows = [{"response": RUN_WRONG + textwrap.dedent(attack), "test": RUN_TEST} for attack in RUN_ATTACKS.values()]
    results = run_skill.score(rows)
    for name, result in zip(RUN_ATTACKS, results):
        assert (result.reward, result.status) == (0.0, "ok"), (name, result.trace["passes"])
        assert "PROBE-WORKED" not in result.trace["passes"].detail["output"], name


def test_run_evidence_without_on_failure_is_an_error_not_a_score(tmp_path):
    path = tmp_path / "strict.skill"
    path.write_text(RUN_SKILL.replace("    on_failure: false\n", ""), encoding="utf-8")
    (result,) = skilldsl.load(str(path)).score([{"response": SIGNAL_ATTACKS["os_exit_0"], "test": RUN_TEST}])
    assert result.status == "error" and result.reward is None


# -- code.io_passes: the expected outputs never enter the sandbox --------------------------------


def test_io_expected_output_is_nowhere_in_the_sandbox():
    expected = "secret-output-839201"
    finder = textwrap.dedent("""
        import os, re, sys
        pattern = re.compile(rb"secret-output-\\d+")
        seen = pattern.findall(sys.stdin.buffer.read())
        for top in ("/tmp", "/etc", "/dev/shm"):
            for root, _, files in os.walk(top):
                for f in files:
                    try:
                        seen += pattern.findall(open(os.path.join(root, f), "rb").read())
                    except OSError:
                        pass
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            for name in ("cmdline", "environ", "mem"):
                try:
                    seen += pattern.findall(open(f"/proc/{pid}/{name}", "rb").read())
                except OSError:
                    pass
        print(seen[0].decode() if seen else "nothing")
    """)
    verdict = io_passes(finder, ["what is the secret?\n"], [expected])
    assert_honest_zero(verdict)
    assert verdict.detail["stdout"].strip() == "nothing"


@pytest.mark.parametrize("attack", [
    "import os\nos._exit(0)\n",
    "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, repr({'harness': {'cases': []}}).encode() + b'\\n')\n    except OSError:\n        pass\n",
    "import os, signal\nfor fd in range(3, 64):\n    try:\n        os.write(fd, repr({'harness': {'sealed': False, 'error': 'forged'}}).encode() + b'\\n')\n"
    "    except OSError:\n        pass\nos.kill(os.getppid(), signal.SIGKILL)\n",
])
def test_io_signal_cannot_be_forged(attack):
    assert_honest_zero(io_passes(attack, ["1\n"], ["2\n"]))


COUNT_FDS = "import os\n\ndef open_fds():\n    return [fd for fd in range(3, 1024) if _is_open(fd)]\n\n" \
    "def _is_open(fd):\n    try:\n        os.fstat(fd)\n        return True\n    except OSError:\n        return False\n"


def test_only_the_harness_holds_the_report_pipe():
    """The candidate's processes keep no descriptor but their own pipes: not the report pipe (an
    unsigned report there would be read as the harness's), nor the job's sealed frame."""
    two_pipes = passes(COUNT_FDS, "def check(candidate):\n    assert len(candidate()) == 2\n", "open_fds")
    assert two_pipes.value is True, two_pipes.detail  # its request and reply pipes
    none = io_passes(COUNT_FDS + "print(len(open_fds()))\n", ["\n"], ["0\n"])
    assert none.value is True, none.detail


# Prints whether the run's secret (here "5e" * 16, see below) is anywhere in its own memory.
SCAN_FOR_SECRET = OWN_MEMORY + r"""
import re, sys
given = sys.stdin.read()  # held in memory: the scan must find it there when it is the secret
print("found" if own_memory_matches(re.compile(rb"(5e)\1{15}")) else "nothing")
"""


def test_io_candidate_never_held_the_secret(monkeypatch):
    """Each case's process is a fork of the harness made before it read the secret."""
    from skilldsl.sandbox import code

    monkeypatch.setattr(code.secrets, "token_hex", lambda n: "5e" * n)
    verdict = io_passes(SCAN_FOR_SECRET, ["1\n", "2\n"], ["nothing\n", "nothing\n"])
    assert verdict.value is True, verdict.detail
    seen = io_passes(SCAN_FOR_SECRET, ["5e" * 16 + "\n"], ["found\n"])  # the scan works
    assert seen.value is True, seen.detail


# -- what run evidence still allows in one process (documented), and code.passes does not ---------

PATCH_ABS = "import builtins\nbuiltins.abs = lambda x: 0\n"
YES = "class Yes:\n    def __eq__(self, other):\n        return True\n"


def test_in_process_hacks_that_run_evidence_cannot_stop(run_skill):
    """docs/language.md lists these: run code shares one process with the response it execs."""
    patched, eq = run_skill.score([
        {"response": RUN_WRONG + PATCH_ABS, "test": "assert abs(add(1, 2) - 3) < 1e-9\n"},
        {"response": YES + "\ndef add(a, b):\n    return Yes()\n", "test": RUN_TEST},
    ])
    assert (patched.reward, eq.reward) == (1.0, 1.0)
    assert_honest_zero(passes(WRONG + "\n" + PATCH_ABS, TEST, "add", prompt=PROMPT))
    assert_honest_zero(passes("    return Yes()\n\n\n" + YES, EQ_TEST, "add", prompt=PROMPT))


def test_the_secret_probes_work_where_nothing_refuses_them():
    """The probes are not broken: in a plain sandbox run (no harness, no audit hook) reading
    frames, walking the gc and loading crafted bytecode all work."""
    from skilldsl.sandbox import run

    result = run(STEAL.replace("os._exit(0)", "pass"))
    assert "PROBE-WORKED frames" in result.stderr and "PROBE-WORKED every_object" in result.stderr
    crafted = run(textwrap.dedent(RUN_ATTACKS["crafted_bytecode"]).replace("os._exit(0)", "pass"))
    assert "PROBE-WORKED crafted pyc" in crafted.stderr and "PROBE-WORKED marshal.loads" in crafted.stderr


def test_the_attacks_win_when_tests_and_candidate_share_one_program():
    """The classic way (prompt + response + test + ``check(add)`` in one program) loses to the
    patched builtins and to a permissive ``__eq__``: these attacks are live, not strawmen."""
    import builtins
    import math

    saved = builtins.abs, math.isclose
    try:
        program = PROMPT + wrong_with(SIGNAL_ATTACKS["patch_builtins_and_math"]) + TEST + "\ncheck(add)\n"
        exec(compile(program, "<one program>", "exec"), {})  # no AssertionError
    finally:
        builtins.abs, math.isclose = saved
    eq_program = PROMPT + "    return Yes()\n\n\n" + YES + EQ_TEST + "\ncheck(add)\n"
    exec(compile(eq_program, "<one program>", "exec"), {})  # no AssertionError either


# -- the same attacks as an unprivileged user (user namespaces) -----------------------------------

_NOBODY_DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from skilldsl.sandbox.code import check_program, io_program, run_skill_code
cases = json.loads(open(sys.argv[2]).read())
out = {}
for name, (kind, response) in cases.items():
    if kind == "passes":
        v = check_program(response, cases["_test"][1], "add", prompt=cases["_prompt"][1])
    elif kind == "run":
        v = run_skill_code("namespace = {}\\nexec(response, namespace)\\nexec(test, namespace)\\nresult = True",
                           {"response": response, "test": cases["_run_test"][1]}, None, False)
    elif kind == "io":
        v = io_program(response, ["1\\n"], ["secret-output-839201\\n"])
    else:
        continue
    out[name] = [v.status, v.value, v.detail.get("isolation")]
print(json.dumps(out))
"""


def _as_nobody(files: dict, *args: str, timeout: float = 240):
    """Run ``driver.py`` (in ``files``) as the unprivileged user ``nobody`` with the system python,
    next to a copy of the sandbox (standard library only); ``args`` name files in ``files``.
    Skips where the machine cannot (not root, no runuser, no system python3.11)."""
    import os
    import shutil
    import subprocess
    import tempfile

    runuser, python = shutil.which("runuser"), "/usr/bin/python3.11"
    if os.geteuid() != 0 or not runuser or not os.access(python, os.X_OK):
        pytest.skip("needs root (to become nobody), runuser and a system python3.11 nobody can run")
    repo = Path(__file__).resolve().parents[1]
    base = Path(tempfile.mkdtemp(prefix="skilldsl-code-nobody-"))
    try:
        package = base / "skilldsl"
        shutil.copytree(repo / "skilldsl" / "sandbox", package / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(repo / "skilldsl" / "values.py", package / "values.py")
        (package / "__init__.py").write_text("")
        (package / "sandbox" / "__init__.py").write_text("")
        for name, text in files.items():
            (base / name).write_text(text)
        for path in [base, *base.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        return subprocess.run([runuser, "-u", "nobody", "--", python, "-I", str(base / "driver.py"), str(base),
                               *(str(base / a) for a in args)], capture_output=True, text=True, timeout=timeout,
                              cwd="/")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_attacks_are_contained_as_an_unprivileged_user(tmp_path_factory):
    import json

    cases = {"_prompt": ["", PROMPT], "_test": ["", EQ_TEST], "_run_test": ["", RUN_TEST],
             "right": ["passes", "    return a + b\n"], "wrong": ["passes", WRONG],
             "run_right": ["run", "def add(a, b):\n    return a + b\n"]}
    for name in ("marker_from_co_consts", "forged_reports_on_every_fd", "kill_the_tests_process",
                 "ptrace_the_tests_process_via_proc_mem", "forged_unsealed_error_then_kill_the_tests_process"):
        cases[name] = ["passes", wrong_with(SIGNAL_ATTACKS[name])]
    cases["kill_own_group"] = ["passes", wrong_with("import os, signal\nos.kill(0, signal.SIGKILL)\n")]
    for name in ("print_true_and_exit", "forged_frames_on_every_fd", "steal_the_secret"):
        cases["run_" + name] = ["run", RUN_WRONG + textwrap.dedent(RUN_ATTACKS[name])]
    cases["run_kill_own_group"] = ["run", "import os, signal\nos.kill(0, signal.SIGKILL)\n"]
    cases["io_kill_own_group"] = ["io", "import os, signal\nos.kill(0, signal.SIGKILL)\n"]
    done = _as_nobody({"cases.json": json.dumps(cases), "driver.py": _NOBODY_DRIVER}, "cases.json")
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out.pop("right")[:2] == ["ok", True] and out.pop("run_right")[:2] == ["ok", True]
    assert "user" in out["wrong"][2], out["wrong"]  # really the unprivileged path
    for name, (status, value, _) in out.items():
        assert (status, value) == ("ok", False), name


_MEMFD_FLOOD = """
import os
held = []
for _ in range(48):  # 48 x 16 MiB (the file-size limit) in anonymous files: 768 MiB > memory_mb
    fd = os.memfd_create("x")
    os.write(fd, b"x" * (16 << 20))
    held.append(fd)
result = True
"""

_MEMFD_DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from skilldsl.sandbox.code import run_skill_code
v = run_skill_code(open(sys.argv[2]).read(), {}, {"timeout": 20, "memory_mb": 256}, False)
print(json.dumps([v.status, v.value, v.detail.get("limit"), v.detail.get("isolation")]))
"""


def test_run_code_cannot_hold_memory_in_anonymous_files_as_an_unprivileged_user():
    """The worker that runs `run` code is a fork of the non-dumpable harness: it must be made
    watchable again, or the watchdog cannot count what it holds (user-namespace mode only)."""
    import json

    done = _as_nobody({"code.py": _MEMFD_FLOOD, "driver.py": _MEMFD_DRIVER}, "code.py", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    status, value, limit, isolation = json.loads(done.stdout)
    assert "user" in isolation  # really the unprivileged path
    assert (status, value, limit) == ("ok", False, "memory")


_STOP_DRIVER = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.environ["SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY"] = "1"
from skilldsl.sandbox import core
from skilldsl.sandbox.code import check_program
core._namespaces = lambda: []  # as on a host that refuses namespaces to this user
test = "def check(candidate):\\n    assert candidate(1, 2) == 3\\n" + "# pad\\n" * ((8 << 20) // 6)
start = time.monotonic()
v = check_program(open(sys.argv[2]).read(), test, "add", prompt="def add(a, b):\\n    pass\\n", timeout=3)
print(json.dumps([v.status, v.value, time.monotonic() - start]))
"""
# Without namespaces the candidate shares the uid of the sandbox's own processes: it stops them
# while the tests (8 MiB, more than a pipe holds) are still being written to the sandbox.
STOP_THE_SANDBOX = """
import os, signal
def parent(pid):
    return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
tests_process = os.getppid()
os.kill(parent(tests_process), signal.SIGSTOP)  # A, the watchdog
os.kill(tests_process, signal.SIGSTOP)
def add(a, b):
    return a + b
"""


def test_a_candidate_that_stops_the_sandbox_cannot_hang_its_caller():
    import json

    done = _as_nobody({"driver.py": _STOP_DRIVER, "stop.py": STOP_THE_SANDBOX}, "stop.py", timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    status, value, seconds = json.loads(done.stdout)
    assert (status, value) == ("ok", False) and seconds < 10, (status, value, seconds)
