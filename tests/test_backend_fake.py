"""The scripted fake backend: scripts, distributions, constraint checks, call records."""
import math

import pytest

from skilldsl.runtime.backends.base import Backend, BackendError, ChoiceRequest, GenerateRequest
from skilldsl.runtime.backends.fake import FakeBackend


def _ask(text, options=("yes", "no")):
    return ChoiceRequest(({"role": "user", "content": text},), tuple(options))


def _gen(text, constraint):
    return GenerateRequest(({"role": "user", "content": text},), constraint)


def _probs(result):
    return [math.exp(x) for x in result.logprobs]


def test_fake_is_a_backend():
    assert isinstance(FakeBackend(), Backend)


def test_substring_rules_first_match_and_default():
    fake = FakeBackend({"sky": "no", "water": {"yes": 0.7, "no": 0.3}}, default_choice=[0.5, 0.5])
    sky, water, other = fake.choice_logprobs([_ask("Is the sky green?"), _ask("Is water wet?"), _ask("Hm?")])
    assert _probs(sky) == pytest.approx([0.1, 0.9])
    assert _probs(water) == pytest.approx([0.7, 0.3])
    assert _probs(other) == pytest.approx([0.5, 0.5])


def test_function_script_gets_prompt_and_options():
    seen = []
    fake = FakeBackend(lambda prompt, options: seen.append((prompt, options)) or 0.25)
    [res] = fake.choice_logprobs([_ask("Pick", ["A", "B", "C"])])
    assert seen == [("Pick", ["A", "B", "C"])]
    assert _probs(res) == pytest.approx([0.25, 0.375, 0.375])


def test_bad_script_answers_are_refused():
    with pytest.raises(ValueError, match="not one of the options"):
        FakeBackend({"": "maybe"}).choice_logprobs([_ask("x")])
    with pytest.raises(ValueError, match="2 options"):
        FakeBackend({"": [1.0]}).choice_logprobs([_ask("x")])


def test_calls_and_batches_are_recorded():
    fake = FakeBackend()
    fake.choice_logprobs([_ask("one"), _ask("two")])
    fake.generate([_gen("three", {"type": "text"})])
    fake.choice_logprobs([_ask("four")])
    assert fake.n_calls() == 3 and fake.n_calls("choice_logprobs") == 2
    assert fake.batch_sizes("choice_logprobs") == [2, 1]
    assert fake.saw("three") and not fake.saw("five")
    assert fake.prompts() == ["one", "two", "three", "four"]
    fake.reset()
    assert fake.n_calls() == 0 and fake.requests == []


def test_generation_is_checked_against_the_constraint():
    fake = FakeBackend(texts={"json": '{"a": 1}', "digits": "42", "bad": "4x2"})
    ok_json, ok_re = fake.generate([
        _gen("json please", {"type": "json", "schema": {}}),
        _gen("digits please", {"type": "regex", "pattern": "[0-9]+"}),
    ])
    assert (ok_json.text, ok_re.text) == ('{"a": 1}', "42")
    with pytest.raises(ValueError, match="does not satisfy"):
        fake.generate([_gen("bad one", {"type": "regex", "pattern": "[0-9]+"})])
    strict = {"type": "object", "properties": {"a": {"type": "string"}}}
    with pytest.raises(ValueError, match="does not satisfy"):
        fake.generate([_gen("json please", {"type": "json", "schema": strict})])
    [choice] = fake.generate([_gen("?", {"type": "choice", "labels": ["B", "A"]})])
    assert choice.text == "B"


def test_fail_raises_backend_error_then_recovers():
    fake = FakeBackend(fail=1)
    with pytest.raises(BackendError):
        fake.choice_logprobs([_ask("x")])
    assert len(fake.choice_logprobs([_ask("x")])) == 1
    assert fake.n_calls() == 2


def test_truncate_over_flags_long_prompts():
    fake = FakeBackend(truncate_over=3)
    short, long = fake.choice_logprobs([_ask("a b"), _ask("a b c d e")])
    assert (short.truncated, long.truncated) == (False, True)
    assert long.tokens_in == 5


def test_one_unservable_request_fails_alone():
    from skilldsl.runtime.backends.base import RequestError

    fake = FakeBackend({"refused": RequestError("the chat template refused this prompt")})
    good, refused, none, empty = fake.choice_logprobs(
        [_ask("fine"), _ask("refused"), _ask("no options", ()), _ask("empty option", ("yes", ""))])
    assert good.error is None and _probs(good) == pytest.approx([0.9, 0.1])
    assert (refused.error, refused.logprobs) == ("the chat template refused this prompt", ())
    assert none.error == "a choice request needs at least one option"
    assert empty.error == "option '' is empty: it has no tokens"
    assert fake.n_calls() == 1


def test_a_constrained_answer_longer_than_max_tokens_is_cut_off():
    fake = FakeBackend(texts={"long": "a b c d", "short": "a b"})
    regex = {"type": "regex", "pattern": "[a-d]( [a-d])*"}
    long_, short = fake.generate([GenerateRequest(({"role": "user", "content": "long"},), regex, max_tokens=3),
                                  GenerateRequest(({"role": "user", "content": "short"},), regex, max_tokens=3)])
    assert (long_.text, long_.tokens_out) == ("a b c", 3)
    assert long_.error == "answer cut off at max_tokens=3 before it was complete"
    assert short.error is None and short.text == "a b"
    [free] = fake.generate([GenerateRequest(({"role": "user", "content": "long"},), {"type": "text"}, max_tokens=3)])
    assert free.error is None  # bounded free text may stop anywhere
