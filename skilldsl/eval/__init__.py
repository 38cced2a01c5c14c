"""Reward benchmarks for skills: data-set readers, judging modes, metrics, tournaments, reports.

``run_eval(scorer, path)`` is ``skilldsl eval`` as a function; a scorer is anything with
``score(samples) -> results`` (a :class:`skilldsl.runtime.Skill`, or a test double with
``name``/``mode``/``inputs``/``reward_id``).
"""
from __future__ import annotations

from .formats import FORMATS, detect_format, read_dataset
from .items import Dataset, EvalError, EvalItem, Skipped, UsageError
from .judge import Judge, JudgeOptions, describe
from .report import write_report
from .session import EvalRun, run_eval

__all__ = ["FORMATS", "detect_format", "read_dataset", "Dataset", "EvalError", "UsageError", "EvalItem", "Skipped",
           "Judge", "JudgeOptions", "describe", "write_report", "EvalRun", "run_eval"]
