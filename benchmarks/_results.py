"""Where benchmark scripts put their figures: one JSON file each under benchmarks/results/."""
import json
from pathlib import Path


def save_report(report: dict, out) -> Path:
    """Write ``report`` as indented JSON to ``out`` (creating the folder) and say where."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print("wrote", path)
    return path
