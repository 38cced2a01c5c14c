"""The IR: the one thing compiler and runtime share. Pure Python; never imports torch."""
from .program import FORMAT, Program, canonical_json, canonical_numbers, compute_reward_id, validate_doc
from .verify import check_program

__all__ = ["FORMAT", "Program", "canonical_json", "canonical_numbers", "check_program", "compute_reward_id",
           "validate_doc"]
