"""End-to-end skill scoring: the stock skills through ``skilldsl.load(...).score(...)``.

The samples are what ``skilldsl convert`` writes (``skilldsl.eval.formats.samples``) from the
development sets in ``../shared/bench`` (see its README); no model may load — each run asserts
that the skill created no backend (``Skill.loaded_backends``).

- ``math_answer`` x GSM8K's 5,276 graded solutions: samples/s (goal >= 1,000/s) and agreement of
  the reward with ``is_correct``.
- ``instruction_following`` x IFEval's 541 GPT-4 responses: samples/s, the prompt-level strict
  follow rate (reward 1.0; the third party's rate beside it), and that no judge was needed
  (every instruction decided by its checker, every ``judged`` item skipped).
- ``code_tests`` x HumanEval's 164 canonical solutions (all should reward 1.0) and 164 empty
  responses (all 0.0), sandboxed: samples/s (goal >= 30/s).

Timing covers ``score`` only; one small warm-up batch per skill (imports, the sandbox's zygote,
verifier workers) runs first, off the clock. Writes ``benchmarks/results/skills.json``.

    python benchmarks/bench_skills.py [--data DIR] [--limit N] [--out FILE]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARMUP = 8  # samples scored before the clock starts

__all__ = ["main", "score", "bench_math", "bench_ifeval", "bench_code"]


def score(skill_name: str, samples: list[dict]) -> tuple[list, dict]:
    """Score ``samples`` with the stock skill: the results, and the speed and statuses."""
    import skilldsl

    skill = skilldsl.load(skill_name)
    skill.score(samples[:WARMUP])
    start = time.perf_counter()
    results = skill.score(samples)
    seconds = time.perf_counter() - start
    assert skill.loaded_backends == [], f"{skill_name} created a model backend: {skill.loaded_backends}"
    return results, {"samples": len(results), "seconds": round(seconds, 3),
                     "samples_per_s": round(len(results) / seconds, 1) if seconds else None,
                     "status": dict(Counter(r.status for r in results)), "backends_loaded": skill.loaded_backends}


def _fraction(hits: int, total: int) -> "float | None":
    return round(hits / total, 4) if total else None


def bench_math(samples: list[dict]) -> dict:
    """math_answer on graded solutions: speed and agreement of reward with ``is_correct``."""
    results, speed = score("math_answer", samples)
    agree = [r.status == "ok" and r.reward == float(s["is_correct"]) for s, r in zip(samples, results)]
    wrong = [{"id": s["id"], "is_correct": s["is_correct"], "status": r.status, "reward": r.reward,
              "reason": r.reason} for s, r, ok in zip(samples, results, agree) if not ok]
    return {**speed, "agreement": _fraction(sum(agree), len(agree)),
            "judge_skipped": sum(r.trace["judge"].skipped == "not needed" for r in results),
            "disagreements": wrong}


def bench_ifeval(samples: list[dict], third_party: "dict | None") -> dict:
    """instruction_following on IFEval responses: speed, follow rates, judge never needed."""
    results, speed = score("instruction_following", samples)
    checks = [item for r in results for item in r.trace["follows"].detail["items"]]
    judged = [item for r in results for item in r.trace["judged"].detail["items"]]
    undecided = sorted({iid for s, r in zip(samples, results)
                        for iid, item in zip(s["instruction_id_list"], r.trace["follows"].detail["items"])
                        if item["status"] != "ok"})
    out = {**speed,
           "prompt_level_strict": _fraction(sum(r.reward == 1.0 for r in results), len(results)),
           "instruction_level_strict": _fraction(sum(i["value"] is True for i in checks), len(checks)),
           "instructions": len(checks), "undecided_instruction_ids": undecided,
           "judge_needed": sum(i["skipped"] != "when: false" for i in judged)}
    if third_party:
        theirs = [third_party[s["prompt"]] for s in samples if s["prompt"] in third_party]
        out["third_party_prompt_level_strict"] = _fraction(sum(theirs), len(theirs))
    return out


def bench_code(canonical: list[dict], empty: list[dict]) -> dict:
    """code_tests on canonical solutions (reward 1.0 each) and empty responses (0.0 each)."""
    results, speed = score("code_tests", canonical + empty)
    want = [1.0] * len(canonical) + [0.0] * len(empty)
    wrong = [{"id": s["id"], "want": w, "status": r.status, "reward": r.reward,
              "output": r.trace["passes"].detail.get("output", "")[-300:]}
             for s, r, w in zip(canonical + empty, results, want) if not (r.status == "ok" and r.reward == w)]
    n = len(canonical)
    return {**speed,
            "canonical_reward_1": sum(r.reward == 1.0 for r in results[:n]), "canonical": n,
            "empty_reward_0": sum(r.reward == 0.0 for r in results[n:]), "empty": len(empty), "wrong": wrong}


def load(data: Path, limit: "int | None") -> dict:
    """The converted sample sets (as ``skilldsl convert`` writes them), first ``limit`` each."""
    from skilldsl.eval.formats.samples import convert_samples

    def take(fmt: str, folder: str, **options) -> list[dict]:
        samples, skipped = convert_samples(fmt, data / folder, **options)
        for skip in skipped:
            print(f"  skipped {skip.row}: {skip.reason}", file=sys.stderr)
        return samples[:limit] if limit else samples

    return {"gsm8k": take("gsm8k-solutions", "gsm8k"), "ifeval": take("ifeval", "ifeval"),
            "canonical": take("humaneval", "humaneval"), "empty": take("humaneval", "humaneval", response="empty")}


def third_party_strict(data: Path) -> "dict | None":
    """``{prompt: follow_all_instructions}`` from the third party's strict results, if present."""
    from skilldsl.eval.formats.common import read_rows

    path = data / "ifeval" / "eval_results_strict.thirdparty.jsonl"
    if not path.exists():
        return None
    return {r["prompt"]: bool(r["follow_all_instructions"]) for r in read_rows(path) if isinstance(r, dict)}


def report(result: dict) -> None:
    """Print one line per skill."""
    m, i, c = result["math_answer"], result["instruction_following"], result["code_tests"]
    print(f"math_answer x GSM8K graded solutions: {m['samples']} samples, {m['samples_per_s']} samples/s, "
          f"agreement with is_correct {m['agreement']:.4%}, status {m['status']}")
    print(f"instruction_following x IFEval GPT-4: {i['samples']} samples, {i['samples_per_s']} samples/s, "
          f"prompt-level strict {i['prompt_level_strict']:.4f} (third party "
          f"{i.get('third_party_prompt_level_strict')}), instruction-level {i['instruction_level_strict']:.4f}, "
          f"judge needed {i['judge_needed']}, undecided ids {i['undecided_instruction_ids']}")
    print(f"code_tests x HumanEval: {c['samples']} samples, {c['samples_per_s']} samples/s, canonical "
          f"{c['canonical_reward_1']}/{c['canonical']} reward 1, empty {c['empty_reward_0']}/{c['empty']} reward 0")
    for row in (m["disagreements"] + c["wrong"])[:5]:
        print(f"  wrong: {row}")


def main(argv: "list[str] | None" = None) -> int:
    """Run the benchmark; exit 2 when the data is missing, 1 when a code expectation fails."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "bench")
    ap.add_argument("--limit", type=int, default=None, help="only the first N samples of each set")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "skills.json")
    args = ap.parse_args(argv)
    if not all((args.data / d).is_dir() for d in ("gsm8k", "ifeval", "humaneval")):
        print(f"no gsm8k/, ifeval/ and humaneval/ under {args.data} (use --data DIR)", file=sys.stderr)
        return 2
    sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]  # also when tests load this file by path
    from _results import save_report

    sets = load(args.data, args.limit)
    result = {"data": str(args.data), "limit": args.limit,
              "math_answer": bench_math(sets["gsm8k"]),
              "instruction_following": bench_ifeval(sets["ifeval"], third_party_strict(args.data)),
              "code_tests": bench_code(sets["canonical"], sets["empty"])}
    report(result)
    save_report(result, args.out)
    return 1 if result["code_tests"]["wrong"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
