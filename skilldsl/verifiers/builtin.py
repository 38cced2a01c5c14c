"""Import every built-in verifier module so its ``@verifier`` registrations run.

The registry imports this module once, lazily, on the first ``get``/``all_verifiers`` call, so
``import skilldsl`` stays cheap (math-verify, jsonschema, langdetect and the sandbox load only
inside the verifiers that use them).
"""
from __future__ import annotations

# imported for their registrations only
from . import code, formats, ifeval, math, reference  # noqa: F401

__all__: list[str] = []
