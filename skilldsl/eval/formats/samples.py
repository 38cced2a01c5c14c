"""Pointwise sample sets for ``skilldsl score``: native benchmark files -> one sample per line.

``skilldsl eval`` reads benchmarks as items to compare; these converters instead write the
samples a pointwise skill scores, with the ground truth beside them (``is_correct``) and an
``id`` that ``skilldsl score`` copies into each result line, so results join with labels.
Fields a skill does not declare are ignored by the runtime.

Every converter goes through the readers' shared row validation (:func:`common.collect`): a
bad row is skipped with its reason (``file:line``), never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ...data import json_text
from ..items import EvalError, UsageError
from .common import BadRow, collect, need, numbered, read_numbered, read_rows, skips_within, text, text_list
from .lists import GSM8K_SOLVERS, graded_solution, gsm8k_reference, gsm8k_sources

__all__ = ["SampleFormat", "SAMPLE_FORMATS", "RESPONSES", "convert_samples", "write_samples",
           "convert_gsm8k_solutions", "convert_ifeval", "convert_ifbench", "convert_humaneval"]


def _sample_id(sample: dict):
    return sample["id"]


# -- GSM8K graded solutions -----------------------------------------------------------------
def convert_gsm8k_solutions(path: Path):
    """GSM8K's ``example_model_solutions.jsonl`` (or its directory): one sample per graded
    solution, ``{id: "<line>:<solver>", prompt, response, reference, is_correct}``; the
    reference is the gold final answer from ``test.jsonl`` beside it (else ``ground_truth``)."""
    solutions, gold = gsm8k_sources(path)
    rows = _per_solver(numbered(solutions, read_numbered(solutions)))
    return collect(rows, _gsm8k_sample(gold), key=_sample_id)


def _per_solver(rows: Iterable[tuple[str, dict]]) -> Iterable[tuple[str, dict]]:
    """One ``(file:line:solver, row + solver)`` per solver; a row that is not an object (or did
    not parse) passes once, unchanged, to be skipped with its reason."""
    for ref, row in rows:
        if not isinstance(row, dict):
            yield ref, row
            continue
        for solver in GSM8K_SOLVERS:
            yield f"{ref}:{solver}", {**row, "_solver": solver}


def _gsm8k_sample(gold: dict) -> Callable[[dict, str], dict]:
    def convert(row: dict, ref: str) -> dict:
        need(row, "question")
        solver = row["_solver"]
        solution, is_correct = graded_solution(row.get(solver), solver)
        line = ref.split(":")[1]
        return {"id": f"{line}:{solver}", "prompt": text(row, "question"), "response": solution,
                "reference": gsm8k_reference(row, gold), "is_correct": is_correct}
    return convert


# -- IFEval -----------------------------------------------------------------------------------
def convert_ifeval(path: Path, responses: "Path | str | None" = None):
    """IFEval's ``input_data.jsonl`` (or its directory) joined with a responses file
    (``{prompt, response}`` rows; default: the one ``input_response_data_*.jsonl`` beside it):
    ``{id: key, prompt, response, instruction_id_list, kwargs}``.

    Responses join on the prompt text. A prompt with no exact match takes the response on the
    same line when both files have as many rows (GPT-4's file words one prompt differently:
    input key 2785, "Shinto shrines"); otherwise the row is skipped.
    """
    inputs = path / "input_data.jsonl" if path.is_dir() else path
    answers_path = Path(responses) if responses else _responses_beside(inputs)
    if not answers_path.is_file():
        raise EvalError(f"{answers_path}: no such responses file")
    answers = read_rows(answers_path)
    rows = read_numbered(inputs)
    # the n-th response pairs with the n-th prompt row, whatever line either is on
    by_line = {number: answer for (number, _), answer in zip(rows, answers)} if len(answers) == len(rows) else None
    by_prompt = _by_prompt(answers)
    sample = _ifeval_sample(lambda prompt, ref: _response(prompt, ref, by_prompt, by_line))
    return collect(numbered(inputs, rows), sample, key=_sample_id)


def _responses_beside(inputs: Path) -> Path:
    found = sorted(inputs.parent.glob("input_response_data_*.jsonl"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise EvalError(f"{inputs.parent}: {what} input_response_data_*.jsonl files; name one with --responses FILE")
    return found[0]


def _by_prompt(answers: list) -> dict:
    return {r["prompt"]: r["response"] for r in answers
            if isinstance(r, dict) and isinstance(r.get("prompt"), str) and isinstance(r.get("response"), str)}


def _ifeval_sample(response_for: Callable[[str, str], str]) -> Callable[[dict, str], dict]:
    """IFEval's row layout (IFBench's too); ``response_for(prompt, ref)`` finds the response or
    raises BadRow."""
    def convert(row: dict, ref: str) -> dict:
        need(row, "key", "prompt", "instruction_id_list", "kwargs")
        ids, kwargs = text_list(row, "instruction_id_list"), row["kwargs"]
        if not isinstance(kwargs, list) or len(kwargs) != len(ids) or not all(isinstance(k, dict) for k in kwargs):
            raise BadRow(f"field 'kwargs' should be {len(ids)} objects, one per instruction id")
        prompt = text(row, "prompt")
        return {"id": str(row["key"]), "prompt": prompt, "response": response_for(prompt, ref),
                "instruction_id_list": ids, "kwargs": kwargs}
    return convert


def _response(prompt: str, ref: str, by_prompt: dict, by_line: "dict | None") -> str:
    if prompt in by_prompt:
        return by_prompt[prompt]
    same_line = by_line.get(int(ref.rsplit(":", 1)[1])) if by_line is not None else None
    if not isinstance(same_line, dict) or not isinstance(same_line.get("response"), str):
        raise BadRow("no response for this prompt in the responses file")
    return same_line["response"]


# -- IFBench ----------------------------------------------------------------------------------
def convert_ifbench(path: Path, responses: "Path | str | None" = None):
    """IFBench's ``IFBench_test.jsonl`` (or its directory) joined with a ``{prompt, response}``
    responses file (IFBench's ``data/sample_output.jsonl`` shape; default: ``sample_output.jsonl``
    beside it): ``{id: key, prompt, response, instruction_id_list, kwargs}``, kwargs as given
    (a null key is an unused argument).

    Responses join on the prompt text, else on the prompt stripped of surrounding whitespace, as
    IFBench's ``evaluation_lib`` joins them; a prompt with no response is skipped with the reason.
    """
    inputs = path / "IFBench_test.jsonl" if path.is_dir() else path
    answers_path = Path(responses) if responses else inputs.parent / "sample_output.jsonl"
    if not answers_path.is_file():
        raise EvalError(f"{answers_path}: no such responses file; name one with --responses FILE")
    answers = _by_prompt(read_rows(answers_path))
    answers.update({prompt.strip(): response for prompt, response in answers.items() if prompt.strip() not in answers})
    sample = _ifeval_sample(lambda prompt, ref: _response(prompt if prompt in answers else prompt.strip(), ref,
                                                          answers, None))
    return collect(numbered(inputs, read_numbered(inputs)), sample, key=_sample_id)


# -- HumanEval --------------------------------------------------------------------------------
RESPONSES = ("canonical", "empty")


def convert_humaneval(path: Path, response: str = "canonical"):
    """HumanEval's ``HumanEval.jsonl.gz`` (or its directory; plain ``.jsonl`` too):
    ``{id: task_id, prompt, response, test, entry_point}``, the response being the canonical
    solution (``canonical``: every test should pass) or nothing (``empty``: every test should fail)."""
    if response not in RESPONSES:
        raise UsageError(f"--response must be one of {', '.join(RESPONSES)}, not {response!r}")
    source = path / "HumanEval.jsonl.gz" if path.is_dir() else path
    return collect(numbered(source, read_numbered(source)), _humaneval_sample(response), key=_sample_id)


def _humaneval_sample(response: str) -> Callable[[dict, str], dict]:
    def convert(row: dict, ref: str) -> dict:
        canonical = response == "canonical"
        need(row, "task_id", "prompt", "test", "entry_point", *(["canonical_solution"] if canonical else []))
        body = text(row, "canonical_solution") if canonical else ""
        return {"id": text(row, "task_id"), "prompt": text(row, "prompt"), "response": body,
                "test": text(row, "test"), "entry_point": text(row, "entry_point")}
    return convert


# -- the registry -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleFormat:
    """A convertible sample set: its converter, the fields it writes and its options."""

    name: str
    about: str
    convert: Callable
    fields: tuple
    options: tuple = ()  # keyword arguments of ``convert`` the CLI may pass


SAMPLE_FORMATS = {f.name: f for f in (
    SampleFormat("gsm8k-solutions", "GSM8K graded model solutions (for math_answer)", convert_gsm8k_solutions,
                 ("id", "prompt", "response", "reference", "is_correct")),
    SampleFormat("ifeval", "IFEval prompts + a responses file (for instruction_following)", convert_ifeval,
                 ("id", "prompt", "response", "instruction_id_list", "kwargs"), ("responses",)),
    SampleFormat("ifbench", "IFBench prompts + a responses file (for instruction_following)", convert_ifbench,
                 ("id", "prompt", "response", "instruction_id_list", "kwargs"), ("responses",)),
    SampleFormat("humaneval", "HumanEval problems, canonical or empty responses (for code_tests)",
                 convert_humaneval, ("id", "prompt", "response", "test", "entry_point"), ("response",)),
)}


def convert_samples(fmt: str, path, limit: "int | None" = None, **options):
    """``(samples, skipped)`` of the native file ``path`` in sample format ``fmt``; with
    ``limit``, the first ``limit`` samples and the rows skipped before the last of them."""
    if fmt not in SAMPLE_FORMATS:
        raise UsageError(f"unknown sample format {fmt!r}; known: {', '.join(SAMPLE_FORMATS)}")
    spec, path = SAMPLE_FORMATS[fmt], Path(path)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise UsageError(f"format {fmt} takes no option {', '.join(unknown)}")
    if not path.exists():
        raise EvalError(f"{path}: no such file or directory")
    try:
        samples, skipped = spec.convert(path, **options)
    except (OSError, UnicodeDecodeError) as exc:  # a directory without the file ...
        raise EvalError(f"{path}: cannot read {fmt} data: {exc}") from None
    if limit is not None and limit < len(samples):
        samples, skipped = samples[:limit], skips_within(skipped, limit)
    return samples, skipped


def write_samples(samples: Iterable[dict], out) -> int:
    """Write ``samples`` as JSON lines to the text stream ``out``; the number written."""
    count = 0
    for sample in samples:
        out.write(json_text(sample) + "\n")
        count += 1
    return count
