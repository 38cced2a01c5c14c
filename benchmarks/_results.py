"""What benchmark scripts share: where they put their figures (one JSON file each under
benchmarks/results/) and the nearest-rank percentile of their latencies."""
import json
from pathlib import Path


def save_report(report: dict, out) -> Path:
    """Write ``report`` as indented JSON to ``out`` (creating the folder) and say where."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print("wrote", path)
    return path


def percentile(values: list, q: float) -> float:
    """The ``q``-quantile (0..1) of ``values`` by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
