"""What scoring returns: a :class:`Result` per sample with an :class:`EvidenceTrace` per evidence."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..values import Value

__all__ = ["EvidenceTrace", "Result", "format_result", "plain", "score_record", "sample_id", "line_error"]


def plain(v: Any) -> Any:
    """A JSON-friendly copy of an evidence value (``each`` items are Values: keep the data)."""
    if isinstance(v, Value):
        return plain(v.value) if v.is_ok else None
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


@dataclass
class EvidenceTrace:
    """One evidence of one sample: its value or why it has none, and what it cost.

    ``skipped`` says why an evidence did not run (``"when: false"``, ``"not needed"``);
    ``detail`` holds the distribution, both swap orders, per-item values, the chosen route,
    ``truncated`` ...
    """

    name: str
    status: str
    value: Any = None
    reason: str | None = None
    kind: str = ""
    seconds: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    skipped: str | None = None
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        d = asdict(self)
        d["value"], d["detail"] = plain(self.value), plain(self.detail)
        return d


@dataclass
class Result:
    """The reward of one sample.

    ``reward`` is a float when ``status == "ok"``, else None with ``reason`` set; an error is
    never turned into a number. For ``rank`` (and listwise skills) ``scores`` holds the reward of
    each candidate and ``best`` the index of the highest. ``caught`` lists the errors the reward
    replaced on purpose (``catch``, ``is_error``), so an honest skill's trace shows them.
    """

    reward: float | None
    status: str
    reason: str | None = None
    trace: dict[str, EvidenceTrace] = field(default_factory=dict)
    reward_id: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    scores: list | None = None
    best: int | None = None
    caught: list = field(default_factory=list)

    def reward_or(self, na: Any = None, error: Any = None) -> Any:
        """The reward when ok, else the stand-in the caller chose for ``na`` or ``error``."""
        if self.status == "ok":
            return self.reward
        return na if self.status == "na" else error

    def to_dict(self) -> dict:
        """JSON-serialisable form (trace entries included)."""
        d = {k: getattr(self, k) for k in ("reward", "status", "reason", "reward_id", "tokens_in", "tokens_out")}
        d["seconds"] = round(self.seconds, 6)
        if self.scores is not None:
            d["scores"], d["best"] = self.scores, self.best
        if self.caught:
            d["caught"] = list(self.caught)
        d["trace"] = {name: t.to_dict() for name, t in self.trace.items()}
        return d


def score_record(line: int, sample: Any, fields: dict) -> dict:
    """The line ``skilldsl score`` writes for one input line: ``{"line", "id" (when the input
    object has one), **fields}``, ``fields`` being :meth:`Result.to_dict` (local or Ray runs alike)."""
    return {"line": line, **sample_id(sample), **fields}


def line_error(line: "int | None", why: Any, reward_id: str) -> Result:
    """The error Result of input line ``line`` (None: a row not read from a file), e.g. a line
    that could not be read as a sample (``why``: its RowError)."""
    where = "" if line is None else f"line {line}: "
    return Result(None, "error", f"{where}{why}", reward_id=reward_id)


def sample_id(sample: Any) -> dict:
    """``{"id": ...}`` of an input object that has one (a malformed sample still keeps it)."""
    return {"id": sample["id"]} if isinstance(sample, dict) and "id" in sample else {}


def format_result(result: Result, program: Any = None) -> str:
    """A readable report of one Result: the reward, then one block per evidence."""
    head = f"reward: {_fmt(result.reward)}  status: {result.status}"
    if result.reason:
        head += f"  reason: {result.reason}"
    lines = [head]
    if program is not None:
        lines.append(f"skill: {program.name} ({program.mode})  reward_id: {result.reward_id}")
    lines.append(f"tokens: {result.tokens_in} in / {result.tokens_out} out  time: {result.seconds:.3f}s")
    if result.scores is not None:
        lines.append(f"scores: {_fmt(result.scores)}  best: {result.best}")
    lines.extend(f"caught error: {reason}" for reason in result.caught)
    lines.append("evidence:")
    for key, trace in result.trace.items():  # key: name, or name[i] for a ranked candidate
        lines.extend(_format_trace(trace, key))
    return "\n".join(lines)


def _format_trace(t: EvidenceTrace, label: str) -> list[str]:
    if t.skipped:
        return [f"  {label} ({t.kind}): skipped — {t.skipped}"]
    state = _fmt(plain(t.value)) if t.status == "ok" else f"{t.status}: {t.reason}"
    out = [f"  {label} ({t.kind}): {state}"]
    cost = f"{t.seconds:.3f}s"
    if t.tokens_in or t.tokens_out:
        cost += f", {t.tokens_in} tokens in / {t.tokens_out} out"
    out.append(f"      cost: {cost}")
    for key, value in t.detail.items():
        if key in ("truncated", "cached") and not value:
            continue
        if key == "items":
            out.extend(_format_item(i, item) for i, item in enumerate(value))
            continue
        out.append(f"      {key}: {_fmt(plain(value))}")
    return out


def _format_item(index: int, item: dict) -> str:
    """One ``each`` item: ``[i] value`` (or its status and why), then its distribution."""
    if item.get("status") == "ok":
        state = _fmt(plain(item.get("value")))
    else:
        state = f"{item.get('status')}: {item.get('skipped') or item.get('reason')}"
    line = f"      [{index}] {state}"
    if item.get("distribution"):
        line += f"  {_fmt(item['distribution'])}"
    return line + ("  (truncated)" if item.get("truncated") else "")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if v is None:
        return "—"
    return repr(v) if isinstance(v, str) else str(v)
