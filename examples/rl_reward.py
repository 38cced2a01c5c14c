"""Use a skill as the reward function of an RL trainer (GRPO/PPO style) and for best-of-N.

Most trainers take ``reward_fn(prompts, completions, **columns) -> list[float]``; a skill's
``score`` is batched, so one call scores the whole group. A reward of ``None`` (status ``na``
or ``error``) must be mapped to a number explicitly: here to 0.0, and the reasons are logged.

Run from the repository root: ``python examples/rl_reward.py`` (no model is loaded: the
references decide).
"""
import skilldsl


def make_reward_fn(skill_path: str, missing: float = 0.0):
    """A trainer-shaped reward function backed by a skill."""
    skill = skilldsl.load(skill_path)

    def reward_fn(prompts, completions, **columns):
        samples = [
            {"prompt": p, "response": c, **{k: v[i] for k, v in columns.items()}}
            for i, (p, c) in enumerate(zip(prompts, completions))
        ]
        results = skill.score(samples)
        for r in results:
            if r.reward is None:
                print(f"  reward {r.status}: {r.reason}")
        return [missing if r.reward is None else r.reward for r in results]

    return reward_fn


if __name__ == "__main__":
    reward_fn = make_reward_fn("skills/math_answer.skill")
    group = ["12 + 30 = 42. #### 42", "The answer is 40.", "\\boxed{42}", "It is 24."]
    rewards = reward_fn(["What is 12 + 30?"] * 4, group, reference=["42"] * 4)
    print("rewards:", rewards)
    best = max(range(len(group)), key=rewards.__getitem__)
    print("best-of-4:", group[best])
