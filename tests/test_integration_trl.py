"""SkillReward through TRL's own reward-calling path (``GRPOTrainer._calculate_rewards`` and a
real ``train()`` step), on a tiny randomly initialised policy (no model file needed); the judge is
the scripted FakeBackend. One ``model`` test runs ``examples/trl_grpo.py`` on the embedded model.

Needs the ``[trl]`` extra; skipped without TRL so the base suite passes.
"""
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

trl = pytest.importorskip("trl")
pytest.importorskip("datasets")

import skilldsl  # noqa: E402
from skilldsl.integrations.trl import SkillReward, completion_text  # noqa: E402
from skilldsl.runtime.backends.base import RequestError  # noqa: E402
from skilldsl.runtime.backends.fake import FakeBackend  # noqa: E402

# TRL and datasets deprecate their own internals like the other third-party packages
# pyproject.toml lists; a deprecated call made by skilldsl or this test still fails.
_THIRD_PARTY = r"(trl|datasets|accelerate|transformers|torch)(\..*)?$"
pytestmark = [
    pytest.mark.trl,
    pytest.mark.filterwarnings(f"ignore::FutureWarning:{_THIRD_PARTY}"),
    pytest.mark.filterwarnings(f"ignore::DeprecationWarning:{_THIRD_PARTY}"),
    pytest.mark.filterwarnings(f"ignore::PendingDeprecationWarning:{_THIRD_PARTY}"),
]

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Natalia sold 48 clips in April and half as many in May. How many clips did she sell in all?"
SOLUTION = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips.\n#### 72"

# The verifier half of math_answer alone: na when the response has no final answer to read.
REFERENCE_ONLY = """\
skill: math_reference
mode: pointwise
inputs:
  prompt: text
  response: text
  reference: {type: text, visibility: reference}
evidence:
  matches:
    check: math.equivalent(response, reference)
reward: matches
"""


# ------------------------------------------------------------------ a tiny TRL trainer
def _tiny_policy():
    """A one-layer Llama over a word-level vocabulary: enough for GRPOTrainer to generate, score and
    step, in about a second on CPU."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<pad>", "<eos>", "<unk>", "####", "the", "answer", "is"] + [str(i) for i in range(100)]
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer, core.decoder = pre_tokenizers.WhitespaceSplit(), decoders.WordPiece()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", eos_token="<eos>",
                                        unk_token="<unk>", padding_side="left")
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         pad_token_id=0, bos_token_id=1, eos_token_id=1)
    return LlamaForCausalLM(config), tokenizer


def _trainer(tmp_path, reward_funcs, rows, **config):
    from datasets import Dataset

    model, tokenizer = _tiny_policy()
    args = trl.GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, num_generations=2,
                          max_completion_length=4, max_steps=1, logging_steps=1, report_to="none",
                          use_cpu=True, save_strategy="no", **config)
    return trl.GRPOTrainer(model=model, reward_funcs=reward_funcs, args=args, train_dataset=Dataset.from_list(rows),
                           processing_class=tokenizer)


def _rewards(trainer, rows, completions):
    """TRL's own reward path on chosen completions: one column per reward function, NaN = None."""
    inputs = [dict(row) for row in rows]
    prompts = [row["prompt"] for row in rows]
    table = trainer._calculate_rewards(inputs, prompts, completions, [[1]] * len(completions))
    return table.tolist()


def _judge(answer="no"):
    """math_answer with a scripted judge that answers ``answer`` (or a RequestError) to everything."""
    return skilldsl.load("math_answer", backend=FakeBackend(choices=lambda prompt, options: answer))


@pytest.fixture
def reference_only(tmp_path):
    path = tmp_path / "math_reference.skill"
    path.write_text(REFERENCE_ONLY)
    return path


# ------------------------------------------------------------------ standard and conversational formats
COMPLETIONS = [
    "48 + 24 = 72.\n#### 72",                   # right
    "She sold 48 + 48 = 96 clips. #### 96",     # wrong
    "The answer is 72 or 96 or 24. #### 96",    # hedging across answers: its final answer is wrong
    "Trust me, it is right.",                   # no answer to read: 0 against a reference (never the judge)
]


def test_standard_format_rewards_equal_the_skills_own_scores(tmp_path):
    skill = _judge("no")
    reward = SkillReward(skill, columns={"answer": "reference"})
    rows = [{"prompt": QUESTION, "answer": SOLUTION}] * len(COMPLETIONS)
    trainer = _trainer(tmp_path, [reward], rows)
    assert trainer.reward_func_names == ["math_answer"]
    got = [r[0] for r in _rewards(trainer, rows, COMPLETIONS)]
    direct = skill.score([{"prompt": QUESTION, "response": c, "reference": SOLUTION} for c in COMPLETIONS])
    assert got == pytest.approx([r.reward for r in direct])
    assert got == [1.0, 0.0, 0.0, 0.0]  # hiding the answer earns no more than a wrong one
    assert reward.calls == 1 and reward.counts["ok"] == 4  # the whole batch in one score call


def test_conversational_format_scores_the_assistant_text_against_the_last_user_turn(tmp_path):
    skill = _judge("no")
    reward = SkillReward(skill, columns={"answer": "reference"})
    prompt = [{"role": "system", "content": "Answer with #### N."}, {"role": "user", "content": QUESTION}]
    rows = [{"prompt": prompt, "answer": SOLUTION}] * len(COMPLETIONS)
    completions = [[{"role": "assistant", "content": c}] for c in COMPLETIONS]
    got = [r[0] for r in _rewards(_trainer(tmp_path, [reward], rows), rows, completions)]
    assert got == [1.0, 0.0, 0.0, 0.0]
    assert reward.samples([prompt], completions[:1], {"answer": [SOLUTION]}) == [
        {"prompt": QUESTION, "response": COMPLETIONS[0], "reference": SOLUTION}]


def test_text_content_parts_and_prompt_readers():
    parts = [{"role": "assistant", "content": [{"type": "text", "text": "#### "}, {"type": "image"},
                                                {"type": "text", "text": "72"}]}]
    assert completion_text(parts) == "#### 72"
    assert completion_text([{"role": "assistant", "content": None}]) == ""
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
    reward = SkillReward(_judge(), prompt_text="transcript")
    assert reward.samples([chat], ["x"], {})[0]["prompt"] == "system: Be brief.\n\nuser: Hi?"
    reward = SkillReward(_judge(), prompt_text=lambda messages: messages[0]["content"])
    assert reward.samples([chat], ["x"], {})[0]["prompt"] == "Be brief."


# ------------------------------------------------------------------ hostile completions and columns
def test_tool_output_is_never_taken_for_the_policys_answer(tmp_path):
    """TRL's tool loop appends tool results to a completion: a tool that prints the right answer
    does not earn the policy the reward for its own wrong final turn."""
    reward = SkillReward(_judge("yes"), columns={"answer": "reference"})
    rows = [{"prompt": QUESTION, "answer": SOLUTION}] * 2
    completions = [
        [{"role": "assistant", "content": "#### 96"}, {"role": "tool", "content": "#### 72"}],
        [{"role": "assistant", "content": "Let me check."}, {"role": "tool", "content": "72"},
         {"role": "assistant", "content": "So it is 96. #### 96"}],
    ]
    assert [r[0] for r in _rewards(_trainer(tmp_path, [reward], rows), rows, completions)] == [0.0, 0.0]


def test_a_dataset_column_never_replaces_the_completion(tmp_path):
    """A preference dataset carries a ``response`` column: the reward judges the policy's completion,
    not that column, and no mapping may route a column onto the completion's input."""
    reward = SkillReward(_judge("yes"), columns={"answer": "reference"})
    rows = [{"prompt": QUESTION, "answer": SOLUTION, "response": "#### 72"}] * 2
    got = _rewards(_trainer(tmp_path, [reward], rows), rows, ["#### 96", "#### 24"])
    assert [r[0] for r in got] == [0.0, 0.0]
    with pytest.raises(ValueError, match="the input the completion fills"):
        SkillReward(_judge(), columns={"chosen": "response"})


def test_a_judge_error_stops_the_step_by_default_and_never_scores_silently(tmp_path):
    """A row without a reference sends math_answer to the judge; the judge breaks. By default the
    step stops with the reason; scored only as the user says (None: left out)."""
    broken = RequestError("the judge is down")
    rows = [{"prompt": QUESTION, "answer": SOLUTION}, {"prompt": QUESTION, "answer": None}]
    completions = ["#### 72", "Trust me, it is right."]
    raising = SkillReward(_judge(broken), columns={"answer": "reference"})
    with pytest.raises(RuntimeError, match=r"1 of 2 rewards erred; row 1: .*the judge is down.*on_error="):
        _rewards(_trainer(tmp_path, [raising], rows), rows, completions)
    assert raising.counts["error"] == 1 and raising.counts["ok"] == 1
    assert any(status == "error" and "the judge is down" in why for status, why in raising.reasons)

    left_out = SkillReward(_judge(broken), columns={"answer": "reference"}, on_error=None)
    got = [r[0] for r in _rewards(_trainer(tmp_path, [left_out], rows), rows, completions)]
    assert got[0] == 1.0 and math.isnan(got[1])  # TRL's "not applicable": no advantage from it
    penalised = SkillReward(_judge(broken), columns={"answer": "reference"}, on_error=-1)
    assert [r[0] for r in _rewards(_trainer(tmp_path, [penalised], rows), rows, completions)] == [1.0, -1.0]


def test_na_is_not_applicable_by_default_and_what_on_na_says_otherwise(tmp_path, reference_only):
    rows = [{"prompt": QUESTION, "reference": "72"}] * 2
    completions = ["#### 72", "I would rather not say."]
    reward = SkillReward(reference_only)
    got = [r[0] for r in _rewards(_trainer(tmp_path, [reward], rows), rows, completions)]
    assert got[0] == 1.0 and math.isnan(got[1])
    assert reward.reasons[("na", "no final answer found in the response")] == 1
    zero = SkillReward(reference_only, on_na=0.0)
    assert [r[0] for r in _rewards(_trainer(tmp_path, [zero], rows), rows, completions)] == [1.0, 0.0]


def test_statuses_and_reasons_reach_trls_log_hooks(tmp_path, reference_only):
    reward = SkillReward(reference_only)
    rows = [{"prompt": QUESTION, "reference": "72"}] * 4
    trainer = _trainer(tmp_path, [reward], rows)
    _rewards(trainer, rows, ["#### 72", "#### 5", "no idea", "none"])
    metrics = trainer._pending_metrics
    assert metrics["skilldsl/math_reference/ok"] == [0.5] and metrics["skilldsl/math_reference/na"] == [0.5]
    assert metrics["skilldsl/math_reference/error"] == [0.0]
    extra = trainer._pending_extra_logs
    assert extra["math_reference/status"] == ["ok", "ok", "na", "na"]
    assert extra["math_reference/reason"][2] == "no final answer found in the response"


def test_without_trls_hooks_the_counts_go_to_logging(caplog, reference_only):
    reward = SkillReward(reference_only)
    with caplog.at_level("INFO", logger="skilldsl.integrations.trl"):
        assert reward([QUESTION] * 2, ["#### 72", "hmm"], reference=["72", "72"])[1] is None
    assert "math_reference: 1 ok, 1 na (na: no final answer found in the response x1)" in caplog.text


# ------------------------------------------------------------------ pairwise against a baseline
def _pairwise():
    """A scripted judge that prefers whichever response says "zebra-good", in either order."""
    def prefer(prompt, options):
        return "A" if prompt.index("zebra-good") < prompt.index("zebra-bad") else "B"
    return skilldsl.load("pairwise_judge", backend=FakeBackend(choices=prefer))


def test_pairwise_skill_scores_the_completion_against_the_baseline_column(tmp_path):
    reward = SkillReward(_pairwise(), baseline_column="reference_answer")
    rows = [{"prompt": "Name a good animal.", "reference_answer": "zebra-bad"},
            {"prompt": "Name a good animal.", "reference_answer": "zebra-good"}]
    got = [r[0] for r in _rewards(_trainer(tmp_path, [reward], rows), rows, ["zebra-good", "zebra-bad"])]
    assert got == pytest.approx([0.9, 0.1])  # P(completion better than baseline), swap-averaged
    with pytest.raises(ValueError, match="baseline_column="):
        SkillReward(_pairwise())


# ------------------------------------------------------------------ configuration errors are one clear line
def test_configuration_errors_name_the_problem(reference_only):
    with pytest.raises(ValueError, match="no input 'answer'"):
        SkillReward(reference_only, columns={"gold": "answer"})
    with pytest.raises(ValueError, match="on_error must be 'raise', None or a finite number"):
        SkillReward(reference_only, on_error=float("nan"))
    with pytest.raises(ValueError, match="on_na must be None or a finite number"):
        SkillReward(reference_only, on_na="raise")
    with pytest.raises(ValueError, match="needs a pairwise skill"):
        SkillReward(reference_only, baseline_column="chosen")
    with pytest.raises(ValueError, match="listwise"):
        SkillReward("best_of_n")
    reward = SkillReward(reference_only)
    with pytest.raises(ValueError, match=r"no dataset column gives the required input 'reference'.*\['answer'\]"):
        reward([QUESTION], ["#### 72"], answer=["72"])
    with pytest.raises(ValueError, match="column 'reference' has 1 values for 2 completions"):
        reward([QUESTION] * 2, ["#### 72"] * 2, reference=["72"])


# ------------------------------------------------------------------ a real training step
def test_a_grpo_step_logs_the_skills_reward(tmp_path):
    reward = SkillReward(_judge("no"), columns={"answer": "reference"})
    rows = [{"prompt": "the answer is", "answer": "#### 7"}, {"prompt": "the answer is", "answer": "#### 9"}]
    trainer = _trainer(tmp_path, [reward], rows)
    trainer.train()
    logged = trainer.state.log_history[0]
    assert logged["rewards/math_answer/mean"] == pytest.approx(
        sum(r.reward for r in reward.last_results) / len(reward.last_results))
    assert logged["skilldsl/math_answer/ok"] == 1.0 and reward.counts["ok"] == 2  # 1 prompt x 2 generations


@pytest.mark.model
def test_example_trains_the_embedded_model_with_the_skill_reward(tmp_path):
    proc = subprocess.run(
        [sys.executable, "examples/trl_grpo.py", "--steps", "1", "--max-completion-length", "24", "--threads", "1",
         "--output-dir", str(tmp_path / "run"), "--data", str(tmp_path / "no-gsm8k")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rewards/math_answer/mean" in proc.stdout and "skilldsl/math_answer/ok" in proc.stdout
