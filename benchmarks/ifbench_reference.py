"""Record the official IFBench checker's strict and loose verdicts on generated cases.

The differential fixture behind tests/test_ifbench_reference.py. For every (instruction id,
kwargs) in the data plus the families' ``EXTRA_KWARGS``, it takes the families' candidate
responses (benchmarks/ifbench_cases/) and generic edge responses (``ifbench_cases.edges``), runs
allenai/IFBench's own checker (commit db69a6f05689) exactly as its evaluation_lib.py does, and
writes one row per (case, response): the verdicts, or why there is none (``raise:<type>`` when the
official crashes, ``random`` when it draws a kwarg at random, ``timeout``). Data prompts are not
stored: no official IFBench checker reads the prompt (``get_instruction_args`` never has a
``prompt`` key; repeat ids carry their text in kwargs), so rows keep only kwargs and responses.

Runs under the reference venv only (standard library + the official package):

    bash benchmarks/ifbench_reference_setup.sh          # once: builds /work/venv-ifbench
    /work/venv-ifbench/bin/python benchmarks/ifbench_reference.py \\
        [--data ../shared/bench/ifbench/IFBench_test.jsonl] [--out tests/fixtures/ifbench_reference.jsonl.xz]
"""
from __future__ import annotations

import argparse
import lzma
import hashlib
import json
import random
import signal
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
sys.path.insert(0, str(_HERE))

import ifbench_cases  # noqa: E402  (benchmarks/ifbench_cases: standard library only)
from ifbench_cases.edges import edges  # noqa: E402

__all__ = ["main", "case_id", "official_verdicts", "encode_text", "decode_text", "read_fixture"]

COMMIT = "db69a6f05689"
_TIMEOUT_S = 20
_SEEDS = (1, 2)  # two builds that differ = the official drew a missing kwarg at random


def _import_official():
    """The official registry, offline: its import calls nltk.download for missing data; here a
    missing resource must surface as a LookupError on use, never as a network attempt."""
    import nltk

    nltk.download = lambda *args, **kwargs: False
    from ifbench import instructions_registry

    return instructions_registry.INSTRUCTION_DICT


def case_id(iid: str, kwargs: dict, response: str) -> str:
    """Stable name of one (id, kwargs, response) case (what DOCUMENTED_DIFFERENCES keys on)."""
    blob = json.dumps([iid, kwargs, response], sort_keys=True, ensure_ascii=False)
    return hashlib.sha1(blob.encode("utf-8")).hexdigest()[:12]


# --- running the official checker as evaluation_lib.py does ---


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def loose_variants(response: str) -> "list[str]":
    """evaluation_lib.test_instruction_following_loose's 8 responses, in its order."""
    r = response.split("\n")
    first, last, both = "\n".join(r[1:]).strip(), "\n".join(r[:-1]).strip(), "\n".join(r[1:-1]).strip()
    return [response, response.replace("*", ""), first, last, both,
            first.replace("*", ""), last.replace("*", ""), both.replace("*", "")]


def _build(cls, iid: str, kwargs: dict, prompt: str, seed: int):
    """A checker built like evaluation_lib (kwargs with nulls dropped, then prompt if asked)."""
    random.seed(seed)
    checker = cls(iid)
    checker.build_description(**kwargs)
    args = checker.get_instruction_args()
    if args and "prompt" in args:
        checker.build_description(prompt=prompt)
    return checker


def _state(checker) -> str:
    return repr(sorted((k, repr(v)) for k, v in vars(checker).items()))


def _judge(checker, texts: "list[str]") -> bool:
    """True when some text (non-blank) follows: strict passes [response], loose the 8 variants."""
    signal.setitimer(signal.ITIMER_REAL, _TIMEOUT_S)
    try:
        return any(t.strip() and checker.check_following(t) for t in texts)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _verdict(registry, iid, kwargs, prompt, texts) -> "bool | str":
    try:
        built = [_build(registry[iid], iid, kwargs, prompt, seed) for seed in _SEEDS]
    except Exception as exc:
        return f"raise:build:{type(exc).__name__}"
    if _state(built[0]) != _state(built[1]):
        return "random"
    try:
        return _judge(built[0], texts)
    except _Timeout:
        return "timeout"
    except Exception as exc:  # the official crashes on this text
        return f"raise:{type(exc).__name__}"


def official_verdicts(registry, iid: str, kwargs: dict, response: str, prompt: str = "") -> dict:
    """The official strict and loose verdicts of one case (fresh checker for each, as upstream)."""
    return {"strict": _verdict(registry, iid, kwargs, prompt, [response]),
            "loose": _verdict(registry, iid, kwargs, prompt, loose_variants(response))}


# --- compact storage of long, repetitive responses ---


def _period(text: str) -> int:
    """Smallest shift p <= len/8 with text[p:] == text[:-p] (its repeating unit), else len."""
    probe = text[:64]
    at = text.find(probe, 1)
    while 0 < at <= len(text) // 8:
        if text[at:] == text[:len(text) - at]:
            return at
        at = text.find(probe, at + 1)
    return len(text)


def _cuts(text: str, limit: int = 3) -> "list[int]":
    """Candidate head lengths: 0 and just after each of the first few line breaks."""
    out, at = [0], -1
    for _ in range(limit):
        at = text.find("\n", at + 1)
        if at < 0:
            break
        out.append(at + 1)
    return out


def encode_text(text: str) -> "str | dict":
    """``text`` itself, or, when it is mostly one unit repeated, ``{"head", "unit", "length",
    "tail"}`` with ``text == head + (unit * n)[:length] + tail`` (decoded by the test)."""
    if len(text) < 4096:
        return text
    for head in _cuts(text):
        for tail in _cuts(text[::-1]):
            middle = text[head:len(text) - tail]
            if len(middle) > len(text) // 2:
                p = _period(middle)
                if p * 8 <= len(middle):
                    return {"head": text[:head], "unit": middle[:p], "length": len(middle),
                            "tail": text[len(text) - tail:]}
    return text


def decode_text(value: "str | dict") -> str:
    """Inverse of :func:`encode_text`."""
    if isinstance(value, str):
        return value
    unit, length = value["unit"], value["length"]
    return value["head"] + (unit * (length // len(unit) + 1))[:length] + value["tail"]


def read_fixture(path: Path) -> "tuple[dict, list[dict]]":
    """The fixture's header and its rows, each with its ``response`` text restored."""
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]  # iterating splits on "\n" only
    header, texts, rows = lines[0], {}, []
    for item in lines[1:]:
        if "value" in item:
            texts[item["text"]] = decode_text(item["value"])
        else:
            item["response"] = texts[item.pop("text")]
            rows.append(item)
    return header, rows


# --- the cases ---


def _read_data(path: Path) -> "list[dict]":
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _clean(kwargs: "dict | None") -> dict:
    return {k: v for k, v in (kwargs or {}).items() if v is not None}


def _responses(cases, pairs: "list[tuple[str, dict]]", prompt: str) -> "list[tuple[str, str]]":
    """Candidates for every (id, kwargs) of one prompt, then the edges around each's first one."""
    out, seen = [], set()
    bases = []
    for iid, kwargs in pairs:
        made = cases.candidates(iid, kwargs, prompt)
        bases.append(made[0][1] if made else "")
        out += made
    for base in bases:
        out += edges(base)
    unique = []
    for source, response in out:
        if response not in seen:
            seen.add(response)
            unique.append((source, response))
    return unique


def _model_rows(data: "list[dict]", samples: "list[dict]") -> "list[dict]":
    """The repo's model responses (data/sample_output.jsonl), joined to the data by prompt as
    evaluation_lib.get_response_for_prompt does (exact, else stripped)."""
    by_prompt = {}
    for sample in samples:
        by_prompt[sample["prompt"]] = sample["response"]
        by_prompt.setdefault(sample["prompt"].strip(), sample["response"])
    rows = []
    for item in data:
        response = by_prompt.get(item["prompt"], by_prompt.get(item["prompt"].strip()))
        if response is None:
            continue
        for index, (iid, kw) in enumerate(zip(item["instruction_id_list"], item["kwargs"])):
            rows.append({"origin": "model", "key": item["key"], "response_n": 0, "index": index,
                         "id": iid, "kwargs": _clean(kw), "source": "sample_output", "response": response,
                         "prompt_text": item["prompt"]})  # for harness_check only; never written
    return rows


def build_cases(data: "list[dict]", cases, samples: "list[dict] | None" = None) -> "list[dict]":
    """Every row to record: data prompts (each response on every instruction of its prompt, so
    prompt-level agreement can be measured), the repo's model responses to them (``samples``)
    and the families' extra kwargs."""
    rows, first_prompt = [], {}
    for item in data:
        pairs = [(iid, _clean(kw)) for iid, kw in zip(item["instruction_id_list"], item["kwargs"])]
        for iid, _ in pairs:
            first_prompt.setdefault(iid, item["prompt"])
        for n, (source, response) in enumerate(_responses(cases, pairs, item["prompt"])):
            for index, (iid, kwargs) in enumerate(pairs):
                rows.append({"origin": "data", "key": item["key"], "response_n": n, "index": index,
                             "id": iid, "kwargs": kwargs, "source": source, "response": response})
    rows += _model_rows(data, samples or [])
    for iid in sorted(cases.extra_kwargs):
        prompt = first_prompt.get(iid, "")
        for extra in cases.extra_kwargs[iid]:
            for source, response in _responses(cases, [(iid, dict(extra))], prompt):
                rows.append({"origin": "extra", "key": None, "response_n": None, "index": 0,
                             "id": iid, "kwargs": dict(extra), "source": source, "response": response})
    return rows


def record(rows: "list[dict]", registry) -> "dict[str, float]":
    """Fill each row's official verdicts (memoised on the case: edges repeat across prompts);
    return the seconds spent per id."""
    memo: dict = {}
    spent: dict[str, float] = {}
    for row in rows:
        start = time.perf_counter()
        row["case"] = case_id(row["id"], row["kwargs"], row["response"])
        if row["id"] not in registry:
            row["strict"] = row["loose"] = "unknown-id"
            continue
        if row["case"] not in memo:
            memo[row["case"]] = official_verdicts(registry, row["id"], row["kwargs"], row["response"])
        row.update(memo[row["case"]])
        spent[row["id"]] = spent.get(row["id"], 0.0) + time.perf_counter() - start
    return spent


# --- the fixture file ---


def _versions() -> dict:
    from importlib import metadata

    names = ("nltk", "emoji", "syllapy", "langdetect", "immutabledict", "regex", "if-verifiable")
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _tagger() -> bool:
    import nltk

    try:
        nltk.data.find("taggers/averaged_perceptron_tagger_eng")
        return True
    except LookupError:
        return False


def write_fixture(out: Path, rows: "list[dict]", data_path: Path, problems: "list[str]",
                  harness: "dict | None") -> None:
    """Header line, then one line per unique response text, then one line per row."""
    texts: dict[str, int] = {}
    for row in rows:
        texts.setdefault(row["response"], len(texts))
    header = {
        "fixture": "ifbench_reference",
        "source": f"allenai/IFBench at {COMMIT} (Apache-2.0): ifbench/instructions.py check_following, "
                  "run as evaluation_lib.py does (strict; loose = IFEval's 8 variants)",
        "data": f"{data_path.name} (allenai/IFBench, ODC-BY-1.0): kwargs only, no prompts",
        "model_responses": "origin=model rows: data/sample_output.jsonl of allenai/IFBench at "
                           f"{COMMIT} (Apache-2.0), the repo's own model responses",
        "made_by": "/work/venv-ifbench/bin/python benchmarks/ifbench_reference.py (venv: "
                   "benchmarks/ifbench_reference_setup.sh)",
        "versions": _versions(), "nltk_tagger": _tagger(),
        "nltk_data": "punkt_tab + stopwords from PyPI llama-index-core 0.14.25",
        "data_sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(),
        "rows": len(rows), "texts": len(texts), "case_problems": problems,
        "harness_vs_recorded_official_results": harness and {
            mode: f"{v['same']}/{v['total']}" for mode, v in harness.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # readers never see a half-written fixture
    with lzma.open(partial, "wt", encoding="utf-8", preset=9 | lzma.PRESET_EXTREME) as handle:
        handle.write(json.dumps(header, ensure_ascii=False) + "\n")
        for text, n in texts.items():
            handle.write(json.dumps({"text": n, "value": encode_text(text)}, ensure_ascii=False) + "\n")
        for row in rows:
            slim = {k: v for k, v in row.items() if k not in ("response", "prompt_text") and v is not None}
            slim["text"] = texts[row["response"]]
            handle.write(json.dumps(slim, ensure_ascii=False, sort_keys=True) + "\n")
    partial.replace(out)


def harness_check(rows: "list[dict]", folder: Path) -> "dict | None":
    """Our run of the official checker vs the repo's own recorded results on the same model
    responses (eval/eval_results_*.jsonl): any mismatch means this harness (NLTK data, versions,
    kwargs handling) is not the official evaluation. None when the files are absent."""
    report = {}
    for mode in ("strict", "loose"):
        path = folder / f"eval_results_{mode}.jsonl"
        if not path.is_file():
            return None
        recorded = {}
        for item in _read_data(path):
            recorded[item["prompt"]] = item["follow_instruction_list"]
            recorded.setdefault(item["prompt"].strip(), item["follow_instruction_list"])
        same, total, mismatches = 0, 0, []
        for row in rows:
            if row["origin"] != "model" or row.get("prompt_text") not in recorded:
                continue
            theirs = recorded[row["prompt_text"]][row["index"]]
            total += 1
            if row[mode] is theirs:
                same += 1
            else:
                mismatches.append(f"{row['key']} {row['id']}: ours {row[mode]} recorded {theirs}")
        report[mode] = {"same": same, "total": total, "mismatches": mismatches}
    return report


def _summary(rows: "list[dict]") -> str:
    ids = sorted({r["id"] for r in rows})
    crashes = sum(isinstance(r["strict"], str) for r in rows)
    passes = {i for r in rows for i in [r["id"]] if r["strict"] is True}
    fails = {i for r in rows for i in [r["id"]] if r["strict"] is False}
    lacking = [i for i in ids if i not in passes or i not in fails]
    return (f"{len(rows)} rows, {len(ids)} ids, {crashes} rows without an official strict verdict; "
            f"ids lacking an official strict pass or fail: {lacking}")


def main(argv: "list[str] | None" = None) -> int:
    """Build the cases, run the official checker, write the fixture; exit 1 on a missing input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=_REPO.parent / "shared" / "bench" / "ifbench" / "IFBench_test.jsonl")
    parser.add_argument("--out", type=Path, default=_REPO / "tests" / "fixtures" / "ifbench_reference.jsonl.xz")
    parser.add_argument("--only", default="",
                        help="comma-separated id prefixes (e.g. 'format:,repeat:') for a quick partial run")
    parser.add_argument("--sample-output", type=Path,
                        default=Path(sys.prefix) / "share" / "ifbench" / "sample_output.jsonl",
                        help="the repo's model responses (the setup script puts them here); skipped if absent")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"no IFBench data at {args.data}", file=sys.stderr)
        return 1
    try:
        registry = _import_official()
    except ImportError as exc:
        print(f"official checker not importable ({exc}); run benchmarks/ifbench_reference_setup.sh "
              "and use /work/venv-ifbench/bin/python", file=sys.stderr)
        return 1
    signal.signal(signal.SIGALRM, _alarm)
    cases = ifbench_cases.load()
    start = time.perf_counter()
    samples = _read_data(args.sample_output) if args.sample_output.is_file() else []
    rows = build_cases(_read_data(args.data), cases, samples)
    if args.only:
        rows = [row for row in rows if row["id"].startswith(tuple(args.only.split(",")))]
    spent = record(rows, registry)
    print("slowest ids (s):", ", ".join(f"{k} {v:.0f}" for k, v in sorted(spent.items(), key=lambda kv: -kv[1])[:6]))
    harness = harness_check(rows, args.sample_output.parent)
    write_fixture(args.out, rows, args.data, cases.problems, harness)
    print(_summary(rows))
    for mode, verdict in (harness or {}).items():
        print(f"harness vs the repo's recorded {mode} results: {verdict['same']}/{verdict['total']}",
              *verdict["mismatches"][:20], sep="\n  ")
    for problem in cases.problems:
        print("case problem:", problem)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
