"""The verl reward functions (skilldsl.integrations.verl), called the way verl calls them.

verl is a GPU trainer and is not installed here: ``verl_reward_fn`` below does what verl does to
reach a custom reward function (volcengine/verl @ b178a3cd56f5: verl/trainer/ppo/reward.py
``get_custom_reward_fn``, verl/utils/import_utils.py ``load_module``), and the tests call it with the
keywords of verl/workers/reward_manager/naive.py (one row) and batch.py (lists, numpy object
arrays). No test loads a model: math_answer's reference decides, and the other skill is a verifier.
"""
from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import logging
import os
import threading
from functools import partial
from pathlib import Path

import pytest

import skilldsl
from skilldsl.integrations import verl
from skilldsl.integrations.verl import MappingError, RewardError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "verl" / "reward_skills.yaml"

VERIFIER_SKILL = """\
skill: exact_answer
version: 1
about: A verifier alone decides; na when the response states no final answer.
mode: pointwise
inputs:
  response: text
  reference: {type: text, optional: true, visibility: reference}
evidence:
  matches:
    check: math.equivalent(response, reference)
reward: matches
"""

GSM8K = "openai/gsm8k"
QUESTION = {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?"}
RESPONSES = [
    "48 / 2 = 24, and 48 + 24 = 72.\n#### 72",  # right
    "48 + 48 = 96.\n#### 96",                    # wrong
    "The answer is \\boxed{72}.",                # right, another form
    "#### 71\n#### 72",                           # two final answers
    "#### 72\n#### 71",
    '{"reference": "96", "ground_truth": "96"} #### 96',  # tries to set the reference
]


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(verl.CONFIG_ENV, raising=False)
    verl.clear_cache()
    yield
    verl.clear_cache()


def write_mapping(tmp_path, text: str) -> str:
    (tmp_path / "exact.skill").write_text(VERIFIER_SKILL)
    path = tmp_path / "rewards.yaml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def mapping(tmp_path):
    return write_mapping(tmp_path, f"sources:\n  {GSM8K}: math_answer\n  '*': exact.skill\n")


def verl_reward_fn(module_path: str, name: str = "compute_score", reward_kwargs: dict | None = None):
    """verl's get_custom_reward_fn: load the module (pkg:// or a file path), wrap the function (a
    coroutine function in an async wrapper) so custom_reward_function.reward_kwargs are merged into
    every call."""
    if module_path.startswith("pkg://"):
        module = importlib.import_module(module_path[len("pkg://"):].replace("/", "."))
    else:
        spec = importlib.util.spec_from_file_location(f"custom_module_{hash(os.path.abspath(module_path))}", module_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    raw_fn = getattr(module, name)

    def call_with_kwargs(extra, *args, **kwargs):
        return raw_fn(*args, **{**kwargs, **extra})

    async def call_with_kwargs_async(extra, *args, **kwargs):
        return await raw_fn(*args, **{**kwargs, **extra})

    wrapper = call_with_kwargs_async if inspect.iscoroutinefunction(raw_fn) else call_with_kwargs
    return partial(wrapper, dict(reward_kwargs or {}))


def direct_rewards(skill_name: str, responses, reference="72"):
    skill = skilldsl.load(skill_name)
    return [r.reward for r in skill.score([{"prompt": QUESTION["question"], "response": text, "reference": reference}
                                           for text in responses])]


# -- the "done when": verl-style calls return Skill.score's rewards ------------------------

def test_both_call_forms_return_the_rewards_of_skill_score(mapping):
    expected = direct_rewards("math_answer", RESPONSES)
    one_by_one = [verl.compute_score(GSM8K, text, "72", dict(QUESTION), config=mapping) for text in RESPONSES]
    batched = verl.compute_score_batch([GSM8K] * len(RESPONSES), RESPONSES, ["72"] * len(RESPONSES),
                                       [dict(QUESTION) for _ in RESPONSES], config=mapping)
    assert one_by_one == batched == expected == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    assert all(type(r) is float for r in batched)
    assert verl.load_mapping(mapping).entry(GSM8K).skill.loaded_backends == []  # no model loaded


@pytest.mark.parametrize("module_path", ["pkg://skilldsl.integrations.verl", str(ROOT / "skilldsl/integrations/verl.py")])
def test_verl_loads_it_by_package_or_file_path_and_passes_reward_kwargs(mapping, module_path):
    np = pytest.importorskip("numpy")
    naive = verl_reward_fn(module_path, "compute_score", {"config": mapping})
    batch = verl_reward_fn(module_path, "compute_score_batch", {"config": mapping})
    # naive.py: one row, keywords, extra_info with the fields verl adds
    info = {**QUESTION, "num_turns": None, "rollout_reward_scores": {}}
    assert naive(data_source=GSM8K, solution_str=RESPONSES[0], ground_truth="72", extra_info=info) == 1.0
    # batch.py: numpy object arrays from the non-tensor batch, plus reward_model.reward_kwargs
    n = len(RESPONSES)
    rewards = batch(data_sources=np.array([GSM8K] * n, dtype=object), solution_strs=list(RESPONSES),
                    ground_truths=[np.str_("72")] * n,
                    extra_infos=np.array([{**QUESTION, "rollout_reward_scores": {}} for _ in range(n)], dtype=object),
                    reward_router_address=None)
    assert rewards == direct_rewards("math_answer", RESPONSES)


def test_a_file_loaded_copy_shares_the_package_cache():
    spec = importlib.util.spec_from_file_location("custom_module_x", ROOT / "skilldsl/integrations/verl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.compute_score is verl.compute_score
    assert module.compute_score_batch is verl.compute_score_batch
    assert module.compute_score_async is verl.compute_score_async


def test_the_reward_loop_awaits_rows_that_share_batches(mapping, monkeypatch):
    # verl's reward loop (reward_model.use_reward_loop, the default since 0.7) gathers one task per row
    # and awaits a coroutine reward function (experimental/reward_loop/reward_manager/naive.py)
    fn = verl_reward_fn("pkg://skilldsl.integrations.verl", "compute_score_async", {"config": mapping})
    assert inspect.iscoroutinefunction(fn)
    skill = verl.load_mapping(mapping).entry(GSM8K).skill
    batches = []
    real_run = skill._run
    monkeypatch.setattr(skill, "_run", lambda samples: batches.append(len(samples)) or real_run(samples))

    async def step():
        return await asyncio.gather(*(fn(data_source=GSM8K, solution_str=text, ground_truth="72",
                                         extra_info=dict(QUESTION)) for text in RESPONSES))

    assert asyncio.run(step()) == direct_rewards("math_answer", RESPONSES)
    assert sum(batches) == len(RESPONSES) and len(batches) < len(RESPONSES)


def test_the_awaited_form_applies_the_same_policies(mapping):
    # a fresh process: the first call loads the mapping off the event loop
    assert asyncio.run(verl.compute_score_async("other", "no answer", "72", None, config=mapping)) == 0.0
    with pytest.raises(RewardError, match="missing required field 'prompt'"):
        asyncio.run(verl.compute_score_async(GSM8K, "#### 72", "72", {}, config=mapping))


def test_env_var_names_the_mapping(mapping, monkeypatch):
    monkeypatch.setenv(verl.CONFIG_ENV, mapping)
    assert verl.compute_score(GSM8K, "#### 72", "72", dict(QUESTION)) == 1.0


def test_numbers_and_numpy_values_reach_text_inputs_as_text(mapping):
    np = pytest.importorskip("numpy")
    assert verl.compute_score(GSM8K, "#### 72", 72, dict(QUESTION), config=mapping) == 1.0
    assert verl.compute_score(GSM8K, "#### 72", np.int64(72), dict(QUESTION), config=mapping) == 1.0
    # a list of references: any of them is correct (a numpy array of texts from parquet)
    assert verl.compute_score("other", "#### 72", np.array(["70", "72"], dtype=object), None, config=mapping) == 1.0


# -- the batched form ------------------------------------------------------------------------

def test_a_batch_scores_each_skill_once_and_keeps_row_order(mapping, monkeypatch):
    loaded = verl.load_mapping(mapping)
    calls = []
    for key in (GSM8K, "*"):
        skill = loaded.entry(key).skill
        monkeypatch.setattr(skill, "score", _counting(skill.score, calls, key))
    sources = [GSM8K, "other", GSM8K, "another", "other", GSM8K]
    texts = ["#### 72", "#### 72", "#### 9", "no answer", "#### 9", "\\boxed{72}"]
    infos = [dict(QUESTION) if s == GSM8K else {} for s in sources]
    rewards = verl.compute_score_batch(sources, texts, ["72"] * 6, infos, config=mapping)
    assert rewards == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]  # "no answer": na -> on_na 0.0
    assert sorted(calls) == [("*", 3), (GSM8K, 3)]


def _counting(score, calls, key):
    def wrapped(samples):
        samples = list(samples)
        calls.append((key, len(samples)))
        return score(samples)
    return wrapped


def test_mismatched_list_lengths_are_refused(mapping):
    with pytest.raises(ValueError, match="differ in length"):
        verl.compute_score_batch([GSM8K] * 2, ["#### 72"], ["72"] * 2, None, config=mapping)


# -- na and error policies -------------------------------------------------------------------

def test_na_scores_the_configured_value(tmp_path):
    path = write_mapping(tmp_path, "on_na: -0.5\nsources:\n  a: exact.skill\n  b: {skill: exact.skill, on_na: 0.25}\n")
    rewards = verl.compute_score_batch(["a", "b", "a"], ["no answer", "no answer", "#### 3"], ["3", "3", "3"], None,
                                       config=path)
    assert rewards == [-0.5, 0.25, 1.0]


def test_na_defaults_to_zero(mapping):
    assert verl.compute_score("other", "no final answer here", "3", None, config=mapping) == 0.0


def test_an_error_raises_by_default_naming_the_row_and_the_fix(mapping):
    with pytest.raises(RewardError) as caught:  # a ground truth the skill cannot take
        verl.compute_score_batch(["other", "other"], ["#### 3", "#### 3"], ["3", {"bad": 1}], None, config=mapping)
    message = str(caught.value)
    assert "1 of 2 rewards erred" in message and "row 1" in message and "'exact_answer'" in message
    assert "field 'reference' must be text" in message and "reference <- ground_truth" in message
    assert f"on_error: <number> in {mapping}" in message and "\n" not in message


def test_a_missing_prompt_is_the_row_error_it_is(mapping):
    with pytest.raises(RewardError, match=r"prompt <- extra_info.question\): missing required field 'prompt'"):
        verl.compute_score(GSM8K, "#### 72", "72", {}, config=mapping)


def test_on_error_scores_errors_only_when_the_mapping_says_so(tmp_path, caplog):
    path = write_mapping(tmp_path, "on_error: 0\ndetails: true\nsources:\n  '*': exact.skill\n")
    with caplog.at_level(logging.WARNING, logger="skilldsl.verl"):
        ok, broken = verl.compute_score_batch(["x", "x"], ["#### 3", "#### 3"], ["3", {"bad": 1}], None, config=path)
    assert ok["score"] == 1.0 and ok["status"] == "ok"
    assert broken["score"] == 0.0 and broken["status"] == "error" and "must be text" in broken["reason"]
    assert "1 of 2 rewards erred and were scored on_error" in caplog.text


def test_details_have_the_same_keys_and_types_on_every_row(tmp_path):
    path = write_mapping(tmp_path, "details: true\non_error: -1\nsources:\n  '*': exact.skill\n")
    rows = verl.compute_score_batch(["x"] * 3, ["#### 3", "nothing", "#### 3"], ["3", "3", {"bad": 1}], None, config=path)
    assert [r["status"] for r in rows] == ["ok", "na", "error"]
    assert [r["score"] for r in rows] == [1.0, 0.0, -1.0]
    for row in rows:  # verl stacks each key across the batch: no missing keys, no None
        assert set(row) == {"score", "status", "reason", "reward_id", "skill", "evidence"}
        assert all(isinstance(v, float if k == "score" else str) for k, v in row.items())
    assert rows[0]["evidence"] == "matches" and rows[0]["reward_id"].startswith("sha256:")
    assert rows[1]["reason"] == "no final answer found in the response"


# -- the mapping file's errors: one clear line naming the file -------------------------------------

MAPPING_ERRORS = [
    ("sources:\n  a: exact.skill\n  b: [unclosed\n", r"rewards\.yaml:4:1: not valid YAML"),
    ("- a list\n", "a skill mapping file is a YAML mapping with 'sources'"),
    ("sources: {}\n", "sources must map each data_source"),
    ("source:\n  a: exact.skill\n", "unknown key 'source'"),
    ("sources:\n  a: exact.skill\n  a: math_answer\n", "duplicate key 'a'"),
    ("sources:\n  a: {skil: exact.skill}\n", r"sources\['a'\]: unknown key 'skil'"),
    ("sources:\n  a: missing.skill\n", r"sources\['a'\]: cannot load skill 'missing.skill'"),
    ("sources:\n  a: no_such_stock_skill\n", "no stock skill of that name"),
    ("sources:\n  a: pairwise_judge\n", "is pairwise; verl rewards one response"),
    ("sources:\n  a: {skill: exact.skill, inputs: {answer: ground_truth}}\n", "'answer' is not an input of the skill"),
    ("sources:\n  a: {skill: exact.skill, inputs: {response: extra_info}}\n", "is not a row field"),
    ("sources:\n  a: {skill: exact.skill, inputs: {response: null}}\n", "no skill input receives solution_str"),
    ("on_error: no\nsources:\n  a: exact.skill\n", "on_error must be raise or a finite number"),
    ("on_na: .nan\nsources:\n  a: exact.skill\n", "on_na must be a finite number"),
    ("on_error: .inf\nsources:\n  a: exact.skill\n", "on_error must be raise or a finite number"),
    ("on_na: " + "9" * 400 + "\nsources:\n  a: exact.skill\n", "on_na must be a finite number"),  # was OverflowError
    ("details: 1\nsources:\n  a: exact.skill\n", "details must be true or false"),
    ("sources:\n  a: {skill: exact.skill, options: {backend: x}}\n", "options may set model"),
]


@pytest.mark.parametrize("text, message", MAPPING_ERRORS)
def test_a_bad_mapping_file_is_one_clear_line(tmp_path, text, message):
    path = write_mapping(tmp_path, text)
    with pytest.raises(MappingError, match=message) as caught:
        verl.compute_score("a", "#### 3", "3", None, config=path)
    assert str(caught.value).startswith(path) and "\n" not in str(caught.value)


def test_a_missing_mapping_file_is_named(tmp_path):
    missing = str(tmp_path / "nowhere.yaml")
    with pytest.raises(MappingError, match=f"^{missing}: no such skill mapping file$"):
        verl.compute_score("a", "#### 3", "3", config=missing)


def test_no_mapping_file_says_how_to_name_one():
    with pytest.raises(MappingError, match="reward_kwargs.config=FILE.*SKILLDSL_VERL_CONFIG"):
        verl.compute_score("a", "#### 3", "3")


def test_an_unknown_source_without_a_default_names_the_mapping(tmp_path):
    path = write_mapping(tmp_path, "sources:\n  a: exact.skill\n")
    with pytest.raises(MappingError, match=f"^{path}: no entry for data_source 'b' and no '\\*' entry$"):
        verl.compute_score_batch(["a", "b"], ["#### 3"] * 2, ["3"] * 2, config=path)


# -- hostile responses and rows ----------------------------------------------------------------

def test_two_final_answers_earn_no_more_than_the_skill_gives_them(mapping):
    honest = verl.compute_score(GSM8K, "#### 72", "72", dict(QUESTION), config=mapping)
    for text in ("#### 71\n#### 72", "#### 72\n#### 71", "\\boxed{71} #### 72", "#### 72 #### 71"):
        reward = verl.compute_score(GSM8K, text, "72", dict(QUESTION), config=mapping)
        assert reward <= honest
        assert reward == direct_rewards("math_answer", [text])[0]


def test_a_response_cannot_set_the_reference(mapping):
    forged = ['{"reference": "96"} #### 96', "reference: 96\nground_truth: 96\n#### 96", "#### 96"]
    assert verl.compute_score_batch([GSM8K] * 3, forged, ["72"] * 3, [dict(QUESTION) for _ in forged],
                                    config=mapping) == [0.0, 0.0, 0.0]


def test_rollout_fields_in_extra_info_do_not_reach_the_skill(mapping):
    # verl merges tool_extra_fields and rollout scores into extra_info; a policy can shape those
    forged_reference = {**QUESTION, "reference": "96", "ground_truth": "96", "rollout_reward_scores": {"r": 1}}
    forged_response = {**QUESTION, "response": "#### 72", "solution_str": "#### 72"}
    for source in (GSM8K, "other"):
        assert verl.compute_score(source, "#### 96", "72", forged_reference, config=mapping) == 0.0
        assert verl.compute_score(source, "#### 96", "72", forged_response, config=mapping) == 0.0


def test_the_response_may_not_be_routed_into_a_reference_input(tmp_path):
    path = write_mapping(tmp_path, "sources:\n  a: {skill: exact.skill, inputs: {reference: solution_str}}\n")
    with pytest.raises(MappingError, match="the response must not reach a reference input"):
        verl.load_mapping(path)


# -- loaded once per process -------------------------------------------------------------------

def test_skills_load_once_per_process(mapping, monkeypatch):
    loads = []
    real_load = skilldsl.load
    monkeypatch.setattr(skilldsl, "load", lambda ref, **kw: loads.append(ref) or real_load(ref, **kw))
    for _ in range(3):
        verl.compute_score(GSM8K, "#### 72", "72", dict(QUESTION), config=mapping)
        verl.compute_score_batch(["x", GSM8K], ["#### 1", "#### 72"], ["1", "72"], [None, dict(QUESTION)], config=mapping)
    assert len(loads) == 2  # math_answer and exact.skill, once each
    first = verl.load_mapping(mapping)
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as a forked worker sees it
    assert verl.load_mapping(mapping) is not first and len(loads) == 4


def test_threads_share_one_load(mapping, monkeypatch):
    # verl's reward loop runs a sync compute_score in a thread pool
    loads = []
    real_load = skilldsl.load
    monkeypatch.setattr(skilldsl, "load", lambda ref, **kw: loads.append(ref) or real_load(ref, **kw))
    results = {}

    def call(i):
        results[i] = verl.compute_score(GSM8K, f"#### {70 + i % 3}", "72", dict(QUESTION), config=mapping)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(6)] == [0.0, 0.0, 1.0] * 2
    assert len(loads) == 2


# -- the example ------------------------------------------------------------------------------

def test_the_example_mapping_scores_gsm8k_rows_as_verl_prepares_them():
    row = {"question": "Natalia sold 48 clips...", "split": "train", "index": 0, "answer": "... #### 72"}
    assert verl.compute_score(GSM8K, "So 72 in all. #### 72", "72", row, config=str(EXAMPLE)) == 1.0
    assert verl.compute_score(GSM8K, "#### 96", "72", row, config=str(EXAMPLE)) == 0.0
    ifeval = {"prompt": "Answer in lowercase.", "instruction_id_list": ["change_case:english_lowercase"], "kwargs": [{}]}
    assert verl.compute_score("google/IFEval", "all lowercase here", None, ifeval, config=str(EXAMPLE)) == 1.0
    assert verl.compute_score("google/IFEval", "Not Lowercase", None, ifeval, config=str(EXAMPLE)) == 0.0
    with pytest.raises(MappingError, match="no entry for data_source 'lighteval/MATH'"):
        verl.compute_score("lighteval/MATH", "\\boxed{1}", "1", {}, config=str(EXAMPLE))
