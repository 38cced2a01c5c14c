"""A .skillc is verified like a source before any model runs (skilldsl/ir/verify.py).

Hostile first: each case mutates a compiled stock skill the way a hand-edited or shared file could,
recomputes its reward id (``compute_reward_id`` is public, so a matching id proves nothing) and
saves it. Loading must refuse it with a message naming the place, and no backend may be called.
Then the other side: everything the compiler emits (stock skills, test skills, examples, the
docs' examples) verifies, so no source the checker accepts is refused as a .skillc.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import skilldsl
from _runtime_support import ScriptedBackend
from skilldsl.compiler import compile_file, compile_source
from skilldsl.errors import SkillError
from skilldsl.ir import Program, compute_reward_id
from skilldsl.ir.verify import verify

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = str(ROOT / "examples" / "citation_checks.py")
_COMPILED: dict = {}


def _compiled(name: str) -> dict:
    """A fresh copy of the IR of stock skill ``name``."""
    if name not in _COMPILED:
        _COMPILED[name] = compile_file(ROOT / "skills" / f"{name}.skill").doc
    return copy.deepcopy(_COMPILED[name])


def _saved(tmp_path: Path, doc: dict) -> Path:
    """``doc`` written as a .skillc with a reward id that matches it, as an attacker would."""
    doc["reward_id"] = compute_reward_id(doc)
    path = tmp_path / f"{doc['skill']}.skillc"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


_VALUES = {"text": "x", "number": 0.5, "integer": 1, "bool": True, "list": ["x"], "list[text]": ["x"],
           "list[number]": [0.5], "json": {}}


def _sample(doc: dict) -> dict:
    return {name: _VALUES[spec["type"]] for name, spec in doc["inputs"].items()}


# -- the mutations -----------------------------------------------------------------------------

def _p(evidence: str, label: str) -> dict:
    return {"call": "p", "args": [{"evidence": evidence}, {"const": label}], "kwargs": {}}


def _known(evidence: str) -> dict:
    return {"call": "known", "args": [{"evidence": evidence}], "kwargs": {}}


def _label_input(doc: dict, name: str = "gold") -> dict:
    doc["inputs"][name] = {"type": "text", "optional": False, "visibility": "label"}
    return doc


def _reward(expr: dict):
    return lambda d: d.update(reward=expr)


def _judge(**changes):
    return lambda d: d["evidence"]["judge"].update(changes)


def _prompt_leaks_label(d: dict) -> None:
    judge = _label_input(d)["evidence"]["judge"]
    judge["prompt"]["user"] += "{{ gold }}"
    judge["reads"] = sorted(judge["reads"] + ["gold"])


def _allows_label(d: dict) -> None:
    _label_input(d)["evidence"]["judge"]["allow"] = ["gold"]


def _run_uses_label(d: dict) -> None:
    _label_input(d)["evidence"]["answered"] = {
        "kind": "run", "code": "result = gold", "uses": ["gold"], "limits": {"timeout": 5, "memory_mb": 256},
        "cost": 10, "when": None, "deps": [], "reads": ["gold"]}


def _cycle(d: dict) -> None:
    d["evidence"]["answered"].update(when=_known("judge"), deps=["judge"])
    d["evidence"]["judge"].update(when=_known("answered"), deps=["answered"])


def _verifier(**changes):
    return lambda d: d["evidence"]["matches"]["verifier"].update(changes)


def _relabel(name: str, visibility: str):
    return lambda d: d["inputs"][name].update(visibility=visibility)


def _run_failing_as(value) -> "callable":
    def mutate(d: dict) -> None:
        d["evidence"]["ran"] = {
            "kind": "run", "code": "result = 1", "uses": [], "limits": {"timeout": 5, "memory_mb": 256},
            "on_failure": value, "cost": 10, "when": None, "deps": [], "reads": []}
        d["plan"]["order"].insert(0, "ran")
        d["plan"]["lazy"].append("ran")
    return mutate


MUTATIONS = [
    # (stock skill, mutation, the place and problem the refusal names)
    ("pairwise_judge", _reward(_p("zz", "A")), "reward: unknown evidence 'zz'"),
    ("pairwise_judge", _reward(_p("judge", "C")), "reward: p(): label 'C' is not one of judge's labels A, B"),
    ("pairwise_judge", _reward({"op": "+", "args": [{"evidence": "judge"}, {"const": 1}]}),
     "reward: '+' does not apply to a choice judgment (its label, text) and an integer"),
    ("pairwise_judge", _reward({"call": "vote", "args": [{"evidence": "judge"}], "kwargs": {}}),
     "reward: the reward must be a number, but this is text"),
    ("pairwise_judge", _reward({"op": "if", "args": [{"const": True}]}), "reward: 'if' takes 3 operand(s), got 1"),
    ("pairwise_judge", _reward({"call": "len", "args": [{"local": "item"}], "kwargs": {}}),
     "reward: 'item' is not defined here"),
    ("pairwise_judge", _reward({"call": "math.equivalent", "args": [{"input": "a"}, {"input": "b"}]}),
     "reward: a verifier is called only as a check evidence"),
    ("pairwise_judge", _judge(when=_known("zz")), "evidence 'judge': when: unknown evidence 'zz'"),
    ("pairwise_judge", _judge(when={"const": 1}), "evidence 'judge': when: 'when' must be true/false"),
    ("pairwise_judge", lambda d: d["plan"].update(order=[]), "plan: order must list every evidence exactly once"),
    ("pairwise_judge", lambda d: d["plan"].update(eager=["judge"]), "plan: eager and lazy must split the evidence"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["answer"].update(labels=["A", "B", "tie"]),
     "evidence 'judge': swap exchanges the first and last labels, so the tie must be in the middle"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["answer"].update(labels=["A", "A"]),
     "evidence 'judge': answer: a choice needs two or more distinct labels"),
    ("pairwise_judge", lambda d: d.update(mode="pointwise"), "evidence 'judge': swap: only a pairwise skill"),
    ("pairwise_judge", lambda d: d["inputs"].pop("b"), "mode: a pairwise skill compares inputs 'a' and 'b'"),
    ("pairwise_judge", _relabel("b", "label"), "evidence 'judge': prompt.user: 'b' is a label input"),
    ("pairwise_judge", _prompt_leaks_label, "evidence 'judge': prompt.user: 'gold' is a label input"),
    ("pairwise_judge", _allows_label, "evidence 'judge': allow: 'gold' is a label input"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["prompt"].update(user="{{ secret }}"),
     "evidence 'judge': prompt.user: unknown template variable 'secret'"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["prompt"].update(user="{{ a.__class__ }}"),
     "evidence 'judge': prompt.user: line 1: attribute '__class__' is not available"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["prompt"].update(system="{{ files.secret }}"),
     "evidence 'judge': prompt.system: unknown file 'secret'"),
    ("pairwise_judge", lambda d: d["evidence"]["judge"]["prompt"].update(system="{{ files }}"),
     "evidence 'judge': prompt.system: use a file by name"),
    ("pairwise_judge", _judge(model="gpt"), "evidence 'judge': unknown model alias 'gpt'"),
    ("pairwise_judge", lambda d: d["inputs"].update(files={"type": "text", "optional": False}),
     "'files': a reserved word cannot name an input or evidence"),
    ("math_answer", _judge(reads=["prompt", "reference", "response"]),
     "evidence 'judge': reads lists [reference], which the evidence does not read"),
    ("math_answer", lambda d: d["evidence"]["judge"]["prompt"].update(system="{{ reference }}"),
     "evidence 'judge': a prompt shows reference input(s) [reference], which its reads do not list"),
    ("math_answer", lambda d: _label_input(d)["evidence"]["judge"].update(reads=["gold", "prompt", "response"]),
     "evidence 'judge': reads: 'gold' is a label input"),
    ("math_answer", _judge(when=_known("matches")),
     "evidence 'judge': deps lists [], but the evidence reads [matches]"),
    ("math_answer", _cycle, "evidence 'answered': evidence cycle: answered -> judge -> answered"),
    ("math_answer", _reward({"call": "expect", "args": [{"evidence": "judge"}], "kwargs": {}}),
     "reward: expect() takes the name of a score evidence"),
    ("math_answer", _verifier(name="acme.nope"),
     "evidence 'matches': unknown verifier 'acme.nope': it is not registered here; import the module that "
     "registers it (--plugin MODULE"),
    ("math_answer", _verifier(version="0"),
     "evidence 'matches': verifier math.equivalent is version 2 here, but the skill was built with version 0"),
    ("math_answer", lambda d: d["evidence"]["matches"].update(args=d["evidence"]["matches"]["args"][:1]),
     "evidence 'matches': math.equivalent is missing argument(s)"),
    ("math_answer", _run_uses_label, "evidence 'answered': uses: 'gold' is a label input"),
    ("reward_judge", _relabel("checklist", "label"), "evidence 'a_items': each: 'checklist' is a label input"),
    ("best_of_n", _relabel("responses", "label"), "candidates: 'responses' must name a visible list input"),
    ("pairwise_judge", _judge(samples=1_000_000), "evidence.judge.samples must be at most 1024"),
    ("math_answer", _judge(answer={"type": "regex", "pattern": "(?=y)yes"}),
     "evidence 'judge': answer: constrained decoding (outlines) cannot use this regex answer (Failed to build DFA"),
    ("math_answer", _judge(answer={"type": "json", "schema": {"type": "string", "format": "hostname"}}),
     "evidence 'judge': answer: constrained decoding (outlines) cannot use this json answer (Format hostname"),
    # what lowering copies as written keeps the source's rules: a bad `retries` made score() raise
    ("pairwise_judge", lambda d: d["settings"].update(retries="many"),
     "settings: retries must be an integer, not text 'many'"),
    ("pairwise_judge", lambda d: d["settings"].update(truncate=None), "settings: truncate must be one of"),
    ("pairwise_judge", lambda d: d["models"]["default"].update(max_context="big"),
     "model 'default': max_context must be an integer"),
    ("pairwise_judge", _judge(think=10 ** 9), "evidence 'judge': think must be at most 32768"),
    ("math_answer", _run_failing_as(5), "evidence 'ran': on_failure must be at most 1"),
    ("pairwise_judge", lambda d: d.update(skill="../../outside"), "skill '../../outside': a name is a letter"),
    ("pairwise_judge", lambda d: d["inputs"].update({"gold\u202e": {"type": "text", "optional": True}}),
     "input 'gold\\u202e': a name is a letter"),  # repr shows the hidden character
]


@pytest.mark.parametrize("skill, mutate, message", MUTATIONS, ids=[m[2][:60] for m in MUTATIONS])
def test_a_hand_edited_program_is_refused_on_load_naming_the_place(tmp_path, skill, mutate, message):
    doc = _compiled(skill)
    mutate(doc)
    path = _saved(tmp_path, doc)
    with pytest.raises(ValueError) as info:
        Program.load(path)
    assert str(info.value).startswith(f"{path}: not a valid skilldsl-ir/2 program: {message}"), str(info.value)


@pytest.mark.parametrize("skill, mutate, message", MUTATIONS, ids=[m[2][:60] for m in MUTATIONS])
def test_a_hand_edited_program_never_reaches_a_model(tmp_path, skill, mutate, message):
    doc = _compiled(skill)
    mutate(doc)
    path = _saved(tmp_path, doc)
    backend = ScriptedBackend()
    with pytest.raises(SkillError, match=re.escape(message)):
        skilldsl.load(path, backend=backend).score([_sample(doc)])
    assert backend.calls == []


def test_the_cli_refuses_it_in_one_line(tmp_path, capsys):
    from skilldsl.cli import main

    doc = _compiled("pairwise_judge")
    doc["reward"] = _p("judge", "C")
    path = _saved(tmp_path, doc)
    data = tmp_path / "x.jsonl"
    data.write_text('{"prompt": "p", "a": "x", "b": "y"}\n')
    assert main(["score", str(path), str(data), "--no-progress", "--backend", "fake"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: not a valid skilldsl-ir/2 program: reward: p(): label 'C' is not one of judge's labels A, B"]


def test_every_problem_is_found_and_the_first_is_shown_with_a_count(tmp_path):
    doc = _compiled("pairwise_judge")
    doc["reward"] = _p("zz", "A")
    doc["plan"]["order"] = []
    assert verify(doc) == ["reward: unknown evidence 'zz'",
                           "plan: order must list every evidence exactly once: [judge], not []"]
    with pytest.raises(ValueError, match=r"reward: unknown evidence 'zz' \(and 1 more problem\(s\)\)$"):
        Program.load(_saved(tmp_path, doc))


def test_a_route_answers_with_its_options(tmp_path):
    text = """
skill: routed
mode: pointwise
inputs: {prompt: text, response: text, reference: {type: text, optional: true, visibility: reference}}
evidence:
  exact:
    check: ref.match(response, reference)
  judge:
    ask: {user: "Is this a good answer to '{{ prompt }}'? {{ response }} Answer yes or no."}
    answer: choice(yes, no)
  pick:
    route: [exact, judge]
    ask: {user: "Question: {{ prompt }}. Exact or judge?"}
reward: default(exact, p(judge, "yes")) if pick == "exact" else p(judge, "yes")
"""
    doc = copy.deepcopy(compile_source(text, "routed.skill").doc)
    assert verify(doc) == []
    doc["evidence"]["pick"]["answer"]["labels"] = ["judge", "exact"]
    with pytest.raises(ValueError, match="evidence 'pick': answer: a route's answer is the choice of its options"):
        Program.load(_saved(tmp_path, doc))


# -- no false positives: whatever the compiler emits verifies -----------------------------------

def _sources() -> list:
    paths = sorted((ROOT / "skills").glob("*.skill")) + sorted((ROOT / "tests" / "skills").glob("*.skill"))
    paths += sorted((ROOT / "examples").glob("*.skill"))
    return [pytest.param(p, id=str(p.relative_to(ROOT))) for p in paths]


@pytest.mark.parametrize("path", _sources())
def test_every_skill_that_compiles_loads_as_a_skillc(tmp_path, path):
    try:
        program = compile_file(path, plugins=[PLUGIN] if path.parent.name == "examples" else None)
    except SkillError:
        return  # a test skill that is meant not to compile
    assert verify(program.doc) == []
    assert Program.load(program.save(tmp_path)).doc == program.doc


_YAML = re.compile(r"(?:<!-- error: (?P<error>[^\n]*?) -->\n)?```yaml\n(?P<body>.*?)```", re.S)


def _doc_examples() -> list:
    out = []
    for page in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = page.read_text(encoding="utf-8")
        for m in _YAML.finditer(text):
            if m.group("error") is None and re.search(r"^skill:", m.group("body"), re.M):
                line = text.count("\n", 0, m.start("body")) + 1
                out.append(pytest.param(m.group("body"), id=f"{page.name}:{line}"))
    return out


def test_the_docs_have_examples():
    assert len(_doc_examples()) >= 20


@pytest.mark.parametrize("body", _doc_examples())
def test_every_docs_example_verifies(body):
    try:
        program = compile_source(body, "example.skill", ROOT / "skills")
    except SkillError:
        return  # a fragment the page shows failing
    assert verify(program.doc) == []


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "golden").glob("*.skillc")), ids=lambda p: p.stem)
def test_every_golden_program_loads(path):
    Program.load(path)



def test_the_deepest_expression_the_compiler_accepts_loads_and_scores(tmp_path):
    # the schema validator recurses per level: at the compiler's limit it used to refuse the file
    # as "nested too deeply" (and, with the minimum jsonschema, panic in rpds)
    from skilldsl.compiler import compile_source
    from skilldsl.ir.program import MAX_EXPRESSION_DEPTH

    body = ("skill: t\nmode: pointwise\ninputs: {x: number}\nevidence:\n  j: {check: 'format.regex(\"a\", pattern=\"a\")'}\n"
            "reward: (x if j else 0) + " + "-" * (MAX_EXPRESSION_DEPTH - 2) + "x\n")
    path = compile_source(body, "t.skill").save(tmp_path / "t.skillc")
    [result] = skilldsl.load(path, backend=ScriptedBackend()).score([{"x": 1}])
    assert (result.status, result.reward) == ("ok", 2.0)


@pytest.mark.parametrize("depth", [400, 5000])
def test_an_expression_nested_past_any_source_is_refused_not_a_crash(tmp_path, depth):
    doc = _compiled("pairwise_judge")
    doc["evidence"]["judge"]["when"] = "WHEN"
    deep = '{"op": "not", "args": [' * depth + '{"const": true}' + "]}" * depth
    path = tmp_path / "deep.skillc"
    path.write_text(json.dumps(doc).replace('"WHEN"', deep), encoding="utf-8")
    with pytest.raises(ValueError, match=r"deep\.skillc: not a valid skilldsl-ir/2 program: .*nested too deeply"):
        Program.load(path)


# -- found by attacking the loader: crashes and unbounded work on load, exceptions from score ----

@pytest.mark.parametrize("found", [["skilldsl-ir/2"], {"v": 2}])
def test_a_format_that_is_not_text_is_refused_not_a_crash(tmp_path, found):
    path = tmp_path / "odd.skillc"
    path.write_text(json.dumps({**_compiled("pairwise_judge"), "format": found}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"odd\.skillc: not a skilldsl-ir/2 file"):
        Program.load(path)


def test_thousands_of_unknown_names_are_refused_without_a_suggestion_each(tmp_path, monkeypatch):
    """Each "did you mean" scans every name: one per problem made 2000 unknown names a two-minute load."""
    from skilldsl.ir import verify as verify_module

    calls = []
    real = verify_module.did_you_mean
    monkeypatch.setattr(verify_module, "did_you_mean", lambda word, options: calls.append(word) or real(word, options))
    doc = _compiled("pairwise_judge")
    doc["inputs"].update({f"extra_{i}": {"type": "number", "optional": True} for i in range(300)})
    doc["reward"] = {"call": "mean", "args": [{"input": f"extr_{i}"} for i in range(300)], "kwargs": {}}
    with pytest.raises(ValueError, match=r"reward: unknown input 'extr_0' \(did you mean 'extra_0'\?\) "
                                         r"\(and 299 more problem\(s\)\)"):
        Program.load(_saved(tmp_path, doc))
    assert len(calls) <= 10


def test_the_answer_probes_of_a_document_share_one_budget(tmp_path, monkeypatch):
    """Each regex/json answer is probed in a child process for up to PROBE_SECONDS: a .skillc of
    hundreds of distinct slow automata loaded for an hour. A fake clock says each probe takes 7 s."""
    from skilldsl.ir import verify as verify_module

    probed, now = [], iter(range(0, 10 ** 6, 7))
    monkeypatch.setattr(verify_module, "engine_problem", lambda answer: probed.append(answer) and None)
    monkeypatch.setattr(verify_module, "monotonic", lambda: next(now), raising=False)
    doc = _compiled("math_answer")
    judge = doc["evidence"].pop("judge")
    for i in range(20):
        doc["evidence"][f"judge{i}"] = {**judge, "answer": {"type": "regex", "pattern": f"(a|b)*a(a|b){{{i}}}"}}
    doc["reward"] = {"const": 1}
    doc["plan"] = {"order": sorted(doc["evidence"]), "eager": [], "lazy": sorted(doc["evidence"])}
    with pytest.raises(ValueError, match=r"answer: constrained decoding \(outlines\) cannot use this regex "
                                         r"answer \(the document's regex/json answers take over 30 s in all"):
        Program.load(_saved(tmp_path, doc))
    assert len(probed) <= 5


def test_a_json_answer_nested_past_any_limit_fails_its_row_not_the_call(tmp_path):
    """The model's JSON answer is data of any depth; the trace copied it recursively and score() raised."""
    doc = _compiled("pairwise_judge")
    doc["evidence"]["judge"].update(answer={"type": "json", "schema": {}}, swap=False)
    doc["reward"] = {"op": "if", "args": [_known("judge"), {"const": 1}, {"const": 0}]}
    deep = "[" * 900 + "]" * 900
    skill = skilldsl.load(_saved(tmp_path, doc), backend=ScriptedBackend(write=lambda text, constraint: deep))
    (result,) = skill.score([_sample(doc)])
    assert (result.status, result.reason) == ("error", "the model's JSON answer is nested deeper than 100 levels")


def test_an_integer_too_long_to_read_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "long.skillc"
    path.write_text('{"format": "skilldsl-ir/2", "n": ' + "9" * 5000 + "}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"long\.skillc: not JSON that can be read \(Exceeds the limit"):
        Program.load(path)


def test_candidate_has_the_element_type_of_its_list(tmp_path):
    # a list[number] of candidates: `candidate` is a number for the checker, the verifier and the
    # runtime alike (it was typed text, so `len(candidate)` compiled and failed every row)
    from skilldsl.compiler import compile_source
    from skilldsl.errors import SkillError

    body = ("skill: t\nmode: listwise\ninputs: {prompt: text, nums: 'list[number]'}\ncandidates: nums\n"
            "evidence:\n  seen: {check: 'format.regex(prompt, pattern=\"a\")'}\nreward: REWARD\n")
    path = compile_source(body.replace("REWARD", "candidate / 10"), "t.skill").save(tmp_path / "t.skillc")
    [result] = skilldsl.load(path, backend=ScriptedBackend()).score([{"prompt": "a", "nums": [1, 5, 3]}])
    assert (result.status, result.reward) == ("ok", 0.5)
    with pytest.raises(SkillError, match=r"len\(\): argument 1 must be text or a list, but this is a number"):
        compile_source(body.replace("REWARD", "len(candidate)"), "t.skill")


def test_a_key_given_twice_is_refused_not_silently_the_last(tmp_path):
    # a reader (or a diff) sees the first "visibility": "label"; json.loads would keep the second
    doc = _compiled("math_answer")
    text = json.dumps(doc).replace('"visibility": "reference"', '"visibility": "label", "visibility": "reference"', 1)
    assert text.count('"visibility"') > json.dumps(doc).count('"visibility"')
    path = tmp_path / "twice.skillc"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"twice\.skillc: not JSON that can be read \(key 'visibility' given twice"):
        Program.load(path)
