"""``skilldsl doctor``: the isolation the sandbox gives untrusted code on this machine.

Runs one real sandboxed program as the current user and, when root, tries the unprivileged
path (a user namespace, as a user without privileges) in a throw-away child, then says which
level each gets (``namespaces``, ``partial``, ``rlimits-only``) and what is missing. Exit 1 when
the current user's runs would be refused (or, with ``SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY=1``,
run with less than namespaces).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
from typing import Any

__all__ = ["add_parser", "run", "diagnose"]

_UNPRIVILEGED_UID = 65534  # nobody


def add_parser(subparsers: Any) -> None:
    """Register ``doctor``."""
    p = subparsers.add_parser("doctor", help="show the isolation the code sandbox gets on this machine",
                              description="Run a sandboxed program and report the isolation level untrusted "
                                          "code gets here, as root and as an unprivileged user, and what is "
                                          "missing. Exit 1 when this user's runs would be refused or weakened.")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _current_user() -> dict:
    from ..sandbox import Limits, isolation_level
    from ..sandbox import run as sandbox_run

    result = sandbox_run("pass", limits=Limits(timeout=10))
    entry = {"uid": os.geteuid(), "isolation": list(result.isolation), "level": isolation_level(result.isolation)}
    if result.status != "passed":
        entry.update(level="refused" if "refusing" in (result.reason or "") else "broken", missing=result.reason)
    return entry


def _unprivileged() -> dict:
    from ..sandbox import isolation_level
    from ..sandbox.core import probe_unprivileged

    if os.geteuid() != 0:
        return {"level": "not checked", "missing": "run 'skilldsl doctor' as root to try another user"}
    entered, failed = probe_unprivileged(_UNPRIVILEGED_UID)
    # The probe stops before B, which always gets rlimits and no_new_privs; the watchdog comes with the rootfs.
    applied = entered + ["rlimits", "no_new_privs"] + (["watchdog"] if "rootfs" in entered else [])
    entry = {"uid": _UNPRIVILEGED_UID, "isolation": applied, "level": isolation_level(applied)}
    if failed:
        entry["missing"] = ", ".join(f"{what}: {why}" for what, why in failed.items())
    return entry


def diagnose() -> dict:
    """The report ``doctor`` prints: one entry per user kind, plus the machine's kernel."""
    from ..sandbox.core import ALLOW_RLIMITS_ONLY, rlimits_only_allowed

    return {
        "kernel": platform.release(),
        "current_user": _current_user(),
        "unprivileged_user": _unprivileged(),
        "rlimits_only_allowed": rlimits_only_allowed(),
        "opt_in": ALLOW_RLIMITS_ONLY,
        "limits": "memory and processes per sandbox by the watchdog (pid-namespace scan; no cgroups), "
                  "disk by the private /tmp (size and inodes), CPU/address space/file size by rlimits",
    }


def _line(label: str, entry: dict) -> str:
    who = f"uid {entry['uid']}" if "uid" in entry else ""
    text = f"  {label} ({who}): {entry['level']}" if who else f"  {label}: {entry['level']}"
    if entry.get("isolation"):
        text += f"\n      applied: {' '.join(entry['isolation'])}"
    if entry.get("missing"):
        text += f"\n      missing: {entry['missing']}"
    return text


def run(args: argparse.Namespace) -> int:
    """Print the diagnosis; exit 1 unless the current user gets full namespace isolation."""
    report = diagnose()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"sandbox isolation for untrusted code (Linux {report['kernel']})")
        print(_line("this user", report["current_user"]))
        print(_line("an unprivileged user", report["unprivileged_user"]))
        print(f"  per-sandbox limits: {report['limits']}")
        if report["current_user"]["level"] != "namespaces":
            state = "set" if report["rlimits_only_allowed"] else "not set"
            print(f"  without namespaces runs are refused unless {report['opt_in']}=1 ({state})")
    return 0 if report["current_user"]["level"] == "namespaces" else 1
