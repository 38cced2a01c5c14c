"""``skilldsl import skillrm``: Skill-RM packages -> .skill files that build and pass their tests.

The fixture packages in tests/fixtures/skillrm/ are written for these tests in Skill-RM's shape
(no Skill-RM text); the three published packages are read from ../shared/skillrm when present.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

import skilldsl
from skilldsl.cli import main
from skilldsl.importers.skillrm import import_package, map_package
from skilldsl.importers.skillrm_package import read_package
from skilldsl.runtime.backends.fake import FakeBackend
from skilldsl.runtime.render import render_text
from skilldsl.testing import run_tests

FIXTURES = Path(__file__).parent / "fixtures" / "skillrm"
FULL = FIXTURES / "full"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "skillrm"
SHARED_PACKAGES = ["reward_judge_fair", "reward_judge_operational", "instruction_following"]
SECRETS = ("GOLD-SECRET-7731", "ORACLE-SECRET-4410")
REF_SECRET = "REF-SECRET-0042"


def run_import(pkg: Path, out: Path, *extra: str, capsys=None):
    """``skilldsl import skillrm pkg -o out``: (exit status, stderr)."""
    status = main(["import", "skillrm", str(pkg), "-o", str(out), *extra])
    err = capsys.readouterr().err if capsys else ""
    return status, err


def imported(tmp_path: Path, pkg: Path, name: str = "imported.skill") -> Path:
    out = tmp_path / name
    assert main(["import", "skillrm", str(pkg), "-o", str(out)]) == 0
    return out


def resource_ids(pkg: Path) -> list:
    index = pkg / "resources.yaml"
    if not index.exists():
        return []
    data = yaml.safe_load(index.read_text())
    return [r["id"] for key in ("resources", "runtime_resources") for r in data.get(key) or []]


def every_prompt(program, sample: dict) -> list:
    """Every prompt template of ``program`` rendered with ``sample`` (every input, the reference too)."""
    files = {k: f["text"] for k, f in program.doc["files"].items()}
    rendered = []
    for node in program.doc["evidence"].values():
        body = node.get("body", node)
        for source in (body.get("prompt") or {}).values():
            rendered.append(render_text(source, {**sample, "files": files, "item": "criterion", "index": 0}))
    assert rendered, "the skill has no prompt at all"
    return rendered


def scored(path: Path, sample: dict, **script):
    fake = FakeBackend(script.get("choices"), default_choice=script.get("default_choice"))
    return skilldsl.load(path, backend=fake, cache=False).score([sample])[0], fake


# -- hostile: hidden resources never reach a prompt ---------------------------------------

ALL_FIELDS = {"prompt": "Q", "a": "x", "b": "y", "benchmark": "BenchX", "task": "math", "reference": REF_SECRET,
              "checklist": ["c1"]}


def test_hidden_resources_and_the_reference_reach_no_prompt(tmp_path):
    out = imported(tmp_path, FULL)
    written = [out] + [p for p in (tmp_path / "imported").rglob("*") if p.is_file()]
    for path in written:
        text = path.read_text()
        assert not any(s in text for s in SECRETS), path
    program = skilldsl.compile(out)
    assert program.doc["inputs"]["reference"]["visibility"] == "reference"
    for prompt in every_prompt(program, ALL_FIELDS):
        assert not any(s in prompt for s in SECRETS + (REF_SECRET,))
    # and what a scored sample sends: every judge reached once
    for extra in ({}, {"benchmark": "BenchX"}, {"task": "math"}, {"checklist": ["c1"]}):
        sample = {"prompt": "Q", "a": "x", "b": "y", "reference": REF_SECRET, **extra}
        result, fake = scored(out, sample, choices={"Criterion:": "yes"}, default_choice="A")
        assert result.status == "ok" and fake.requests
        assert not any(fake.saw(s) for s in SECRETS + (REF_SECRET,))


def test_a_hostile_package_cannot_inject_yaml_expressions_or_templates(tmp_path):
    """Ids, benchmark and task words and file texts are data: a newline in an id does not start a
    line of the skill, a quote in a benchmark does not end the string, a rubric's {{ }} is text."""
    pkg = shutil.copytree(FULL, tmp_path / "pkg")
    index = pkg / "resources.yaml"
    text = index.read_text().replace("id: rubric.main", 'id: "rubric.main\nreward: 1\n#"', 1)
    text = text.replace("benchmarks: [BenchX, benchx]", """benchmarks: ['X" or true or "', 'a #b: c']""")
    text = text.replace("applies_to: [math, reasoning]", """applies_to: ['math") or true or ("']""")
    index.write_text(text)
    (pkg / "rubrics" / "main.md").write_text("Judge well. {{ reference }} {% for x in range(3) %}x{% endfor %}\n")
    out = imported(tmp_path, pkg)
    program = skilldsl.compile(out)
    assert "reward: 1\n" not in out.read_text()
    prompts = every_prompt(program, ALL_FIELDS)
    assert any("{{ reference }} {% for x in range(3) %}" in p for p in prompts)
    assert not any(REF_SECRET in p for p in prompts)
    base = {"prompt": "Q", "a": "x", "b": "y"}
    for extra in ({"benchmark": "other"}, {"benchmark": 'X" or true or "'}, {"task": "chat"}):
        result, _ = scored(out, {**base, **extra}, default_choice="A")
        ran = [n for n, t in result.trace.items() if n.startswith("judge") and t.skipped is None]
        expected = "judge_x_or_true_or" if extra.get("benchmark", "").startswith("X") else "judge"
        assert ran == [expected], (extra, ran)


def test_the_leak_detector_sees_a_resource_marked_visible(tmp_path):
    """The test above can fail: the same gold file marked sample_visible is in a prompt."""
    pkg = shutil.copytree(FULL, tmp_path / "pkg")
    index = pkg / "resources.yaml"
    index.write_text(index.read_text().replace("leakage_level: hidden_label", "leakage_level: sample_visible", 1))
    program = skilldsl.compile(imported(tmp_path, pkg))
    assert any(SECRETS[0] in prompt for prompt in every_prompt(program, ALL_FIELDS))


# -- nothing dropped silently -------------------------------------------------------------

def test_every_resource_is_mapped_or_listed_in_the_skill_and_on_stderr(tmp_path, capsys):
    status, err = run_import(FULL, tmp_path / "full.skill", capsys=capsys)
    assert status == 0
    text = (tmp_path / "full.skill").read_text()
    header = text.split("\nskill:")[0]
    notes = {n.what: n for n in map_package(read_package(FULL)).notes}
    for rid in resource_ids(FULL):
        assert rid in notes, rid
        assert f"#   {rid}: " in header, rid
        if not notes[rid].mapped:
            assert f"not mapped: {rid}: " in err, rid
    for rid in ("gold.answers", "rubric.oracle", "rubric.listwise_only", "tool.sandbox", "external.other_judge"):
        assert not notes[rid].mapped
    for other in ("scripts/notes_helper.py", "README.md", "SKILL.md '## Tool Use'"):
        assert other in notes and f"not mapped: {other}: " in err


def test_output_is_stable(tmp_path):
    first, files, _ = import_package(FULL)
    again, files_again, _ = import_package(FULL)
    assert first == again and files == files_again


# -- each mapping -------------------------------------------------------------------------

def test_applies_to_benchmarks_and_inputs_required_become_when(tmp_path):
    out = imported(tmp_path, FULL)
    evidence = skilldsl.compile(out).doc["evidence"]
    assert evidence["judge"]["when"] is None
    assert evidence["judge_benchx"]["when"] is not None and evidence["judge_principle_math"]["when"] is not None
    base = {"prompt": "Q", "a": "x", "b": "y"}
    for extra, decides in (({"benchmark": "BenchX"}, "judge_benchx"), ({"task": "reasoning"}, "judge_principle_math"),
                           ({"benchmark": "other", "task": "chat"}, "judge")):
        result, _ = scored(out, {**base, **extra}, default_choice="A")
        ran = [n for n in ("judge", "judge_benchx", "judge_principle_math") if result.trace[n].skipped is None]
        assert ran == [decides], extra


def test_cost_orders_the_reward_hard_evidence_first(tmp_path):
    out = imported(tmp_path, FULL)
    text = out.read_text().split("\nreward: |")[1].split("\ntests:")[0]
    assert text.index("a_math") < text.index("run_verifier_script") < text.index("judge")
    sample = {"prompt": "6*7?", "a": "The answer is 42.", "b": "The answer is 41. FORBIDDEN", "task": "math",
              "reference": "42"}
    result, fake = scored(out, sample, default_choice="B")
    assert result.reward == 1.0
    assert result.trace["run_verifier_script"].skipped and not fake.requests  # the cheap check decided


def test_a_script_becomes_run_evidence_whose_verdict_decides(tmp_path):
    out = imported(tmp_path, FULL)
    assert skilldsl.compile(out).doc["evidence"]["run_verifier_script"]["kind"] == "run"
    base = {"prompt": "Say hi.", "a": "hi", "b": "hi FORBIDDEN"}
    result, fake = scored(out, base, default_choice="B")  # a judge preferring b is not asked
    assert (result.reward, result.trace["run_verifier_script"].value, fake.requests) == (1.0, "A", [])
    result, fake = scored(out, {**base, "a": "FORBIDDEN hi"}, default_choice="A")  # Tie: the judge decides
    assert result.trace["run_verifier_script"].value == "Tie" and fake.requests
    assert result.reward == pytest.approx(0.5)  # the position-biased judge is cancelled by swap


def test_output_contract_gives_the_labels_and_checklists_are_judged(tmp_path):
    program = skilldsl.compile(imported(tmp_path, FULL))
    judge = program.doc["evidence"]["judge"]
    assert judge["answer"]["labels"] == ["A", "Tie", "B"] and judge["swap"] is True
    assert program.doc["evidence"]["a_items"]["over"] == "checklist"
    assert "JSON" not in judge["prompt"]["system"]  # the output contract's JSON is replaced, not shown


def test_constraint_helpers_map_to_the_registered_checkers(tmp_path, capsys):
    status, err = run_import(FIXTURES / "constraints", tmp_path / "c.skill", capsys=capsys)
    assert status == 0
    program = skilldsl.compile(tmp_path / "c.skill")
    assert program.doc["evidence"]["a_follows"]["verifier"]["name"] == "ifeval.all"
    assert program.doc["evidence"]["judge"]["answer"]["labels"] == ["A", "B"]
    assert "not mapped: scripts/helpers.py: tidy: " in err
    sample = {"prompt": "Answer in under 5 words.", "a": "Yes, gladly.", "b": "Yes, I will gladly do that for you now.",
              "instruction_id_list": ["length_constraints:number_words"],
              "kwargs": [{"relation": "less than", "num_words": 5}]}
    result, fake = scored(tmp_path / "c.skill", sample, default_choice="B")
    assert (result.reward, fake.requests) == (1.0, [])


def test_files_are_copied_beside_the_skill_and_never_clobbered(tmp_path, capsys):
    out = tmp_path / "out" / "judge.skill"
    assert run_import(FULL, out, capsys=capsys)[0] == 0
    copied = tmp_path / "out" / "judge" / "rubrics" / "main.md"
    assert copied.read_text() == (FULL / "rubrics" / "main.md").read_text()
    assert not (tmp_path / "out" / "judge" / "references" / "gold.md").exists()
    copied.write_text("edited by hand\n")
    status, err = run_import(FULL, out, capsys=capsys)
    assert status == 1 and "exists with other contents" in err and copied.read_text() == "edited by hand\n"
    assert run_import(FULL, out, "--force", capsys=capsys)[0] == 0
    assert copied.read_text() == (FULL / "rubrics" / "main.md").read_text()


def test_generated_tests_pass_and_catch_a_broken_mapping(tmp_path):
    out = imported(tmp_path, FULL)
    outcomes = run_tests(out)
    assert len(outcomes) >= 6 and all(o.passed for o in outcomes), [o.failures for o in outcomes if not o.passed]
    out.write_text(out.read_text().replace("swap: true", "swap: false"))
    failed = [o.name for o in run_tests(out) if not o.passed]
    assert any("position bias" in name for name in failed)


# -- malformed packages: one line, exit 1 -------------------------------------------------

def _break(pkg: Path, how: str) -> None:
    index = pkg / "resources.yaml"
    if how == "no SKILL.md":
        (pkg / "SKILL.md").unlink()
    elif how == "bad front matter":
        (pkg / "SKILL.md").write_text("---\nname: [unclosed\ndescription: x\n---\nbody\n")
    elif how == "no front matter":
        (pkg / "SKILL.md").write_text("# Judge\n\nNo front matter here.\n")
    elif how == "unknown type":
        index.write_text(index.read_text().replace("type: rubric", "type: vibes", 1))
    elif how == "path escape":
        index.write_text(index.read_text().replace("path: rubrics/main.md", "path: ../../etc/passwd"))
    elif how == "absolute path":
        index.write_text(index.read_text().replace("path: rubrics/main.md", "path: /etc/passwd"))
    elif how == "symlink out":
        (pkg / "rubrics" / "main.md").unlink()
        os.symlink("/etc/hostname", pkg / "rubrics" / "main.md")
    elif how == "unindexed symlink out":
        os.symlink("/etc", pkg / "notes")
        (pkg / "loose.md").symlink_to("/etc/hostname")
    elif how == "missing file":
        (pkg / "rubrics" / "main.md").unlink()
    elif how == "duplicate id":
        index.write_text(index.read_text().replace("id: principle.math", "id: rubric.main"))
    elif how == "bad index yaml":
        index.write_text("resources: [\n")
    elif how == "not pairwise":
        index.write_text(re.sub(r"applies_to: \[[^\]]*\]", "applies_to: [listwise]", index.read_text()))
        (pkg / "SKILL.md").write_text((pkg / "SKILL.md").read_text().replace("pairwise", "listwise"))


MALFORMED = {
    "no SKILL.md": "not a Skill-RM package (no SKILL.md)",
    "bad front matter": "front matter is not valid YAML",
    "no front matter": "no YAML front matter",
    "unknown type": "resource 'rubric.main' has unknown type 'vibes'",
    "path escape": "path '../../etc/passwd' leaves the package",
    "absolute path": "path '/etc/passwd' leaves the package",
    "symlink out": "resolves outside the package",
    "unindexed symlink out": "resolves outside the package",
    "missing file": "no such file",
    "duplicate id": "resource 'rubric.main' is listed twice",
    "bad index yaml": "resources.yaml: not valid YAML",
    "not pairwise": "only pairwise packages can be imported",
}


@pytest.mark.parametrize("how", sorted(MALFORMED))
def test_malformed_package_is_one_line_exit_1(tmp_path, capsys, how):
    pkg = shutil.copytree(FULL, tmp_path / "pkg")
    _break(pkg, how)
    status, err = run_import(pkg, tmp_path / "x.skill", capsys=capsys)
    assert status == 1
    assert MALFORMED[how] in err and err.strip().count("\n") == 0, err
    assert "Traceback" not in err and not (tmp_path / "x.skill").exists()


def test_a_script_that_does_not_compile_fails_the_import_at_its_line(tmp_path, capsys):
    pkg = shutil.copytree(FULL, tmp_path / "pkg")
    (pkg / "scripts" / "forbidden_word.py").write_text("result = (\n")
    status, err = run_import(pkg, tmp_path / "x.skill", capsys=capsys)
    assert status == 1 and re.search(r"x\.skill:\d+:\d+: error: python syntax error in run code", err), err
    assert "Traceback" not in err


def test_not_a_directory_and_a_wrong_suffix(tmp_path, capsys):
    assert run_import(tmp_path / "nope", tmp_path / "x.skill", capsys=capsys)[0] == 1
    status, err = run_import(FULL, tmp_path / "x.yaml", capsys=capsys)
    assert status == 1 and "must end in .skill" in err


# -- the published packages ---------------------------------------------------------------

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/skillrm is not present")


@needs_shared
@pytest.mark.parametrize("name", SHARED_PACKAGES)
def test_published_package_imports_builds_and_passes_its_tests(tmp_path, capsys, name):
    status, err = run_import(SHARED / name, tmp_path / f"{name}.skill", capsys=capsys)
    assert status == 0
    path = tmp_path / f"{name}.skill"
    header = path.read_text().split("\nskill:")[0]
    for rid in resource_ids(SHARED / name):
        assert f"#   {rid}: " in header, rid
    program = skilldsl.compile(path)
    outcomes = run_tests(path)
    assert len(outcomes) >= 4 and all(o.passed for o in outcomes), [o.failures for o in outcomes if not o.passed]
    sample = {k: v for k, v in ALL_FIELDS.items() if k in program.doc["inputs"]}
    for prompt in every_prompt(program, {**sample, "domain": "chat", "instruction_id_list": [], "kwargs": []}):
        assert REF_SECRET not in prompt


@needs_shared
def test_published_mappings():
    operational = map_package(read_package(SHARED / "reward_judge_operational"))
    assert "visibility: reference" in operational.inputs["reference"]
    left = {n.what for n in operational.notes if not n.mapped}
    assert {"tool.python_sandbox", "verifier.ground_truth_score_pair", "external.openrs_pairwise_qwen"} <= left
    judges = [j.name for j in operational.judges]
    assert judges[-1] == "judge" and "judge_judgebench" in judges
    fair = map_package(read_package(SHARED / "reward_judge_fair"))
    assert [j.name for j in fair.judges] == ["judge"] and "reference" not in fair.inputs
    assert fair.labels == ("A", "Tie", "B")
    follows = map_package(read_package(SHARED / "instruction_following"))
    assert [h[2] for h in follows.hard] == ["constraints"] and follows.labels == ("A", "B")
