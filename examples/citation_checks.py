"""A user verifier plugin: register your own deterministic evidence.

Load it with ``--plugin examples/citation_checks.py`` on any ``skilldsl`` command that
compiles or runs a skill (or ``SKILLDSL_PLUGINS=examples/citation_checks.py``);
``examples/cited_answer.skill`` uses it.
"""
import re

from skilldsl.verifiers import Verdict, verifier

_CITATION = re.compile(r"\[(\d+)\]")


@verifier(
    "cite.valid",
    version="1",
    params=("response: text", "sources: number"),
    doc="Every [n] citation in the response names one of the `sources` given; na without citations.",
)
def citations_valid(response: str, sources: int) -> Verdict:
    cited = {int(n) for n in _CITATION.findall(response)}
    if not cited:
        return Verdict.na("the response cites nothing")
    unknown = sorted(n for n in cited if not 1 <= n <= sources)
    if unknown:
        return Verdict.ok(False, unknown=unknown)
    return Verdict.ok(True, cited=sorted(cited))
