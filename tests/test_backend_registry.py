"""Backends by name: the registry, ``Skill(backend="NAME")``, ``--backend`` and a skill's ``models: backend:``."""
from __future__ import annotations

import json
import textwrap

import pytest

from _runtime_support import C, E, ScriptedBackend, ask, call, forbid_backend, program, registered
from skilldsl.cli import main
from skilldsl.errors import SkillError
from skilldsl.runtime import Skill
from skilldsl.runtime.backends import registry
from skilldsl.runtime.backends.fake import FakeBackend
from skilldsl.runtime.backends.registry import BackendConfigError, ModelSpec

JUDGED = program({"r": "text"}, {"j": ask("Is {{ r }} fine?")}, call("p", E("j"), C("yes")))


def judged(models: dict):
    prog = program({"r": "text"}, {"j": ask("Is {{ r }} fine?"), "k": {**ask("Is {{ r }} kind?"), "model": "big"}},
                   call("mean", call("p", E("j"), C("yes")), call("p", E("k"), C("yes"))))
    doc = dict(prog.doc, models=models)
    doc.pop("reward_id")
    return type(prog).from_doc(doc)


# ------------------------------------------------------------------ what an attacker or a typo would try
def test_an_unknown_name_is_refused_at_load_never_a_silent_default():
    for choose in ({"backend": "transformrs"}, {"backend": {"default": "nope"}}):
        with pytest.raises(BackendConfigError) as caught:
            Skill(JUDGED, **choose)
        assert f"registered: {', '.join(registry.names())}" in str(caught.value)
    assert "(did you mean 'transformers'?)" in registry.unknown("transformrs")
    # a .skillc edited (or built elsewhere) to name a backend this install lacks: refused, not run on transformers
    with pytest.raises(BackendConfigError, match="unknown backend 'vllm-gpu'"):
        Skill(judged({"default": {"id": None}, "big": {"id": None, "backend": "vllm-gpu"}}))


def test_a_scripted_fake_never_writes_the_llm_cache(tmp_path, monkeypatch):
    """The cache keys on the backend's name: were the fake cached, a second script (or a demo
    run) would be served the first one's answers."""
    monkeypatch.setenv("SKILLDSL_HOME", str(tmp_path))
    says_yes = Skill(JUDGED, backend="fake", backend_options={"default_choice": "yes"}).score([{"r": "x"}])[0]
    says_no = Skill(JUDGED, backend="fake", backend_options={"default_choice": "no"}).score([{"r": "x"}])[0]
    assert (says_yes.reward, says_no.reward) == (pytest.approx(0.9), pytest.approx(0.1))
    assert says_no.trace["j"].detail["cached"] is False and not list(tmp_path.rglob("*.sqlite"))


def test_an_option_the_backend_does_not_take_is_refused_at_load():
    with pytest.raises(BackendConfigError) as caught:
        Skill(JUDGED, backend="fake", backend_options={"batch_size": 4})
    assert "backend 'fake' takes no option 'batch_size'; its options: script, choices" in str(caught.value)
    with pytest.raises(BackendConfigError, match="takes no option 'scritp'"):
        Skill(JUDGED, backend_options={"scritp": "x"})  # the default, transformers
    with pytest.raises(BackendConfigError, match="need a backend chosen by name"):
        Skill(JUDGED, backend=FakeBackend(), backend_options={"confidence": 0.6})


# ------------------------------------------------------------------ choosing
def test_the_api_name_overrides_the_skills_backend_and_the_skill_chooses_per_alias():
    with registered("test-judge", ScriptedBackend(choose=lambda text, options: "no")) as scripted:
        prog = judged({"default": {"id": None, "backend": "test-judge"}, "big": {"id": None, "backend": "fake"}})
        result = Skill(prog, backend_options={}).score([{"r": "x"}])[0]
        assert result.trace["j"].value == "no" and result.trace["k"].value == "yes"  # fake's default: first label
        assert scripted.calls == [("choice_logprobs", 1)]
        everything = Skill(prog, backend="test-judge").score([{"r": "x"}])[0]  # one call per alias
        assert everything.reward == pytest.approx(0.1) and scripted.calls[1:] == [("choice_logprobs", 1)] * 2


def test_a_verifier_only_skill_creates_nothing_but_still_checks_the_name(monkeypatch):
    prog = program({"r": "text"}, {}, C(1.0))
    with pytest.raises(BackendConfigError, match="unknown backend 'nope'"):
        Skill(prog, backend="nope")
    forbid_backend(monkeypatch, "no evidence asks a model")
    skill = Skill(prog, backend="fake")
    assert skill.score([{"r": "x"}])[0].reward == 1.0 and skill.loaded_backends == []


def test_the_factory_gets_the_skills_model_spec():
    seen = []

    def make(spec, *, temperature_scale: float = 1.0):
        seen.append((spec, temperature_scale))
        return FakeBackend(default_choice="no")

    registry.register("test-spec", make)
    try:
        prog = judged({"default": {"id": None}, "big": {"id": "org/big", "dtype": "bf16", "max_context": 512}})
        Skill(prog, backend="test-spec", backend_options={"temperature_scale": 2.0}, device="cpu").score([{"r": "x"}])
    finally:
        registry.unregister("test-spec")
    specs = sorted(seen, key=lambda s: s[0].alias)
    assert specs == [(ModelSpec("big", "org/big", "cpu", "bf16", 512, "middle", 2048), 2.0),
                     (ModelSpec("default", None, "cpu", None, None, "middle", 2048), 2.0)]


def test_register_refuses_a_taken_name_unless_replacing():
    with pytest.raises(BackendConfigError, match="'fake' is registered already"):
        registry.register("fake", lambda spec: None)
    with pytest.raises(BackendConfigError, match="non-empty word"):
        registry.register(" spaced", lambda spec: None)
    with pytest.raises(BackendConfigError, match="not callable"):
        registry.register("test-nothing", "module:function")
    assert "test-nothing" not in registry.names()


def test_an_installed_package_registers_through_its_entry_point(tmp_path, monkeypatch):
    (tmp_path / "echo_backend.py").write_text(textwrap.dedent("""
        from skilldsl.runtime.backends.fake import FakeBackend
        IMPORTED = []
        def from_spec(spec, *, answer="yes"):
            IMPORTED.append(spec.alias)
            return FakeBackend(default_choice=answer, name="echo")
    """))
    info = tmp_path / "echo_backend-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-backend\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[skilldsl.backends]\necho = echo_backend:from_spec\n"
                                           "broken = echo_backend_missing:from_spec\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"echo", "broken"} <= set(registry.names())
    assert Skill(JUDGED, backend="echo", backend_options={"answer": "no"}).score([{"r": "x"}])[0].reward == pytest.approx(0.1)
    with pytest.raises(BackendConfigError, match=r"backend 'broken' \(entry point echo_backend_missing:from_spec\) "
                                                 r"does not import: ModuleNotFoundError"):
        Skill(JUDGED, backend="broken")


# ------------------------------------------------------------------ the language and the command line
SKILL = """\
skill: routed
mode: pointwise
inputs: {{response: text}}
models:
  big: {{id: org/big, backend: {backend}}}
evidence:
  j:
    ask: {{user: "Is {{{{ response }}}} fine? Answer yes or no."}}
    answer: choice(yes, no)
    model: big
reward: p(j, "yes")
"""


def test_the_checker_locates_an_unknown_backend(tmp_path):
    import skilldsl

    path = tmp_path / "routed.skill"
    path.write_text(SKILL.format(backend="transformrs"))
    with pytest.raises(SkillError) as caught:
        skilldsl.compile(path)
    assert caught.value.render().startswith(
        f"{path}:5:31: error: unknown backend 'transformrs' (did you mean 'transformers'?); "
        f"registered: {', '.join(registry.names())}")
    path.write_text(SKILL.format(backend="fake"))
    chosen = skilldsl.compile(path)
    assert chosen.doc["models"]["big"] == {"id": "org/big", "backend": "fake"}
    path.write_text(SKILL.format(backend="transformers"))
    assert skilldsl.compile(path).reward_id != chosen.reward_id  # the engine is part of the reward's identity


def test_the_command_line_chooses_and_configures_the_backend(tmp_path, capsys):
    skill = tmp_path / "routed.skill"
    skill.write_text(SKILL.format(backend="transformers"))
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"response": "kind words"}) + "\n" + json.dumps({"response": "rude words"}) + "\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"choices": {"kind": "yes"}, "default_choice": "no", "confidence": 0.8}))
    assert main(["score", str(skill), str(data), "--no-progress", "--backend", "fake",
                 "--backend-option", f"script={script}"]) == 0
    assert [json.loads(line)["reward"] for line in capsys.readouterr().out.splitlines()] == \
        [pytest.approx(0.8), pytest.approx(0.2)]
    assert main(["score", str(skill), str(data), "--backend", "fake", "--backend-option", "confidence=0.6"]) == 0
    assert [json.loads(line)["reward"] for line in capsys.readouterr().out.splitlines()] == [pytest.approx(0.6)] * 2
    for options, says in ((["--backend", "vlm"], f"error: {registry.unknown('vlm')}\n"),
                          (["--backend", "fake", "--backend-option", "gpu=1"],
                           "error: backend 'fake' takes no option 'gpu'; its options: ")):
        assert main(["score", str(skill), str(data), *options]) == 1
        assert capsys.readouterr().err.startswith(says)


def test_backend_option_values_are_json_when_they_parse():
    from skilldsl.cli._common import backend_option

    assert backend_option("gpu_memory_utilization=0.15") == ("gpu_memory_utilization", 0.15)
    assert backend_option("prefix_reuse=false") == ("prefix_reuse", False)
    assert backend_option("base_url=http://127.0.0.1:8000/v1") == ("base_url", "http://127.0.0.1:8000/v1")
    assert backend_option("choices={\"a\": \"yes\"}") == ("choices", {"a": "yes"})
    assert backend_option("empty=") == ("empty", "")


def test_a_backend_option_that_is_not_json_is_text_never_a_traceback_or_a_nan():
    from skilldsl.cli._common import backend_option

    deep = "[" * 100_000  # past json's recursion limit: a RecursionError, not a ValueError
    assert backend_option(f"x={deep}") == ("x", deep)
    # NaN and Infinity are not JSON: read as numbers, a NaN would reach the engine as a setting
    assert backend_option("confidence=NaN") == ("confidence", "NaN")
    assert backend_option("limit=-Infinity") == ("limit", "-Infinity")


def test_a_plugin_module_registers_a_backend_for_the_command_line(tmp_path, capsys):
    (tmp_path / "plug_backend.py").write_text(textwrap.dedent("""
        from skilldsl.runtime.backends import registry
        from skilldsl.runtime.backends.fake import FakeBackend
        registry.register("test-plug", lambda spec, *, answer="yes": FakeBackend(default_choice=answer))
    """))
    skill = tmp_path / "routed.skill"
    skill.write_text(SKILL.format(backend="transformers"))
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"response": "x"}) + "\n")
    try:
        assert main(["score", str(skill), str(data), "--no-progress", "--plugin", str(tmp_path / "plug_backend.py"),
                     "--backend", "test-plug", "--backend-option", "answer=no"]) == 0
    finally:
        registry.unregister("test-plug")
    assert json.loads(capsys.readouterr().out)["reward"] == pytest.approx(0.1)


@pytest.mark.parametrize("script, says", [
    (None, "fake backend script {path}: "),  # no such file
    ("{\"choices\": 5}", "fake backend script {path}: choices must be a JSON object of text -> answer, not number"),
    ("{\"texts\": [\"yes\"]}", "fake backend script {path}: texts must be a JSON object of text -> answer, not list"),
    ("{\"confidence\": \"high\"}", "fake backend script {path}: confidence must be a number from 0 to 1, not 'high'"),
    ("{\"confidence\": 7}", "fake backend script {path}: confidence must be a number from 0 to 1, not 7"),
    ("[1]", "fake backend script {path}: must be a JSON object of choices, texts, default_choice, confidence"),
])
def test_a_missing_or_malformed_fake_script_errs_the_rows_that_ask_it_with_one_reason(tmp_path, script, says):
    """As a model that cannot load: each row that asks it errs, naming the script and what is wrong
    (never an AttributeError after retries, never a probability over 1); rows decided without it stand."""
    path = tmp_path / "script.json"
    if script is not None:
        path.write_text(script)
    skill = Skill(JUDGED, backend="fake", backend_options={"script": str(path)})
    first, second = skill.score([{"r": "x"}, {"r": "y"}])
    assert first.status == second.status == "error"
    assert first.reason == second.reason and says.format(path=path) in first.reason, first.reason
    assert "attempt" not in first.reason  # refused when the backend is made, not retried per call


def test_a_fake_confidence_option_outside_0_to_1_is_refused_not_a_probability_over_1():
    for confidence in (7, -0.5):
        result, = Skill(JUDGED, backend="fake", backend_options={"confidence": confidence}).score([{"r": "x"}])
        assert result.status == "error" and "confidence must be a number from 0 to 1" in result.reason


def test_a_skill_that_names_no_backend_compiles_without_scanning_installed_packages(tmp_path, monkeypatch):
    import skilldsl

    def scan():
        raise AssertionError("the installed packages' entry points were scanned")

    monkeypatch.setattr(registry, "_entry_points", scan)
    path = tmp_path / "plain.skill"
    path.write_text(SKILL.format(backend="transformers").replace(", backend: transformers", ""))
    assert "backend" not in skilldsl.compile(path).doc["models"]["big"]
