"""``skilldsl import skillrm``: a Skill-RM package -> a pairwise ``.skill`` (see docs/internals.md,
"Importing Skill-RM packages", for the mapping table).

Skill-RM runs a package as an agent that reads resources and runs tools on its own judgement;
here every resource is decided once, when the package is imported:

- prompt resources (rubrics, principles, calibration, aggregation, protocols) become ``files``
  shown in a judge's system prompt; those whose ``applies_to`` / ``benchmarks`` /
  ``inputs_required`` do not hold for every sample go to a judge of their own with that ``when``;
- runtime sample fields become inputs: the reference answer a ``reference``-visibility input
  that no prompt shows, checklists a visible list judged item by item;
- verifiers become ``check`` evidence where a registered verifier does the same (reference
  match, the instruction-following constraint helpers), scripts ``run`` evidence;
- ``cost`` orders the reward's ``first(...)``: hard evidence before judges, cheap before dear.

A resource that would show hidden labels (``leakage_level`` not ``*_visible``, or a setting
the package does not run in) never reaches a prompt. Whatever is not mapped is returned as a
:class:`Note` (the CLI prints it and the ``.skill`` lists it at its top), never dropped.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .skillrm_package import PREAMBLE, Package, PackageError, Resource, read_package

__all__ = ["Note", "Judge", "Mapping", "map_package", "import_package", "Cond", "holds", "render_cond",
           "one_line", "expr_string"]

VISIBLE_LEAKAGE = ("sample_visible", "benchmark_visible")
PAIRWISE_WORDS = ("pairwise", "forced_choice", "pairwise_reduction", "response_matrix")
OTHER_MODE_WORDS = ("listwise", "best_of_n", "pointwise")
PROCEDURE_FILE = "SKILL.procedure.md"  # written by the importer; a resource at this path is refused
COST_ORDER = {"free": 0, "low": 1, "medium": 2, "high": 3}
PROMPT_TYPES = ("rubric", "principle", "calibration", "aggregation", "tool_protocol", "verifier", "reference",
                "checklist", "metadata")

# applies_to words naming a sample field rather than a task: the resource applies when it is known
_APPLIES_INPUTS = {"reference": "reference", "checklist": "checklist"}
# inputs_required words -> the inputs that must be known (None: always there)
_REQUIRED = {
    "prompt": (), "visible_prompt": (), "candidate_responses": (), "sample": (),
    "benchmark_metadata": ("benchmark",), "visible_benchmark_metadata": ("benchmark",),
    "task_type": ("task",), "domain": ("domain",),
    "sample.reference": ("reference",), "sample.reference_or_ground_truth": ("reference",),
    "sample.checklist_or_constraints": ("checklist",), "visible_reference_or_checklist": ("reference", "checklist"),
}
# inputs_required words that exist by construction in a compiled judge (the verdict being made,
# evidence gathered) or describe the visible text itself: they add no condition
_NO_CONDITION = ("provisional_verdict", "final_verdict", "resource_outputs", "visible_tool_outputs",
                 "model_written_code", "visible_math_expression", "visible_code", "visible_tests", "visible_claims")

INPUT_SPECS = {
    "benchmark": '{type: text, optional: true, about: "the benchmark\'s name (Skill-RM sample.task_metadata)"}',
    "task": '{type: text, optional: true, about: TASKS}',
    "domain": '{type: text, optional: true, about: "the sample\'s domain (Skill-RM inputs_required: domain)"}',
    "reference": ('{type: text, optional: true, visibility: reference, about: "the visible reference or ground '
                  'truth (Skill-RM sample.reference_or_ground_truth); verifiers read it, no prompt shows it"}'),
    "checklist": '{type: list, optional: true, about: "visible checklist or constraint items, judged one by one"}',
    "instruction_id_list": '{type: list, optional: true, about: "IFEval / IFBench instruction ids the responses must follow"}',
    "kwargs": '{type: json, optional: true, about: "one argument mapping per instruction id"}',
}

# constraint_tools.py helpers (Skill-RM's instruction_following package) and the registered
# verifier doing the same check: a script whose helpers are mostly here is that checker
CONSTRAINT_HELPERS = {
    "word_count": "format.length(unit=words) / ifeval length_constraints:number_words",
    "sentence_count": "format.length(unit=sentences) / ifeval length_constraints:number_sentences",
    "paragraph_count": "format.length(unit=paragraphs) / ifeval length_constraints:number_paragraphs",
    "line_count": "format.length(unit=lines)",
    "char_count": "format.length(unit=characters)",
    "contains": "format.has(what=keyword:...) / ifeval keywords:existence",
    "count_occurrences": "ifeval keywords:frequency, keywords:letter_frequency",
    "regex_search": "format.regex",
    "regex_count": "format.regex (presence)",
    "json_parse": "format.json / ifeval detectable_format:json_format",
    "json_has_keys": "format.json_schema (required keys)",
    "markdown_heading_count": "format.has(what=sections) / ifeval detectable_format:multiple_sections",
    "bullet_count": "format.has(what=bullets) / ifeval detectable_format:number_bullet_lists",
    "numbered_list_count": "format.has(what=bullets)",
    "code_block_count": "format.has(what=code)",
    "mostly_language_script": "format.language / ifeval language:response_language",
    "punctuation_count": "ifeval punctuation:no_comma",
}

# Cond: a conjunction of clauses, each a disjunction of atoms ("known", input) / ("eq", input, word)
Cond = tuple


@dataclass(frozen=True)
class Note:
    """Something of the package and what became of it (``mapped`` False: left out, with why)."""

    what: str
    reason: str
    mapped: bool = False


@dataclass
class Judge:
    """An ``ask`` comparing a and b: the base judge (``cond`` empty) or one for a resource group."""

    name: str
    cond: Cond
    files: list                    # file keys in its system prompt, in order
    shows: tuple = ()              # metadata inputs its user prompt shows
    cost: int = 1
    order: int = 0


@dataclass
class Mapping:
    """What a package maps to; :mod:`.skillrm_emit` writes it as a ``.skill``."""

    package: Package
    name: str
    labels: tuple = ("A", "B")                      # (A, Tie, B) when the package offers a tie
    inputs: dict = field(default_factory=dict)     # name -> spec (YAML flow text)
    files: dict = field(default_factory=dict)      # key -> (relative path, text)
    judges: list = field(default_factory=list)     # the chain, first applicable decides
    hard: list = field(default_factory=list)       # (cost, order, kind, data): checks and runs
    checklist: bool = False
    notes: list = field(default_factory=list)
    task_words: set = field(default_factory=set)

    def note(self, what: str, reason: str, mapped: bool = False) -> None:
        self.notes.append(Note(one_line(what), one_line(reason), mapped))

    def need(self, *names: str) -> None:
        """Declare inputs (in first-use order)."""
        for name in names:
            self.inputs.setdefault(name, INPUT_SPECS[name])


def import_package(directory, *, out_dir: str = ""):
    """Read and map the package at ``directory``: ``(skill_text, {relpath: text}, notes)``.
    ``out_dir`` is the folder, relative to the ``.skill``, its files are written to."""
    from .skillrm_emit import emit

    mapping = map_package(read_package(directory))
    return emit(mapping, out_dir or mapping.name)


def map_package(pkg: Package) -> Mapping:
    """Decide what every part of ``pkg`` becomes (see the module docstring)."""
    m = Mapping(package=pkg, name=_skill_name(pkg.name))
    _check_pairwise(pkg)
    _map_sections(m)
    for res in sorted(pkg.resources, key=lambda r: r.order):
        _map_resource(m, res)
    _map_scripts(m)
    for rel in pkg.extra_files:
        m.note(rel, "package documentation or a file no resource names: not judging content")
    _finish_judges(m)
    return m


def _skill_name(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    if not clean:
        raise PackageError(f"package name {name!r} has no letters or digits")
    return clean if clean[0].isalpha() else f"skillrm_{clean}"


def _check_pairwise(pkg: Package) -> None:
    """Skill-RM's judges compare responses; the importer writes pairwise skills only."""
    words = {w for r in pkg.resources for w in r.applies_to}
    text = " ".join(s.text for s in pkg.sections) + " " + pkg.description
    if words & set(PAIRWISE_WORDS) or re.search(r"\bpairwise\b", text, re.I):
        return
    raise PackageError(f"{pkg.root}: no resource applies to pairwise judging and SKILL.md does not mention it; "
                       "only pairwise packages can be imported")


# -- SKILL.md sections --------------------------------------------------------------------

_SECTION_REASONS = (
    (r"procedure|judg(e)?ment|how to judge", None),
    (r"output", "the verdict is a constrained choice (answer: choice(...)), not free JSON"),
    (r"tool|resource|harness", "the agent's tool protocol: the compiled plan decides which evidence runs"),
    (r"input", "the sample fields became inputs"),
    (r"leakage", "enforced by visibility: reference inputs never reach a prompt"),
)


def _map_sections(m: Mapping) -> None:
    """Judging procedures go to every judge's system prompt; the rest is the agent's controller."""
    procedure = [s for s in m.package.sections if _section_reason(s.title) is None]
    for s in m.package.sections:
        reason = _section_reason(s.title)
        if reason is not None:
            m.note(_section_label(s), reason)
    if procedure:
        text = "\n\n".join(f"## {s.title}\n\n{s.text}" for s in procedure) + "\n"
        m.files["procedure"] = (PROCEDURE_FILE, text)
        m.note("SKILL.md " + ", ".join(f"'## {s.title}'" for s in procedure),
               f"files.procedure ({PROCEDURE_FILE}), in every judge's system prompt", mapped=True)
    _labels_from(m, "\n".join(s.text for s in m.package.sections if re.search("output", s.title, re.I)))


def _section_label(section) -> str:
    return "SKILL.md text before its first heading" if section.title == PREAMBLE else f"SKILL.md '## {section.title}'"


def _section_reason(title: str) -> "str | None":
    if title == PREAMBLE:
        return "controller text for the agent (no judging criterion)"
    for pattern, reason in _SECTION_REASONS:
        if re.search(pattern, title, re.I):
            return reason
    return "controller text for the agent (no judging criterion)"


def _labels_from(m: Mapping, text: str) -> None:
    """A/B/Tie when the package's output contract offers a tie, else A/B."""
    if re.search(r"\bTie\b", text):
        m.labels = ("A", "Tie", "B")  # swap mirrors the first and last label: the tie stays in the middle


# -- resources ----------------------------------------------------------------------------

def _map_resource(m: Mapping, res: Resource) -> None:
    hidden = _hidden(m, res)
    if res.kind == "runtime_sample":
        return _map_sample_field(m, res, hidden)
    if hidden:
        return m.note(res.id, f"left out: {hidden}; it never reaches a prompt")
    if res.kind == "reference":
        return _map_reference(m, res)
    if res.kind == "runtime_verifier":
        return _map_verifier(m, res)
    if res.kind == "runtime_python_sandbox":
        return m.note(res.id, "the judge model writes this code while judging; a compiled skill runs no "
                              "model-written code (its fixed checks are the verifiers)")
    if res.kind == "runtime_llm_pipeline":
        return m.note(res.id, "an LLM pipeline inside Skill-RM's harness: its prompt is not in the package")
    m.note(res.id, f"implementation_kind {res.kind!r} has no skilldsl counterpart")


def _hidden(m: Mapping, res: Resource) -> "str | None":
    """Why ``res`` must not reach a prompt, or None."""
    method = m.package.method
    if res.allowed and method and method not in res.allowed:
        return f"allowed_setting {list(res.allowed)} does not include this package's setting {method!r}"
    if res.leakage not in VISIBLE_LEAKAGE:
        return f"leakage_level {res.leakage or '(none)'!r} is not sample_visible or benchmark_visible"
    return None


def _map_reference(m: Mapping, res: Resource) -> None:
    """A file the agent would read: a judge's prompt, or the answer format."""
    if res.text is None:
        return m.note(res.id, "a reference resource without a path: nothing to read")
    if res.type == "output_contract":
        _labels_from(m, res.text)
        return m.note(res.id, f"answer: choice({', '.join(m.labels)}) with swap (its JSON format is replaced "
                              "by the constrained choice)", mapped=True)
    if res.type not in PROMPT_TYPES:
        return m.note(res.id, f"type {res.type!r} as a file is not judging guidance")
    cond = _condition(m, res)
    if cond is None:
        return
    key = re.sub(r"[^A-Za-z0-9_]", "_", res.id)
    key = key if key[:1].isalpha() else f"r_{key}"
    if key in m.files or res.path == PROCEDURE_FILE:
        raise PackageError(f"{m.package.root}: resource '{res.id}' would be file '{key}' ({res.path}) twice")
    m.files[key] = (res.path, res.text)
    judge = _judge_for(m, res, cond)
    judge.files.append(key)
    where = "every judge" if not cond else f"judge {judge.name} (when: {render_cond(cond)})"
    m.note(res.id, f"files.{key} ({res.path}) in the system prompt of {where}", mapped=True)


def _map_sample_field(m: Mapping, res: Resource, hidden: "str | None") -> None:
    """A field of the sample the harness exposes: an input."""
    if res.type == "reference":
        m.need("reference")
        why = " (it would be hidden; visibility: reference keeps it out of every prompt)" if hidden else ""
        return m.note(res.id, f"input reference (visibility: reference){why}", mapped=True)
    if hidden:
        return m.note(res.id, f"left out: {hidden}; no input carries it")
    if res.type == "metadata":
        m.need("benchmark", "task")
        return m.note(res.id, "inputs benchmark and task (optional, visible): they select the judges", mapped=True)
    if res.type == "checklist":
        m.need("checklist")
        m.checklist = True
        return m.note(res.id, "input checklist; a_items / b_items judge each item for each response", mapped=True)
    m.note(res.id, f"a runtime sample field of type {res.type!r} has no input it maps to")


def _map_verifier(m: Mapping, res: Resource) -> None:
    """A runtime verifier: a registered verifier when one matches, the script when there is one."""
    cond = _condition(m, res)
    if cond is None:
        return
    if "reference_match" in res.id or "reference_match" in res.subtype:
        m.need("reference")
        m.hard.append((COST_ORDER.get(res.cost, 2), res.order, "reference", cond))
        return m.note(res.id, "checks a_math / b_math (math.equivalent) and a_match / b_match (ref.match); "
                              "exactly one response matching decides", mapped=True)
    if res.path and res.path.endswith(".py"):
        name = "run_" + re.sub(r"[^A-Za-z0-9_]", "_", res.id)
        m.hard.append((COST_ORDER.get(res.cost, 2), res.order, "run", (name, res, cond)))
        return m.note(res.id, f"run evidence {name}: the script's `result` (\"A\", \"B\" or \"Tie\") decides", mapped=True)
    m.note(res.id, "a verifier that asks an LLM with the reference in its prompt: the importer keeps the "
                   "reference out of every prompt (a reference match decides instead where one is mapped)")


def _map_scripts(m: Mapping) -> None:
    """Scripts no resource names: a constraint-helper library maps to the registered checkers."""
    indexed = {r.path for r in m.package.resources}
    for rel, source in m.package.scripts.items():
        if rel in indexed:
            continue
        helpers = re.findall(r"(?m)^def ([a-z][a-z0-9_]*)\(", source)
        matched = [h for h in helpers if h in CONSTRAINT_HELPERS]
        if helpers and len(matched) * 2 >= len(helpers):
            _map_constraint_checker(m, rel, helpers, matched)
        else:
            m.note(rel, "a script no resource names, with no registered verifier doing its work")


def _map_constraint_checker(m: Mapping, rel: str, helpers: list, matched: list) -> None:
    m.need("instruction_id_list", "kwargs")
    m.hard.append((COST_ORDER["low"], -1, "constraints", ()))
    m.note(rel, "checks a_follows / b_follows: ifeval.all over the sample's instruction_id_list and kwargs "
                "(its helpers are the registered checkers: " + "; ".join(f"{h} -> {CONSTRAINT_HELPERS[h]}"
                                                                       for h in matched) + ")", mapped=True)
    rest = [h for h in helpers if h not in CONSTRAINT_HELPERS]
    if rest:
        m.note(f"{rel}: {', '.join(rest)}", "building blocks for model-written code, no check of their own")


# -- conditions ---------------------------------------------------------------------------

def _condition(m: Mapping, res: Resource) -> "Cond | None":
    """The ``when`` of ``res`` as clauses; None (and a note) when it never applies to a pair."""
    clauses = []
    words = [w for w in res.applies_to if w not in OTHER_MODE_WORDS]
    if res.applies_to and not words:
        m.note(res.id, f"applies_to {list(res.applies_to)}: listwise only, not to a pair")
        return None
    if words and not set(words) & set(PAIRWISE_WORDS):
        clauses.append(tuple(_applies_atom(m, w) for w in words))
    if res.benchmarks:
        m.need("benchmark")
        clauses.append(tuple(("eq", "benchmark", b) for b in res.benchmarks))
    for word in res.inputs_required:
        if word in _REQUIRED and _REQUIRED[word]:
            m.need(*_REQUIRED[word])
            clauses.append(tuple(("known", name) for name in _REQUIRED[word]))
        elif word not in _REQUIRED and word not in _NO_CONDITION:
            m.note(f"{res.id}: inputs_required {word!r}", "not a sample field the importer knows: no condition")
    return _simplify(tuple(dict.fromkeys(clauses)))


def _simplify(cond: Cond) -> Cond:
    """Drop each clause another one implies (``benchmark == "x"`` implies ``known(benchmark)``)."""
    def implies(d, c):
        return all(any(a[1] == b[1] and (b[0] == "known" or a == b) for b in c) for a in d)

    return tuple(c for i, c in enumerate(cond) if not any(j != i and implies(d, c) for j, d in enumerate(cond)))


def _applies_atom(m: Mapping, word: str) -> tuple:
    if word in _APPLIES_INPUTS:
        m.need(_APPLIES_INPUTS[word])
        return ("known", _APPLIES_INPUTS[word])
    m.need("task")
    m.task_words.add(word)
    return ("eq", "task", word)


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters as spaces: package words go into
    comment lines and stderr, where a newline would start a line of the package's choosing."""
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]+", " ", str(text))


def expr_string(word: str) -> str:
    """``word`` as a string literal of the expression language (its escapes: backslash, quote, \\uXXXX)."""
    escaped = word.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", lambda c: f"\\u{ord(c.group()):04x}", escaped) + '"'


def render_cond(cond: Cond) -> str:
    """A condition as a skilldsl expression."""
    def atom(a):
        return f"known({a[1]})" if a[0] == "known" else f"{a[1]} == {expr_string(a[2])}"

    parts = [" or ".join(atom(a) for a in clause) for clause in cond]
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({p})" if " or " in p else p for p in parts)


def holds(cond: Cond, sample: dict) -> bool:
    """Whether ``cond`` is true for ``sample`` (a missing field is na: false), as the runtime reads it."""
    def atom(a):
        value = sample.get(a[1])
        return value is not None if a[0] == "known" else value == a[2]

    return all(any(atom(a) for a in clause) for clause in cond)


# -- judges -------------------------------------------------------------------------------

def _judge_for(m: Mapping, res: Resource, cond: Cond) -> Judge:
    """The judge of the resources sharing ``cond`` (the base judge for no condition)."""
    for judge in m.judges:
        if judge.cond == cond:
            judge.cost = min(judge.cost, COST_ORDER.get(res.cost, 2))
            return judge
    name = "judge" if not cond else "judge_" + _group_name(res)
    while any(j.name == name for j in m.judges):
        name += "_"
    judge = Judge(name, cond, [], cost=COST_ORDER.get(res.cost, 2), order=res.order)
    m.judges.append(judge)
    return judge


def _group_name(res: Resource) -> str:
    base = res.benchmarks[0] if res.benchmarks else res.id
    return re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")


def _specificity(judge: Judge) -> int:
    """Chain order: benchmark judges, then those needing a field, then task judges, then the base."""
    inputs = {a[1] for clause in judge.cond for a in clause}
    if "benchmark" in inputs:
        return 0
    if inputs & {"reference", "checklist", "domain"}:
        return 1
    return 2 if judge.cond else 3


def _finish_judges(m: Mapping) -> None:
    """Every judge shows the base files first; the chain is ordered most specific, then cheapest."""
    base = next((j for j in m.judges if not j.cond), None)
    if base is None:
        base = Judge("judge", (), [], order=-1)
        m.judges.append(base)
    if "procedure" in m.files:
        base.files.insert(0, "procedure")
    for judge in m.judges:
        if judge is not base:
            judge.files[:0] = base.files
            judge.shows = tuple(n for n in ("benchmark", "task", "domain")
                                if any(a[1] == n for clause in judge.cond for a in clause))
    m.judges.sort(key=lambda j: (_specificity(j), j.cost, j.order))
    if "task" in m.inputs:
        words = ", ".join(sorted(m.task_words)) or "any"
        m.inputs["task"] = INPUT_SPECS["task"].replace("TASKS", json.dumps(f"the task type (Skill-RM applies_to): {words}"))
