"""Lowering: IR node shapes per evidence kind, costs, dependencies and the eager/lazy plan."""
from __future__ import annotations

import hashlib
from pathlib import Path

from skilldsl.compiler import compile_source
from skilldsl.compiler.lower import demanded

ROOT = Path(__file__).resolve().parent.parent


def _compile(body: str, base_dir: Path = ROOT / "skills"):
    return compile_source(body, "t.skill", base_dir)


def test_each_when_and_locals() -> None:
    program = _compile("""
skill: t
mode: pointwise
inputs: {response: text, ids: list, args: json}
evidence:
  rule:
    each: ids
    check: ifeval.follows(response, item, kwargs=args[index])
  judged:
    each: ids
    when: is_na(rule[index])
    ask: {user: "{{ item }} {{ args[index] }} {{ response }}"}
    answer: choice(yes, no)
reward: mean(rule, p(judged, "yes"))
""")
    judged = program.evidence["judged"]
    assert (judged["kind"], judged["over"], judged["var"], judged["when"]) == ("each", "ids", "item", None)
    assert judged["body"]["when"] == {"call": "is_na", "args": [{"index": {"evidence": "rule"}, "at": {"local": "index"}}],
                                      "kwargs": {}}
    assert judged["deps"] == ["rule"] and judged["reads"] == ["args", "ids", "response"]
    assert (judged["cost"], judged["body"]["cost"], program.evidence["rule"]["cost"]) == (400, 100, 4)
    assert program.evidence["rule"]["body"]["kwargs"]["kwargs"] == {"index": {"input": "args"}, "at": {"local": "index"}}
    assert program.plan == {"order": ["rule", "judged"], "eager": ["rule"], "lazy": ["judged"]}


def test_route_run_model_and_files(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("Be strict.\n", encoding="utf-8")
    program = _compile("""
skill: t
mode: pointwise
inputs: {prompt: text, response: text}
files: {guide: guide.md}
evidence:
  code:
    run: "result = len(response) > 3"
    uses: [response]
    timeout: 2
  rm:
    model: some/reward-model
    input: "{{ prompt }} {{ response }}"
  judge:
    ask: {system: "{{ files.guide }}", user: "{{ response }}"}
    answer: text(max_tokens=40)
    swap: false
    samples: 2
    temperature: 0.5
  pick:
    route: [code, judge]
    ask: {user: "Which for {{ prompt }}?"}
reward: rm if pick == "code" else 1
""", tmp_path)
    ev = program.evidence
    assert ev["code"]["limits"] == {"timeout": 2, "memory_mb": 512} and ev["code"]["cost"] == 10
    assert (ev["rm"]["kind"], ev["rm"]["model"], ev["rm"]["cost"]) == ("model", "some/reward-model", 50)
    assert ev["judge"]["answer"] == {"type": "text", "max_tokens": 40}
    assert ev["judge"]["decoding"] == {"temperature": 0.5, "max_tokens": 40, "seed": 0}
    assert ev["judge"]["cost"] == 200 and "system" in ev["judge"]["prompt"]
    assert ev["pick"]["answer"] == {"type": "choice", "labels": ["code", "judge"]}
    assert ev["pick"]["deps"] == ["code", "judge"] and ev["pick"]["cost"] == 300
    assert program.doc["files"]["guide"] == {"path": "guide.md", "text": "Be strict.\n",
                                             "sha256": hashlib.sha256(b"Be strict.\n").hexdigest()}
    assert program.plan["order"] == ["code", "rm", "judge", "pick"]
    assert program.plan["eager"] == []  # pick is demanded but expensive; rm only on one branch


def test_listwise_candidate_and_answers() -> None:
    program = _compile("""
skill: t
mode: listwise
inputs: {prompt: text, responses: list}
candidates: responses
evidence:
  score:
    ask: {user: "{{ prompt }} {{ candidate }}"}
    answer: score(1, 5)
  parsed:
    ask: {user: "{{ candidate }}"}
    answer: {json: {type: object}}
reward: expect(score) if known(parsed) and candidate != "" else 0
""")
    assert program.doc["candidates"] == "responses"
    assert program.evidence["score"]["answer"] == {"type": "score", "min": 1, "max": 5}
    assert program.evidence["parsed"]["answer"] == {"type": "json", "schema": {"type": "object"}}
    assert {"local": "candidate"} in program.reward["args"][0]["args"][1]["args"]


def test_demanded_paths() -> None:
    ev = lambda n: {"evidence": n}  # noqa: E731
    assert demanded({"op": "if", "args": [ev("c"), ev("t"), ev("e")]}) == {"c"}
    assert demanded({"op": "if", "args": [ev("c"), ev("x"), {"op": "+", "args": [ev("x"), ev("y")]}]}) == {"c", "x"}
    assert demanded({"call": "first", "args": [ev("a"), ev("b")], "kwargs": {}}) == {"a"}
    assert demanded({"op": "and", "args": [ev("a"), ev("b")]}) == {"a"}
    assert demanded({"call": "mean", "args": [ev("a"), {"get": ev("b"), "key": "k"}], "kwargs": {}}) == {"a", "b"}


def test_eager_needs_cheap_unconditional_and_eager_deps() -> None:
    program = _compile("""
skill: t
mode: pointwise
inputs: {response: text, reference: {type: text, visibility: reference}}
evidence:
  found:
    check: math.answer_found(response)
  equal:
    check: math.equivalent(response, reference)
    when: found
  exact:
    check: ref.match(response, reference)
reward: mean(found, equal, exact)
""")
    assert program.plan["eager"] == ["exact", "found"]
    assert program.plan["lazy"] == ["equal"]
    assert program.evidence["equal"]["deps"] == ["found"]


_NUMBERS = """
skill: t
mode: pointwise
inputs: {response: text}
settings: {retries: RETRIES, temperature: TEMPERATURE}
evidence:
  passes:
    run: result = True
    uses: [response]
    timeout: TIMEOUT
  judge:
    ask: {user: "{{ response }}"}
    answer: score(1, 5)
    samples: SAMPLES
reward: mean(passes, (expect(judge) - 1) / 4) * ONE
"""


def _numbers(**values: str):
    text = _NUMBERS
    for key, value in {"RETRIES": "2", "TEMPERATURE": "1", "TIMEOUT": "5", "SAMPLES": "3", "ONE": "1", **values}.items():
        text = text.replace(key, value)
    return _compile(text)


def test_numerically_equal_settings_give_the_same_reward_id() -> None:
    base = _numbers()
    for key, value in {"RETRIES": "2.0", "TEMPERATURE": "1.0", "TIMEOUT": "5.0", "SAMPLES": "3.0", "ONE": "1.0"}.items():
        assert _numbers(**{key: value}).to_bytes() == base.to_bytes(), key
    timeout, temperature = base.evidence["passes"]["limits"]["timeout"], base.doc["settings"]["temperature"]
    assert (type(timeout), type(temperature)) == (int, float)
    assert _numbers(TIMEOUT="5.5").reward_id != base.reward_id
