"""The IR: the one thing compiler and runtime share. Pure Python; never imports torch."""
from .program import FORMAT, Program, canonical_json, canonical_numbers, compute_reward_id, validate_doc

__all__ = ["FORMAT", "Program", "canonical_json", "canonical_numbers", "compute_reward_id", "validate_doc"]
