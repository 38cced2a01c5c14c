"""Compile a skill, score samples, read the evidence trace.

Run from the repository root: ``python examples/quickstart.py``. The math skill's verifier
decides the first three samples (the third states no final answer: with a reference that scores
0, no better than a wrong answer); the fourth has no reference, so the skill falls back to its
judge, and only then is the embedded judge model loaded (fetched on first use).
"""
import skilldsl

program = skilldsl.compile("skills/math_answer.skill")
print("reward id:", program.reward_id)

skill = skilldsl.load(program)
results = skill.score(
    [
        {"prompt": "What is 6 x 7?", "response": "6 x 7 = 42, so the answer is 42.", "reference": "42"},
        {"prompt": "What is 6 x 7?", "response": "The answer is \\boxed{41}.", "reference": "42"},
        {"prompt": "What is 6 x 7?", "response": "I am not sure.", "reference": "#### 42"},
        {"prompt": "What is 6 x 7?", "response": "6 x 7 = 42."},
    ]
)
for result in results:
    trace = result.trace["matches"]
    print(f"{result.status:5} reward={result.reward}  matches: {trace.status} {trace.reason or ''}")

print("models loaded:", skill.loaded_backends or "none")
