"""The ``tests:`` section of a ``.skill``: parsed to :class:`~skilldsl.compiler.ast.SkillTest`
nodes, checked with the rest of the skill, lowered to the IR's ``tests`` field (outside the
reward id: see :mod:`skilldsl.ir.skilltests`). ``skilldsl test`` runs them (:mod:`skilldsl.testing`).

What the checker refuses, each at the offending key: a duplicate test name, a sample field that
is not an input (a misspelt name would silently test something else) or that misses a required
input, a sample the runtime would refuse (unless the test expects ``status: error``), an evidence
reference that names no evidence, a reward range whose low end is above its high end, and a
``judge:`` script the fake backend could not follow (a label no choice of the skill has, a
probability list of no choice's length, texts for a skill that generates none).
"""
from __future__ import annotations

from ..errors import Diagnostic, SkillError
from ..ir.skilltests import parse_ref
from .ast import EvidenceRef, Expectation, Skill, SkillTest
from .loader import Document, did_you_mean
from .report import Collector

__all__ = ["parse_tests", "check_tests", "lower_tests"]


# -- parse --------------------------------------------------------------------------------

def parse_tests(doc: Document, out: Collector) -> tuple:
    """The ``tests:`` entries as AST nodes (a malformed one is recorded in ``out`` and left out)."""
    tests = []
    for i in range(len(doc.data.get("tests") or [])):
        with out.guard():
            tests.append(_test(doc, ("tests", i)))
    return tuple(tests)


def _test(doc: Document, path: tuple) -> SkillTest:
    spec = doc.get(path)
    sample = spec["sample"]
    judge = spec.get("judge")
    return SkillTest(
        name=spec["name"], sample=sample, expect=_expectation(doc, path + ("expect",)), span=doc.span(path),
        judge=judge, about=(spec.get("about") or "").strip(),
        sample_spans={k: doc.key_span(path + ("sample", k)) for k in sample},
        spans={**{k: doc.key_span(path + (k,)) for k in spec}, **_script_spans(doc, path + ("judge",), judge)},
    )


def _script_spans(doc: Document, path: tuple, judge) -> dict:
    """Where each scripted answer is: ``choices:<substring>``, ``default_choice``, ``texts``."""
    if not judge:
        return {}
    spans = {f"choices:{k}": doc.span(path + ("choices", k)) for k in judge.get("choices") or {}}
    spans.update({f"script:{k}": doc.key_span(path + (k,)) for k in judge})
    return spans


def _expectation(doc: Document, path: tuple) -> Expectation:
    spec = doc.get(path)
    scores = spec.get("scores")
    return Expectation(
        reward=_range(doc, path + ("reward",)) if "reward" in spec else None,
        status=spec.get("status"),
        decided_by=_refs(doc, path + ("decided_by",)), not_asked=_refs(doc, path + ("not_asked",)),
        scores=None if scores is None else tuple(_range(doc, path + ("scores", i)) for i in range(len(scores))),
        best=spec.get("best"), span=doc.key_span(path), spans={k: doc.key_span(path + (k,)) for k in spec},
    )


def _range(doc: Document, path: tuple) -> "tuple[float, float]":
    """``0.5`` -> (0.5, 0.5); ``[0, 0.2]`` -> (0, 0.2) (an empty range is the checker's to report)."""
    value = doc.get(path)
    if not isinstance(value, list):
        return float(value), float(value)
    return float(value[0]), float(value[1])


def _refs(doc: Document, path: tuple) -> tuple:
    value = doc.get(path)
    if value is None:
        return ()
    items = [(value, doc.span(path))] if isinstance(value, str) else \
        [(v, doc.span(path + (i,))) for i, v in enumerate(value)]
    refs = []
    for text, span in items:
        parsed = parse_ref(text.strip())
        if parsed is None:
            raise SkillError(Diagnostic(span, f"{text!r} is not an evidence name or name[i] "
                                        "(a candidate of a listwise skill, an item of an each evidence)"))
        refs.append(EvidenceRef(parsed[0], parsed[1], span))
    return tuple(refs)


# -- check --------------------------------------------------------------------------------

def check_tests(skill: Skill, out: Collector) -> None:
    """Record every mistake in ``skill.tests`` in ``out`` (see the module doc)."""
    seen: dict = {}
    for test in skill.tests:
        if test.name in seen:
            out.error(test.spans.get("name", test.span), f"test name {test.name!r} is used twice "
                      f"(first at line {seen[test.name].line}); each test needs its own name")
        seen.setdefault(test.name, test.span)
        _check_sample(skill, test, out)
        _check_expectation(skill, test, out)
        if test.judge is not None:
            _check_script(skill, test, out)


def _check_sample(skill: Skill, test: SkillTest, out: Collector) -> None:
    unknown = [k for k in test.sample if k not in skill.inputs]
    for name in unknown:
        out.error(test.sample_spans[name], f"test {test.name!r}: '{name}' is not an input of this skill"
                  f"{did_you_mean(name, skill.inputs)} (inputs: {', '.join(skill.inputs)})")
    deliberate = test.expect.status == "error"  # a malformed sample on purpose: the runtime must refuse it
    missing = [n for n, i in skill.inputs.items() if not i.optional and i.visibility != "label"
               and n not in test.sample]
    if missing and not deliberate:
        out.error(test.spans["sample"], f"test {test.name!r}: the sample misses required input(s) "
                  f"{', '.join(missing)} (or expect status: error if the test is about that)")
    if not unknown and not missing and not deliberate:
        problem = _runtime_refusal(skill, test.sample)
        if problem:
            out.error(test.spans["sample"], f"test {test.name!r}: the runtime would refuse this sample: {problem} "
                      "(quote numbers meant as text; or expect status: error if the test is about that)")


def _runtime_refusal(skill: Skill, sample: dict) -> "str | None":
    """Why the runtime's own sample validation refuses ``sample`` (one definition for both), or None."""
    from ..runtime.inputs import SampleError, validate_sample

    inputs = {n: {"type": i.type, "optional": i.optional, "visibility": i.visibility} for n, i in skill.inputs.items()}
    try:
        validate_sample(sample, inputs)
    except SampleError as exc:
        return str(exc)
    return None


def _check_expectation(skill: Skill, test: SkillTest, out: Collector) -> None:
    expect = test.expect
    if not expect.spans:  # a test that checks nothing passes whatever the skill does
        out.error(expect.span, f"test {test.name!r}: expect: checks nothing; give reward, status, decided_by "
                  "or not_asked (listwise: scores, best)")
    if expect.status in ("na", "error") and (expect.reward is not None or expect.scores is not None):
        out.error(expect.spans.get("reward", expect.spans.get("scores")),
                  f"test {test.name!r}: a result with status {expect.status} has no reward; drop reward/scores")
    ranges = [("reward", expect.reward)] + [("scores", r) for r in expect.scores or ()]
    for key, (lo, hi) in [(k, r) for k, r in ranges if r is not None]:
        if lo > hi:
            out.error(expect.spans[key], f"test {test.name!r}: the {key} range [{lo:g}, {hi:g}] is empty; "
                      "write [low, high] with low <= high")
    listwise = skill.mode == "listwise"
    for key in ("scores", "best"):
        if getattr(expect, key) is not None and not listwise:
            out.error(expect.spans[key], f"test {test.name!r}: '{key}' is for listwise skills; this one is {skill.mode}")
    n = _candidate_count(skill, test)
    if listwise and n is not None:
        _check_candidate_count(test, n, out)
    for ref in expect.decided_by + expect.not_asked:
        _check_ref(skill, test, ref, out)
    both = {str(r) for r in expect.decided_by} & {str(r) for r in expect.not_asked}
    for name in sorted(both):
        out.error(expect.spans["not_asked"], f"test {test.name!r}: '{name}' cannot both decide and not be asked")


def _candidate_count(skill: Skill, test: SkillTest) -> "int | None":
    value = test.sample.get(skill.candidates or "")
    return len(value) if isinstance(value, list) else None


def _check_candidate_count(test: SkillTest, n: int, out: Collector) -> None:
    expect = test.expect
    if expect.scores is not None and len(expect.scores) != n:
        out.error(expect.spans["scores"], f"test {test.name!r}: {len(expect.scores)} scores for {n} candidates")
    if expect.best is not None and expect.best >= n:
        out.error(expect.spans["best"], f"test {test.name!r}: best {expect.best} is out of range ({n} candidates)")


def _check_ref(skill: Skill, test: SkillTest, ref: EvidenceRef, out: Collector) -> None:
    ev = skill.evidence.get(ref.name)
    if ev is None:
        out.error(ref.span, f"test {test.name!r}: '{ref.name}' is not an evidence of this skill"
                  f"{did_you_mean(ref.name, skill.evidence)} (evidence: {', '.join(skill.evidence)})")
        return
    if ref.index is None:
        return
    size, what = _indexable(skill, ev, test)
    if what is None:
        out.error(ref.span, f"test {test.name!r}: '{ref}' indexes '{ref.name}', which is neither a listwise "
                  "candidate's evidence nor an each evidence; write the name alone")
    elif size is not None and ref.index >= size:
        out.error(ref.span, f"test {test.name!r}: '{ref}' is out of range: the sample has {size} {what}")


def _indexable(skill: Skill, ev, test: SkillTest) -> "tuple[int | None, str | None]":
    """How many entries ``ev[i]`` may index (None: unknown) and what they are (None: not indexable)."""
    if skill.mode == "listwise":
        return _candidate_count(skill, test), "candidates"
    if isinstance(ev.each, tuple):
        return len(ev.each), "items"
    if ev.each is not None:
        value = test.sample.get(ev.each)
        return (len(value) if isinstance(value, list) else None), "items"
    return None, None


def _check_script(skill: Skill, test: SkillTest, out: Collector) -> None:
    """A ``judge:`` script must be one the fake backend can follow for this skill's judges."""
    choices = _choice_label_sets(skill)
    generates = any(ev.kind == "ask" and ev.answer.type in ("text", "regex", "json") for ev in skill.evidence.values())
    where = test.spans.get("judge", test.span)
    if not choices and not generates:
        out.error(where, f"test {test.name!r}: this skill asks no judge, so judge: would script nothing; drop it")
        return
    script = test.judge
    if script.get("texts") and not generates:
        out.error(test.spans.get("script:texts", where), f"test {test.name!r}: texts: no evidence of this skill "
                  "generates text (its judges answer choices); script them under choices:")
    answers = [(test.spans.get(f"choices:{k}", where), v) for k, v in (script.get("choices") or {}).items()]
    if "default_choice" in script:
        answers.append((test.spans.get("script:default_choice", where), script["default_choice"]))
    for span, answer in answers:
        problem = _answer_problem(answer, choices)
        if problem:
            out.error(span, f"test {test.name!r}: {problem}")


def _choice_label_sets(skill: Skill) -> list:
    """The label tuple of every evidence the backend answers as a choice (choice, score, route)."""
    sets = []
    for ev in skill.evidence.values():
        answer = ev.answer if ev.kind in ("ask", "route") else None
        if answer is not None and answer.type == "choice":
            sets.append(tuple(answer.labels))
        elif answer is not None and answer.type == "score":
            sets.append(tuple(str(n) for n in range(answer.min, answer.max + 1)))
    return sets


def _answer_problem(answer, choices: list) -> "str | None":
    """Why the fake backend could not give ``answer`` to any choice of the skill, or None."""
    if not choices:
        return "this skill asks no choice; script its generated text under texts:"
    labels = sorted({label for labels in choices for label in labels})
    if isinstance(answer, str):
        return None if answer in labels else \
            f"{answer!r} is not a label of any choice in this skill{did_you_mean(answer, labels)} (labels: {', '.join(labels)})"
    if isinstance(answer, dict):
        if any(set(answer) <= set(ls) for ls in choices):
            return None
        return f"no choice of this skill has all of the labels {', '.join(map(repr, answer))} (labels: {', '.join(labels)})"
    if isinstance(answer, list) and len(answer) not in {len(ls) for ls in choices}:
        sizes = sorted({len(ls) for ls in choices})
        return f"{len(answer)} probabilities, but the choices of this skill have {' or '.join(map(str, sizes))} labels"
    return None


# -- lower --------------------------------------------------------------------------------

def lower_tests(skill: Skill) -> list:
    """The IR ``tests`` field (see :mod:`skilldsl.ir.skilltests`)."""
    return [_lower_test(t) for t in skill.tests]


def _lower_test(test: SkillTest) -> dict:
    node = {"name": test.name, "line": test.span.line, "sample": test.sample, "expect": _lower_expect(test.expect)}
    if test.about:
        node["about"] = test.about
    if test.judge is not None:
        node["judge"] = test.judge
    return node


def _lower_expect(expect: Expectation) -> dict:
    node: dict = {}
    if expect.reward is not None:
        node["reward"] = list(expect.reward)
    if expect.status is not None:
        node["status"] = expect.status
    for key in ("decided_by", "not_asked"):
        if getattr(expect, key):
            node[key] = [str(r) for r in getattr(expect, key)]
    if expect.scores is not None:
        node["scores"] = [list(r) for r in expect.scores]
    if expect.best is not None:
        node["best"] = expect.best
    return node

