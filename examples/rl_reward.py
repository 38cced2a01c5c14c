"""Use a skill as the reward function of an RL trainer (GRPO/PPO style) and for best-of-N.

Most trainers take ``reward_fn(prompts, completions, **columns) -> list[float]``; a skill's
``score`` is batched, so one call scores the whole group. A reward of ``None`` must be mapped to
a number explicitly, and the two cases differ: ``na`` (no evidence applies) gets ``on_na``, while
an ``error`` (a verifier or the sandbox broke) stops the step unless ``on_error`` says what it is
worth — a broken reward silently scored as 0 would train the policy on noise.

Run from the repository root: ``python examples/rl_reward.py`` (no model is loaded: the
references decide).
"""
from skilldsl.integrations.trl import SkillReward


def make_reward_fn(skill_path: str, on_na: float = 0.0, on_error: "float | None" = None):
    """A trainer-shaped reward function backed by a skill: ``SkillReward`` (TRL's calling
    convention, which imports no TRL) with this example's policy: ``na`` scores ``on_na``; an
    error raises unless ``on_error`` names its reward."""
    return SkillReward(skill_path, on_na=on_na, on_error="raise" if on_error is None else on_error)


if __name__ == "__main__":
    reward_fn = make_reward_fn("skills/math_answer.skill")
    group = ["12 + 30 = 42. #### 42", "The answer is 40.", "\\boxed{42}", "It is 24."]
    rewards = reward_fn(["What is 12 + 30?"] * 4, group, reference=["42"] * 4)
    print("rewards:", rewards)
    best = max(range(len(group)), key=rewards.__getitem__)
    print("best-of-4:", group[best])
