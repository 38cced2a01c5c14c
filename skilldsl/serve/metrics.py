"""The reward server's counters in the Prometheus text exposition format (version 0.0.4).

Hand-written rather than ``prometheus_client``: a handful of counters, gauges and one
histogram need no dependency, and the server keeps one registry per app (tests run many
apps in one process; a global registry would mix them).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

__all__ = ["Metrics", "LATENCY_BUCKETS", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: a verifier-only request takes milliseconds, a judge batch on CPU tens of seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

Labels = tuple  # ((name, value), ...) sorted, hashable


def _labels(**labels: object) -> Labels:
    return tuple(sorted((k, str(v)) for k, v in labels.items()))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _series(name: str, labels: Labels, value: float) -> str:
    inside = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{name}{{{inside}}} {_number(value)}" if inside else f"{name} {_number(value)}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Family:
    """One metric name: its help, type and a value per label set."""

    def __init__(self, name: str, kind: str, help_text: str):
        self.name, self.kind, self.help = name, kind, help_text
        self.values: dict[Labels, float] = {}

    def add(self, amount: float = 1.0, **labels: object) -> None:
        key = _labels(**labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: object) -> float:
        return self.values.get(_labels(**labels), 0.0)

    def lines(self) -> list[str]:
        return [_series(self.name, key, value) for key, value in sorted(self.values.items())]


class _Histogram(_Family):
    """Cumulative buckets, ``_sum`` and ``_count`` per label set."""

    def __init__(self, name: str, help_text: str, buckets: tuple):
        super().__init__(name, "histogram", help_text)
        self.buckets = tuple(buckets) + (math.inf,)
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, seconds: float, **labels: object) -> None:
        key = _labels(**labels)
        counts = self.counts.setdefault(key, [0] * len(self.buckets))
        for i, bound in enumerate(self.buckets):
            if seconds <= bound:
                counts[i] += 1
        self.sums[key] = self.sums.get(key, 0.0) + seconds

    def lines(self) -> list[str]:
        out = []
        for key in sorted(self.counts):
            for bound, count in zip(self.buckets, self.counts[key]):
                le = "+Inf" if math.isinf(bound) else _number(bound)
                out.append(_series(f"{self.name}_bucket", key + (("le", le),), count))
            out.append(_series(f"{self.name}_sum", key, self.sums[key]))
            out.append(_series(f"{self.name}_count", key, self.counts[key][-1]))
        return out


class Metrics:
    """What ``GET /metrics`` shows. Counters are updated by the request handlers; live metrics
    (queue depth, batches) are read from the batchers when the page is rendered."""

    def __init__(self) -> None:
        self.requests = _Family("skilldsl_requests_total", "counter", "HTTP requests by endpoint and status code")
        self.rows = _Family("skilldsl_rows_total", "counter", "rows scored, by skill and result status")
        self.tokens = _Family("skilldsl_tokens_total", "counter", "judge tokens, by skill and direction (in/out)")
        self.skipped = _Family("skilldsl_evidence_skipped_total", "counter",
                               "evidence not run, by skill and reason ('not needed' is laziness)")
        self.latency = _Histogram("skilldsl_request_seconds", "request latency by endpoint", LATENCY_BUCKETS)
        self._live: list[tuple[str, str, str, Callable[[], list[tuple[Labels, float]]]]] = []

    def live(self, name: str, kind: str, help_text: str, read: Callable[[], Iterable[tuple[dict, float]]]) -> None:
        """Register a metric read at render time (``kind``: gauge or counter): ``read()`` yields
        ``(labels dict, value)``."""
        self._live.append((name, kind, help_text, lambda: [(_labels(**l), v) for l, v in read()]))

    def count_results(self, skill: str, results: Iterable) -> None:
        """Rows by status, tokens, and evidence skipped, of scored Results."""
        for result in results:
            self.rows.add(skill=skill, status=result.status)
            self.tokens.add(result.tokens_in, skill=skill, direction="in")
            self.tokens.add(result.tokens_out, skill=skill, direction="out")
            for trace in result.trace.values():
                if trace.skipped:
                    self.skipped.add(skill=skill, reason=trace.skipped)

    def render(self) -> str:
        """The whole page, one ``# HELP`` / ``# TYPE`` block per metric."""
        out: list[str] = []
        for family in (self.requests, self.rows, self.tokens, self.skipped, self.latency):
            out += [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} {family.kind}", *family.lines()]
        for name, kind, help_text, read in self._live:
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
            out += [_series(name, key, value) for key, value in read()]
        return "\n".join(out) + "\n"
