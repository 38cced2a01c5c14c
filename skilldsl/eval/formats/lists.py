"""Readers for multi-candidate sets: RM-Bench, RewardBench 2, GSM8K best-of-N, candidates.

Chosen candidates come first in ``EvalItem.candidates`` (``num_correct`` of them); that
order never reaches the judge (see ``runner``), it only tells the scorer which is which.
"""
from __future__ import annotations

import ast
from itertools import chain
from pathlib import Path

from ...verifiers.math import final_answer  # one reading of final answers: the verifiers'
from ..benchmarks import RB2_SUBSETS, rmbench_domain
from ..items import EvalItem
from .common import BadRow, collect, need, numbered, read_numbered, read_rows, reference, text, text_list

__all__ = ["read_rmbench", "read_rewardbench2", "read_gsm8k_bon", "read_candidates", "final_answer",
           "GSM8K_SOLVERS", "gsm8k_sources", "gsm8k_reference", "graded_solution",
           "detect_rmbench", "detect_rewardbench2", "detect_gsm8k_bon", "detect_candidates", "rmbench_files",
           "near_formats"]


# -- RM-Bench -----------------------------------------------------------------------------
# How THU-KEG/RM-Bench publishes it: data/{chat,code,math,safety-refuse,safety-response}_filtered.json
# (rows without a domain: the file's name is it) and data/total_dataset.json (every row has one).
RMBENCH_FILE_SUFFIX = "_filtered"


def read_rmbench(path: Path):
    """RM-Bench ``{id, prompt, chosen[3], rejected[3], domain?, subset?, ...}``; styles in the
    official order concise, detailed plain, detailed markdown. A row's domain is its ``domain``
    field, else its file's (``chat_filtered.json`` -> chat); a directory reads the per-domain
    ``*_filtered.json`` files when it has them, else every ``*.json`` (``total_dataset.json``).
    Ids repeat across domains: an item is ``<domain>:<id>``. Subsets are the official domains
    (chat, math, code, safety)."""
    return collect(chain.from_iterable(numbered(file, read_numbered(file)) for file in rmbench_files(path)),
                   _rmbench_row)


def rmbench_files(path: Path) -> list:
    """The files of an RM-Bench path: itself, or a directory's per-domain files (else its JSON files)."""
    if not path.is_dir():
        return [path]
    per_domain = sorted(path.glob(f"*{RMBENCH_FILE_SUFFIX}.json"))
    return per_domain or sorted(path.glob("*.json"))


def _file_domain(ref: str) -> "str | None":
    stem = Path(ref.rsplit(":", 1)[0]).stem
    return stem[: -len(RMBENCH_FILE_SUFFIX)] if stem.endswith(RMBENCH_FILE_SUFFIX) else None


def _rmbench_row(row: dict, ref: str) -> EvalItem:
    need(row, "id", "prompt", "chosen", "rejected")
    domain = text(row, "domain") if row.get("domain") is not None else _file_domain(ref)
    if domain is None:
        raise BadRow("no field 'domain', and the file's name (not <domain>_filtered.json) names none")
    chosen, rejected = text_list(row, "chosen", 3), text_list(row, "rejected", 3)
    hidden = {"domain": domain, "id": row["id"]}
    hidden.update({k: row[k] for k in ("subset", "language", "task_id", "error_key", "error") if k in row})
    return EvalItem(id=f"{domain}:{row['id']}", subset=rmbench_domain(domain), kind="matrix",
                    candidates=chosen + rejected, inputs={"prompt": text(row, "prompt")},
                    num_correct=3, hidden=hidden)


def detect_rmbench(path: Path, rows: list) -> bool:
    """RM-Bench rows: three chosen and three rejected texts and none of RewardBench 2's counts
    (``num_correct``...), which mark its rows whatever their shape."""
    return bool(rows) and all(_three_by_three(r) and not _RB2_FIELDS & set(r) for r in rows)


def _three_by_three(row) -> bool:
    return (isinstance(row, dict) and isinstance(row.get("chosen"), list) and isinstance(row.get("rejected"), list)
            and len(row["chosen"]) == len(row["rejected"]) == 3)


# -- RewardBench 2 ------------------------------------------------------------------------
# fields only RewardBench 2's rows carry (allenai/reward-bench-2's dataset card)
_RB2_FIELDS = frozenset({"num_correct", "num_incorrect", "total_completions", "models", "additional_metadata"})


def read_rewardbench2(path: Path):
    """RewardBench 2 ``{id, prompt, chosen[], rejected[], subset, num_correct?, ...}``. Ids
    repeat across subsets: an item is ``<subset>:<id>``. Ties rows need ids ``ref:<n>`` or
    ``tied:<n>`` (the official formula pairs them by ``n``)."""
    return collect(numbered(path, read_numbered(path)), _rb2_row)


def _rb2_row(row: dict, ref: str) -> EvalItem:
    need(row, "id", "prompt", "chosen", "rejected", "subset")
    chosen, rejected = text_list(row, "chosen"), text_list(row, "rejected")
    subset, row_id = text(row, "subset"), text(row, "id")
    declared = row.get("num_correct")
    if declared is not None and declared != len(chosen):
        raise BadRow(f"num_correct {declared} but {len(chosen)} chosen completions")
    if subset.lower() == "ties" and row_id.partition(":")[0] not in ("ref", "tied"):
        raise BadRow(f"Ties row id {row_id!r} is not 'ref:<n>' or 'tied:<n>'")
    inputs = {"prompt": text(row, "prompt")}
    inputs.update(_rb2_constraints(row.get("additional_metadata")))
    return EvalItem(id=f"{subset}:{row_id}", subset=subset, kind="bestof", candidates=chosen + rejected,
                    inputs=inputs, num_correct=len(chosen), hidden={"id": row_id})


def _rb2_constraints(metadata) -> dict:
    """A Precise IF row's constraint ids (``additional_metadata.instruction_id_list``) as the
    ``instruction_id_list`` input (the published rows carry no kwargs); nothing for other rows.
    Nothing else of the metadata reaches the skill (its ``correct`` and ``label`` are answers)."""
    if not isinstance(metadata, dict) or not metadata.get("instruction_id_list"):
        return {}
    ids = metadata["instruction_id_list"]
    ids = [ids] if isinstance(ids, str) else ids
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRow("additional_metadata.instruction_id_list should be text or a list of text")
    return {"instruction_id_list": ids}


def detect_rewardbench2(path: Path, rows: list) -> bool:
    """RewardBench 2 rows: list-valued chosen/rejected, a ``subset``, and RewardBench 2's own
    fields (``num_correct``, ``total_completions``...) or one of its subsets with a text id."""
    return bool(rows) and all(
        isinstance(r, dict) and "subset" in r and isinstance(r.get("rejected"), list)
        and (bool(_RB2_FIELDS & set(r)) or r.get("subset") in RB2_SUBSETS and isinstance(r.get("id"), str))
        for r in rows)


def near_formats(rows: list) -> "str | None":
    """For a refusal to guess: which multi-candidate formats the rows resemble, and why none fits."""
    if rows and all(isinstance(r, dict) and isinstance(r.get("chosen"), list) for r in rows):
        return ("the rows have list-valued chosen/rejected like RM-Bench and RewardBench 2, but neither "
                "RM-Bench's shape (3 chosen x 3 rejected texts) nor RewardBench 2's fields (num_correct, "
                "num_incorrect, total_completions, models, additional_metadata, or one of its subsets with a "
                "text id)")
    return None


# -- GSM8K best-of-N ----------------------------------------------------------------------
GSM8K_SOLVERS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def read_gsm8k_bon(path: Path):
    """GSM8K best-of-4: ``example_model_solutions.jsonl`` (four graded solutions per problem),
    with the gold answer from ``test.jsonl`` beside it (``#### N``) or its own ``ground_truth``.
    A directory means both files in it. The gold answer is the ``reference`` input."""
    solutions, gold = gsm8k_sources(path)
    return collect(numbered(solutions, read_numbered(solutions)), _gsm8k_row(gold))


def gsm8k_sources(path: Path) -> tuple:
    """``(graded solutions file, {question: gold answer})`` for a GSM8K directory, its
    ``test.jsonl`` or its ``example_model_solutions.jsonl`` (gold from ``test.jsonl`` beside it)."""
    if path.name == "test.jsonl":  # the problems file: its graded solutions sit beside it
        path = path.parent
    solutions = path / "example_model_solutions.jsonl" if path.is_dir() else path
    return solutions, _gold_answers(solutions.parent / "test.jsonl")


def _gold_answers(test_path: Path) -> dict:
    if not test_path.exists():
        return {}
    return {r.get("question"): final_answer(r.get("answer", "")) for r in read_rows(test_path) if isinstance(r, dict)}


def _gsm8k_row(gold: dict):
    def convert(row: dict, ref: str) -> EvalItem:
        need(row, "question", *GSM8K_SOLVERS)
        graded = [graded_solution(row[name], name) for name in GSM8K_SOLVERS]
        reference = gsm8k_reference(row, gold)
        candidates = [s for s, _ in graded]
        return EvalItem(id=ref.rsplit(":", 1)[1], subset="gsm8k", kind="bon", candidates=candidates,
                        inputs={"prompt": text(row, "question"), "reference": reference},
                        hidden={"correct": [ok for _, ok in graded], "solvers": list(GSM8K_SOLVERS)})
    return convert


def gsm8k_reference(row: dict, gold: dict) -> str:
    """A problem's gold final answer: from ``test.jsonl`` (``gold``), else the row's ``ground_truth``."""
    reference = gold.get(row["question"]) or final_answer(row.get("ground_truth") or "")
    if reference is None:
        raise BadRow("no gold answer (not in test.jsonl, no ground_truth)")
    return reference


def graded_solution(raw, name: str) -> tuple:
    """``(solution text, is_correct)`` of one solver's field ``{is_correct, solution}``."""
    if isinstance(raw, str):  # some copies store the dict as a Python literal
        try:
            raw = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):  # the parser's own limits, too
            raise BadRow(f"field {name!r} is not a solution object") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("solution"), str) or not isinstance(raw.get("is_correct"), bool):
        raise BadRow(f"field {name!r} should be {{is_correct: bool, solution: text}}")
    return raw["solution"], raw["is_correct"]


def detect_gsm8k_bon(path: Path, rows: list) -> bool:
    """The GSM8K graded-solutions file (or a directory holding it)."""
    if path.is_dir() or path.name == "test.jsonl":
        return ((path if path.is_dir() else path.parent) / "example_model_solutions.jsonl").exists()
    return bool(rows) and all(isinstance(r, dict) and "question" in r and GSM8K_SOLVERS[0] in r for r in rows)


# -- candidates (skilldsl rank) -----------------------------------------------------------
def read_candidates(path: Path, field: str = "candidates"):
    """``{prompt, <field>[], id?, reference?, correct?[], ...}`` rows: best-of-N to rank. ``field``
    names the list (``skilldsl rank`` passes a listwise skill's ``candidates:`` input, so the rows
    are the samples ``score`` reads); other fields reach the skill if it declares them. With a
    ``correct`` list (one bool per candidate) the selection is graded like GSM8K."""
    return collect(numbered(path, read_numbered(path)), lambda row, ref: _candidates_row(row, ref, field))


_NOT_INPUTS = ("id", "subset", "correct")


def _candidates_row(row: dict, ref: str, field: str) -> EvalItem:
    need(row, "prompt", field)
    candidates = text_list(row, field)
    inputs = {k: v for k, v in row.items() if k not in _NOT_INPUTS and k != field}
    inputs["prompt"] = text(row, "prompt")
    if row.get("reference") is not None:
        inputs["reference"] = reference(row, "reference")
    hidden, kind = {}, "rank"
    if row.get("correct") is not None:
        hidden["correct"], kind = _grades(row["correct"], len(candidates)), "bon"
    rid = str(row["id"]) if row.get("id") is not None else ref.rsplit(":", 1)[1]
    return EvalItem(id=rid, subset=str(row.get("subset") or "all"), kind=kind, candidates=candidates,
                    inputs=inputs, hidden=hidden)


def _grades(raw, size: int) -> list:
    if not isinstance(raw, list) or len(raw) != size or not all(isinstance(x, bool) for x in raw):
        raise BadRow(f"field 'correct' should be {size} booleans, one per candidate")
    return raw


def detect_candidates(path: Path, rows: list) -> bool:
    """Rows with ``prompt`` and a ``candidates`` list."""
    return bool(rows) and all(isinstance(r, dict) and isinstance(r.get("candidates"), list) for r in rows)
