"""Benchmark the IFBench verifiers: agreement with the official checker, checks/s, judge use.

- (a) Agreement, strict and loose, instruction- and prompt-level, of
  ``skilldsl.verifiers.ifeval.check`` with the official IFBench verdicts recorded in
  ``tests/fixtures/ifbench_reference.jsonl.xz`` (see benchmarks/ifbench_reference.py) on the 300
  data prompts: the families' generated responses plus edge responses (``generated``) and the
  official repo's own model responses (``model``, data/sample_output.jsonl). A prompt agrees when
  every one of its instructions does. Rows where the official has no verdict (it crashed, or
  needs NLTK's POS tagger, absent from the reference venv) are counted apart.
- (b) Instruction checks/s: the agreement pass's per-check times in one process (their sum, as
  bench_ifeval.py) for each origin, and the wall-clock rate of 2 worker processes (2 cores) on
  the model responses' checks, 10 passes (real text; the generated cases include 60-600 KB responses).
- (c) IFBench samples that reach the judge through the stock skill ``instruction_following``
  (one sample per data prompt with its model or first generated response, scored with the
  ``fake`` backend: any judged item not skipped by ``when`` is a sample the judge would see).

Writes ``benchmarks/results/ifbench.json``.

    python benchmarks/bench_ifbench.py [--data FILE] [--fixture FILE] [--out FILE]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from skilldsl.verifiers.ifeval import check

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import percentile, save_report  # noqa: E402

__all__ = ["main", "agreement", "throughput", "judge_use"]

_REPO = Path(__file__).resolve().parent.parent
_MODES = ("strict", "loose")
_WALL_REPEATS = 10  # passes over the model responses' checks for the multi-process wall rate
_DEFAULT_DATA = _REPO.parent / "shared" / "bench" / "ifbench" / "IFBench_test.jsonl"
_DEFAULT_FIXTURE = _REPO / "tests" / "fixtures" / "ifbench_reference.jsonl.xz"


def _reference():
    path = _REPO / "benchmarks" / "ifbench_reference.py"
    spec = importlib.util.spec_from_file_location("ifbench_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rate(agree: int, total: int) -> dict:
    return {"agree": agree, "total": total, "rate": round(agree / total, 4) if total else None}


def _ours(row: dict, prompt: str, mode: str):
    return check(row["response"], row["id"], row["kwargs"], prompt, mode)


_ORIGINS = {"generated": "data", "model": "model"}  # report name -> fixture origin


def agreement(rows: "list[dict]", prompts: "dict[str, str]", seconds: "dict[str, list]") -> dict:
    """Per origin and mode: instruction- and prompt-level agreement with the official verdicts;
    appends each check's ``(id, seconds)`` to ``seconds[origin]``."""
    report: dict = {}
    for name, origin in _ORIGINS.items():
        chosen = [r for r in rows if r["origin"] == origin]
        report[name] = {mode: _agreement_mode(chosen, prompts, mode, seconds.setdefault(name, []))
                        for mode in _MODES}
    return report


def _agreement_mode(rows: "list[dict]", prompts: "dict[str, str]", mode: str, seconds: list) -> dict:
    per_id: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_prompt: dict[tuple, bool] = {}
    statuses: Counter = Counter()
    no_official: Counter = Counter()
    disagree = []
    memo: dict = {}
    for row in rows:
        official = row[mode]
        if not isinstance(official, bool):
            no_official[f"{row['id']} {official}"] += 1
            continue
        ours = memo.get(row["case"])
        if ours is None:  # a case (id, kwargs, response) recurs across prompts: check and time it once
            start = time.perf_counter()
            ours = memo[row["case"]] = _ours(row, prompts.get(row["key"], ""), mode)
            seconds.append((row["id"], time.perf_counter() - start))
        statuses[ours.status] += 1
        same = ours.status == "ok" and ours.value is official
        per_id[row["id"]][0] += same
        per_id[row["id"]][1] += 1
        group = (row["key"], row["response_n"])
        per_prompt[group] = per_prompt.get(group, True) and same
        if not same:
            disagree.append({"id": row["id"], "case": row["case"], "key": row["key"], "official": official,
                             "ours": ours.value if ours.status == "ok" else ours.status, "reason": ours.reason})
    return {
        "instruction_level": _rate(sum(v[0] for v in per_id.values()), sum(v[1] for v in per_id.values())),
        "prompt_level": _rate(sum(per_prompt.values()), len(per_prompt)),
        "our_statuses": dict(statuses), "official_without_verdict": dict(no_official),
        "per_instruction": {k: _rate(*v) for k, v in sorted(per_id.items())},
        "disagreements": disagree,
    }


# --- (b) throughput ---


def _time_checks(work: "list[tuple[str, str, dict, str]]") -> "list[float]":
    seconds = []
    for response, iid, kwargs, mode in work:
        start = time.perf_counter()
        check(response, iid, kwargs, "", mode)
        seconds.append(time.perf_counter() - start)
    return seconds


def _work(rows: "list[dict]") -> "list[tuple[str, str, dict, str]]":
    seen, work = set(), []
    for row in rows:
        if row["case"] not in seen:
            seen.add(row["case"])
            work += [(row["response"], row["id"], row["kwargs"], mode) for mode in _MODES]
    return work


def _latency(timed: "list[tuple[str, float]]") -> dict:
    seconds = [t for _, t in timed]
    total = sum(seconds)
    per_id: dict[str, float] = defaultdict(float)
    for iid, t in timed:
        per_id[iid] += t
    costly = sorted(per_id.items(), key=lambda kv: -kv[1])[:5]
    return {"checks": len(seconds), "checks_per_s_1_process": round(len(seconds) / total, 1) if total else None,
            "p50_ms": round(percentile(seconds, 0.5) * 1e3, 3), "p99_ms": round(percentile(seconds, 0.99) * 1e3, 3),
            "max_ms": round(max(seconds) * 1e3, 3),
            "costliest_ids_s": {iid: round(t, 2) for iid, t in costly}}


def throughput(rows: "list[dict]", seconds: "dict[str, list]", workers: int = 2) -> dict:
    """Checks/s: one process (the agreement pass's per-check times, as bench_ifeval.py) for each
    origin, and the wall rate of ``workers`` processes over the model responses' checks."""
    out = {name: _latency(times) for name, times in seconds.items() if times}
    work = _work([r for r in rows if r["origin"] == "model"]) * _WALL_REPEATS  # ~1 s alone: too short to time
    if work:
        start = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_time_checks, [work[i::workers] for i in range(workers)])
        wall = time.perf_counter() - start
        out["model"].update({"mean_chars": round(sum(len(w[0]) for w in work) / len(work)),
                             f"wall_checks_{workers}_processes": len(work),
                             f"checks_per_s_{workers}_processes_wall": round(len(work) / wall, 1)})
    return out


# --- (c) the stock skill ---


def _skill_samples(data: "list[dict]", rows: "list[dict]") -> "list[dict]":
    """One sample per data prompt: its model response if recorded, else its first generated one."""
    first: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r["origin"] != "model"):
        if row["origin"] in ("model", "data") and row["response_n"] == 0:
            first.setdefault(row["key"], row["response"])
    return [{"prompt": item["prompt"], "response": first[item["key"]],
             "instruction_id_list": item["instruction_id_list"], "kwargs": item["kwargs"]}
            for item in data if item["key"] in first]


def judge_use(samples: "list[dict]") -> dict:
    """Score ``samples`` with instruction_following (fake backend): how many need the judge."""
    import skilldsl

    skill = skilldsl.load("instruction_following", backend="fake", cache=False)
    results = skill.score(samples)
    judged = [[i for i in r.trace["judged"].detail["items"] if i["skipped"] != "when: false"] for r in results]
    follows = [item for r in results for item in r.trace["follows"].detail["items"]]
    return {"samples": len(results), "samples_reaching_judge": sum(bool(j) for j in judged),
            "instructions_reaching_judge": sum(len(j) for j in judged),
            "follows_status": dict(Counter(i["status"] for i in follows)),
            "reward_status": dict(Counter(r.status for r in results)),
            "backends_loaded": [str(b) for b in skill.loaded_backends],
            "ids_reaching_judge": sorted({s["instruction_id_list"][n] for s, j, r in zip(samples, judged, results)
                                          for n, i in enumerate(r.trace["judged"].detail["items"])
                                          if i["skipped"] != "when: false"})}


def _warm_up(rows: "list[dict]") -> None:
    """One untimed check per id first (lazy imports, tokenizer tables), as bench_ifeval.py does."""
    done: set[str] = set()
    for row in rows:
        if row["id"] not in done and len(row["response"]) < 5000:
            done.add(row["id"])
            check(row["response"], row["id"], row["kwargs"], "", "strict")


def _print(result: dict) -> None:
    for origin, modes in result["agreement"].items():
        for mode, rep in modes.items():
            print(f"[{origin} {mode}] instruction-level {rep['instruction_level']} prompt-level "
                  f"{rep['prompt_level']} ours {rep['our_statuses']} no official verdict "
                  f"{sum(rep['official_without_verdict'].values())}")
    for name, rep in result["throughput"].items():
        print(f"throughput {name}: " + json.dumps(rep))
    print("judge:", json.dumps({k: v for k, v in result["judge"].items()}))


def main(argv: "list[str] | None" = None) -> int:
    """Run the benchmark; exit 1 when the data or the fixture is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_DEFAULT_DATA)
    parser.add_argument("--fixture", type=Path, default=_DEFAULT_FIXTURE)
    parser.add_argument("--out", type=Path, default=_REPO / "benchmarks" / "results" / "ifbench.json")
    args = parser.parse_args(argv)
    for path in (args.data, args.fixture):
        if not path.is_file():
            print(f"missing {path}", file=sys.stderr)
            return 1
    data = [json.loads(line) for line in args.data.open(encoding="utf-8") if line.strip()]
    header, rows = _reference().read_fixture(args.fixture)
    prompts = {item["key"]: item["prompt"] for item in data}
    result = {"data": str(args.data), "fixture": str(args.fixture), "fixture_source": header["source"],
              "prompts": len(data)}
    _warm_up(rows)
    seconds: dict[str, list] = {}
    result["agreement"] = agreement(rows, prompts, seconds)
    result["throughput"] = throughput(rows, seconds)
    result["judge"] = judge_use(_skill_samples(data, rows))
    _print(result)
    save_report(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
