"""Bridges from skills to the trainers that consume rewards.

- :mod:`skilldsl.integrations.trl`: :class:`~skilldsl.integrations.trl.SkillReward`, a reward
  function for TRL's ``GRPOTrainer(reward_funcs=[...])`` (needs no TRL to import; the
  ``[trl]`` extra installs TRL itself).
- :mod:`skilldsl.integrations.verl`: ``compute_score`` functions verl's
  ``custom_reward_function`` can name.

Importing this package imports neither TRL nor torch: each bridge is its own module.
"""
