"""Readers for pairwise preference sets: LLMBar, PandaLM, JudgeBench (original and OpenRS forms), OpenRS.

Each reader only maps native fields to an :class:`EvalItem`; validation, skip records and
duplicate ids go through :func:`common.collect`.
"""
from __future__ import annotations

from collections import Counter
from itertools import chain
from pathlib import Path

from ..items import EvalItem
from .common import BadRow, choice, collect, need, numbered, read_numbered, read_rows, reference, text
from .jsonrows import RowError, parse_row

__all__ = ["read_llmbar", "read_pandalm", "read_judgebench", "read_openrs",
           "pandalm_baselines", "judgebench_category", "detect_llmbar", "detect_pandalm",
           "detect_judgebench", "detect_openrs"]

# LLMBar / PandaLM label text -> index of the better candidate (None = tie)
_LLMBAR_LABELS = {"1": 0, "2": 1}
_PANDALM_LABELS = {"1": 0, "2": 1, "0": None}


# -- LLMBar -------------------------------------------------------------------------------
def read_llmbar(path: Path):
    """LLMBar ``[{input, output_1, output_2, label}]``; a directory reads every ``*.json``,
    each file a subset named by its stem (Natural, Adversarial_Neighbor, ...)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    return collect(chain.from_iterable(numbered(file, read_numbered(file)) for file in files), _llmbar_row)


def _llmbar_row(row: dict, ref: str) -> EvalItem:
    need(row, "input", "output_1", "output_2", "label")
    label = choice(row["label"], _LLMBAR_LABELS, "label")
    file, number = ref.rsplit(":", 1)
    subset = Path(file).stem
    return EvalItem(id=f"{subset}:{number}", subset=subset, kind="pair",
                    candidates=[text(row, "output_1"), text(row, "output_2")],
                    inputs={"prompt": text(row, "input")}, label=label)


def detect_llmbar(path: Path, rows: list) -> bool:
    """LLMBar rows have ``input``, ``output_1``, ``output_2`` and ``label``."""
    return bool(rows) and all(isinstance(r, dict) and {"output_1", "output_2", "label"} <= set(r) for r in rows)


# -- PandaLM ------------------------------------------------------------------------------
def read_pandalm(path: Path):
    """PandaLM ``testset-v1.json``: three annotators voting "1", "2" or "0" (tie); the label is
    the majority. Rows with no majority (one vote each) are skipped with that reason."""
    return collect(numbered(path, read_numbered(path)), _pandalm_row)


def _pandalm_row(row: dict, ref: str) -> EvalItem:
    need(row, "idx", "instruction", "response1", "response2", "annotator1", "annotator2", "annotator3")
    votes = [choice(row[f"annotator{k}"], _PANDALM_LABELS, f"annotator{k}") for k in (1, 2, 3)]
    label = _majority(votes, [row[f"annotator{k}"] for k in (1, 2, 3)])
    prompt = text(row, "instruction")
    if row.get("input"):
        prompt += "\n\n" + text(row, "input")
    return EvalItem(id=str(row["idx"]), subset="tie" if label is None else "preference", kind="pair",
                    candidates=[text(row, "response1"), text(row, "response2")],
                    inputs={"prompt": prompt}, label=label,
                    hidden={"votes": votes, "cmp_key": row.get("cmp_key")})


def _majority(votes: list, raw: list):
    (label, count), = Counter(votes).most_common(1)
    if count < 2:
        raise BadRow(f"no majority among annotators {raw} (1 = first better, 2 = second, 0 = tie)")
    return label


def detect_pandalm(path: Path, rows: list) -> bool:
    """PandaLM rows carry ``annotator1..3`` and ``response1/2``."""
    return bool(rows) and all(isinstance(r, dict) and {"annotator1", "response1"} <= set(r) for r in rows)


# Verdict files shipped beside the PandaLM test set: file name -> verdict field.
_PANDALM_BASELINES = {
    "gpt-3.5-turbo": ("gpt-3.5-turbo-testset-v1.json", "gpt_result"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json", "pandalm_result"),
}
_VERDICTS = {"1": 0, "2": 1, "0": None, "tie": None}


def pandalm_baselines(path: Path, items: list) -> dict:
    """Agreement of the shipped GPT-3.5 and PandaLM-7B verdicts with the human majority, on
    the same items; verdicts that are neither 1, 2 nor tie ("garbage") count as wrong."""
    out = {}
    for name, (file, key) in _PANDALM_BASELINES.items():
        verdict_path = path.parent / file
        if verdict_path.exists():
            verdicts = {str(r.get("idx")): r.get(key) for r in read_rows(verdict_path) if isinstance(r, dict)}
            out[name] = _agreement(items, verdicts)
    return out


def _agreement(items: list, verdicts: dict) -> dict:
    correct = invalid = missing = 0
    for item in items:
        raw = verdicts.get(item.id)
        if raw is None:
            missing += 1
            continue
        key = str(raw).strip().lower()
        if key not in _VERDICTS:
            invalid += 1
            continue
        correct += _VERDICTS[key] == item.label
    n = len(items) - missing
    return {"accuracy": correct / n if n else None, "n": n, "correct": correct,
            "invalid_verdicts": invalid, "missing": missing}


# -- JudgeBench (OpenRS form) and generic OpenRS ------------------------------------------
# JudgeBench's four categories, from the source benchmark of each pair
_JUDGEBENCH_CATEGORIES = (("mmlu-pro", "knowledge"), ("livebench-reasoning", "reasoning"),
                          ("livebench-math", "math"), ("livecodebench", "coding"))


def judgebench_category(query_type: str) -> str:
    """JudgeBench category (knowledge / reasoning / math / coding) of an OpenRS ``query_type``."""
    for prefix, category in _JUDGEBENCH_CATEGORIES:
        if query_type.startswith(prefix):
            return category
    return query_type


def read_judgebench(path: Path):
    """JudgeBench in either published form, row by row:

    - the original (ScalerLab/JudgeBench, ``data/dataset=judgebench,response_model=<model>.jsonl``):
      ``pair_id``, ``original_id``, ``source``, ``question``, ``response_model``, ``response_A``,
      ``response_B``, ``label`` (``"A>B"`` or ``"B>A"``); the candidates keep the file's order;
    - as recast by OpenRS: ``prompt``/``chosen``/``rejected`` + ``ground_truth`` (passed as the
      ``reference`` input; a list of answers as such: any of them is correct, see
      :func:`common.reference`).

    Nothing else reaches the skill: no label, no ``order``, no source model, no ids. Subsets are
    JudgeBench's categories (from ``source`` / ``query_type``)."""
    openrs = _openrs_row(judgebench=True)
    return collect(numbered(path, read_numbered(path)),
                   lambda row, ref: _judgebench_row(row, ref) if _is_original_judgebench(row) else openrs(row, ref))


_JUDGEBENCH_LABELS = {"A>B": 0, "B>A": 1}


def _is_original_judgebench(row) -> bool:
    return isinstance(row, dict) and "response_A" in row


def _judgebench_row(row: dict, ref: str) -> EvalItem:
    need(row, "pair_id", "source", "question", "response_A", "response_B", "label")
    return EvalItem(id=text(row, "pair_id"), subset=judgebench_category(text(row, "source")), kind="pair",
                    candidates=[text(row, "response_A"), text(row, "response_B")],
                    inputs={"prompt": text(row, "question")}, label=choice(row["label"], _JUDGEBENCH_LABELS, "label"),
                    hidden={k: row[k] for k in ("original_id", "response_model", "source") if k in row})


def read_openrs(path: Path):
    """Generic OpenRS ``prompt``/``chosen``/``rejected`` JSONL; optional ``id``, ``subset``,
    ``ground_truth`` or ``reference`` (-> reference input), ``check_list`` (-> checklist)."""
    return collect(numbered(path, read_numbered(path)), _openrs_row(judgebench=False))


def _openrs_row(judgebench: bool):
    def convert(row: dict, ref: str) -> EvalItem:
        need(row, "prompt", "chosen", "rejected", *(["ground_truth", "query_type"] if judgebench else []))
        inputs = {"prompt": text(row, "prompt")}
        field = "ground_truth" if "ground_truth" in row else "reference"
        if row.get(field) is not None:
            inputs["reference"] = reference(row, field)
        checklist = _checklist(row.get("check_list"))
        if checklist:
            inputs["checklist"] = checklist
        return EvalItem(id=_openrs_id(row, ref), subset=_openrs_subset(row, judgebench), kind="pair",
                        candidates=[text(row, "chosen"), text(row, "rejected")], inputs=inputs, label=0,
                        hidden={k: row[k] for k in ("original_id", "response_model", "order") if k in row})
    return convert


def _openrs_id(row: dict, ref: str) -> str:
    for key in ("question_id", "id"):
        if row.get(key) is not None:
            return str(row[key])
    return ref


def _openrs_subset(row: dict, judgebench: bool) -> str:
    if judgebench:
        return judgebench_category(text(row, "query_type"))
    return str(row.get("subset") or row.get("query_type") or "all")


def _checklist(raw) -> list:
    if raw in (None, "", "[]", []):
        return []
    if isinstance(raw, str):  # JSON text inside the row: read with the rows' own limits
        try:
            raw = parse_row(raw)
        except RowError as exc:
            raise BadRow(f"field 'check_list' is neither a list nor a JSON list ({exc})") from None
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise BadRow("field 'check_list' should be a list of text")
    return raw


def detect_judgebench(path: Path, rows: list) -> bool:
    """JudgeBench rows: the original's ``pair_id``/``response_A``/``response_B``/``label``, or
    OpenRS's chosen/rejected with ``ground_truth`` and ``query_type``."""
    forms = ({"pair_id", "response_A", "response_B", "label"}, {"chosen", "rejected", "ground_truth", "query_type"})
    return bool(rows) and all(isinstance(r, dict) and any(form <= set(r) for form in forms) for r in rows)


def detect_openrs(path: Path, rows: list) -> bool:
    """Any rows with text ``prompt``, ``chosen`` and ``rejected``."""
    return bool(rows) and all(isinstance(r, dict) and isinstance(r.get("chosen"), str)
                              and isinstance(r.get("rejected"), str) and "prompt" in r for r in rows)
