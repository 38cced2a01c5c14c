"""Deterministic evidence: the verifier registry and the built-in verifiers."""
from .registry import Param, Verdict, VerifierSpec, all_verifiers, get, load_plugins, verifier

__all__ = ["Param", "Verdict", "VerifierSpec", "all_verifiers", "get", "load_plugins", "verifier"]
