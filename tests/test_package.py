"""Packaging promises: importing skilldsl is light, CI runs the README's own commands."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_does_not_load_torch():
    code = "import sys, skilldsl, skilldsl.runtime; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up and test", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_ci_runs_the_readme_commands():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    commands = _readme_commands()
    assert len(commands) == 2, commands
    for command in commands:
        assert command in ci, f"README command not in .ci/run: {command}"
