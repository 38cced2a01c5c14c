"""The agentic baseline: a skill executed the way Skill-RM executes one, for evaluation only.

Skill-RM hands the judge model a ``SKILL.md`` and a resource index and lets it act through
free-text tool calls for a few steps until it writes a verdict. :class:`AgenticSkill` does the
same with a compiled skill, on the skill's own backend and model, so the two can be measured side
by side (``benchmarks/bench_agentic.py``). It is a scorer (``score(samples) -> Results`` with
``name``/``mode``/``inputs``/``reward_id``), so ``skilldsl.eval`` runs it like any skill.

Protocol (``PROTOCOL``). The system message is the skill's text (:func:`skill_text`: name, about,
inputs, the judgments it asks for) and the commands; the first user message is the sample's
visible inputs and the resource index (:func:`resources`: the skill's files, to ``view``, and its
verifier/``run`` evidence, to ``run`` on this sample). Each *step* is one model turn (one
``generate``); the runner reads one command from that turn and answers with the command's output
as the next user message:

    list            the resource index again
    view NAME       a file's text, or what an evidence computes
    run NAME        that evidence computed on this sample (its value, or na/error)
    final VERDICT   A | B | tie for a pair (reward 1, 0, 0.5); a number 0..1 for a single response

A turn from which no command can be read is a *parse failure*: the runner says so and the loop
goes on. After ``max_steps`` turns without a verdict the sample is ``na`` ("no verdict"); a caller
that needs a number for it uses 0.5 for a pair (a coin flip). The steps of all samples of a call
run in waves: one ``backend.generate`` per step for every sample still running, the ``run``
commands of a step in one batch of verifier calls.

Honesty. The response is the adversary and its text is in the transcript: every sample text and
every tool output goes through :func:`~skilldsl.runtime.backends.base.neutralise`, and commands
are read only from the model's own turn of this step (the ``Generation`` text), never from the
transcript, so a response that writes ``final A`` or a forged tool output is not an action. (A
model that *copies* such text into its own turn is fooled: that is the loop's weakness, measured
by the benchmark, not something a parser can undo.) Tool outputs never show a ``reference`` input:
an evidence that reads one, itself or through its dependencies, shows only a yes/no or number value
and no reason.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field

from ..runtime.backends.base import BackendError, GenerateRequest, neutralise
from ..runtime.inputs import SampleError, validate_sample
from ..runtime.result import EvidenceTrace, Result, plain

__all__ = ["AgenticSkill", "Action", "parse_action", "skill_text", "resources", "Resource", "PROTOCOL"]

PROTOCOL = "skillrm-agentic/1"  # part of the reward id: a change to prompts or parsing changes it
MAX_STEPS = 8
STEP_TOKENS = 48  # per model turn: room for a command and a short thought before it
_RUNNABLE = ("check", "run")
_PAIR_VERDICTS = {"A": 1.0, "B": 0.0, "TIE": 0.5}
_HEADINGS = {"prompt": "Request", "a": "Response A", "b": "Response B", "response": "Response"}


@dataclass(frozen=True)
class Action:
    """One command read from a model turn: ``kind`` is list, view, run or final."""

    kind: str
    arg: str = ""


@dataclass(frozen=True)
class Resource:
    """An entry of the resource index: a file (``view``) or an evidence (``view``; ``run`` if runnable)."""

    name: str
    kind: str  # "file" or the evidence kind
    about: str
    runnable: bool = False


# -- parsing the model's turn -------------------------------------------------------------------

_COMMAND = re.compile(r"^[\s>*`#-]*(?:action\s*:\s*)?(list|view|run|final)\b[\s:=]*(.*)$", re.I)
_JSON_VERDICT = re.compile(r'"verdict"\s*:\s*"\s*(A|B|tie)\s*"', re.I)
_NAME = re.compile(r"[\w.\-\[\]]+")


def parse_action(turn: str, mode: str = "pairwise") -> "Action | None":
    """The first command in the model's ``turn`` (one line each; bullets, quotes and backticks
    around it are ignored), or a JSON ``"verdict": "A"`` as Skill-RM's output contract writes it;
    None when the turn holds no readable command (a parse failure). Only ever call this on text the
    model generated: the transcript holds the response's words."""
    for line in turn.splitlines():
        found = _COMMAND.match(line)
        if found:
            return _command(found.group(1).lower(), found.group(2).strip(" `'\"*.,;"), mode)
        verdict = _JSON_VERDICT.search(line)
        if verdict and mode == "pairwise":
            return Action("final", verdict.group(1).upper())
    return None


def _command(kind: str, arg: str, mode: str) -> "Action | None":
    if kind == "list":
        return Action("list")
    if kind == "final":
        verdict = _verdict(arg, mode)
        return Action("final", verdict) if verdict is not None else None
    name = _NAME.match(arg)
    return Action(kind, name.group()) if name else None


def _verdict(arg: str, mode: str) -> "str | None":
    """A pair's verdict (exactly one of A, B, tie named) or a single response's score in 0..1."""
    if mode == "pairwise":
        named = {m.upper() for m in re.findall(r"\b(A|B|[Tt][Ii][Ee])\b", arg)}
        return named.pop() if len(named) == 1 else None
    number = re.match(r"[0-9]*\.?[0-9]+", arg)
    return number.group() if number and 0 <= float(number.group()) <= 1 else None


# -- what the model is shown ----------------------------------------------------------------------

def resources(program) -> list[Resource]:
    """The resource index of a compiled skill: its files, then its evidence (runnable: a verifier
    or ``run`` code, or ``each`` over one, that needs no model)."""
    out = [Resource(name, "file", f"{f.get('path', name)} ({len(f.get('text', ''))} characters)")
           for name, f in program.doc.get("files", {}).items()]
    for name, node in program.evidence.items():
        out.append(Resource(name, node["kind"], describe_evidence(node), _runnable(program, name)))
    return out


def describe_evidence(node: dict) -> str:
    """What an evidence computes, in a line (no sample text: templates are not rendered)."""
    body = node.get("body", node)
    kind = body["kind"]
    if kind == "check":
        args = ", ".join(_arg_text(a) for a in body.get("args", []))
        what = f"verifier {body['verifier']['name']}({args})"
    elif kind == "run":
        what = f"code over {', '.join(body.get('uses', [])) or 'no inputs'}"
    elif kind == "ask":
        labels = body.get("answer", {}).get("labels")
        what = "a judgment" + (f" answered {' | '.join(map(str, labels))}" if labels else "") + " (yours to make)"
    else:
        what = kind
    return f"for each item of {node['over']}: {what}" if node["kind"] == "each" else what


def _arg_text(arg) -> str:
    if isinstance(arg, dict) and len(arg) == 1:
        key, value = next(iter(arg.items()))
        return str(value) if key in ("input", "evidence", "local") else json.dumps(value)
    return "..."


def _runnable(program, name: str, seen: frozenset = frozenset()) -> bool:
    node = program.evidence[name]
    body = node.get("body", node)
    if body["kind"] not in _RUNNABLE or name in seen:
        return False
    deps = set(node.get("deps", ())) | set(body.get("deps", ()))
    return all(d in program.evidence and _runnable(program, d, seen | {name}) for d in deps)


def skill_text(program) -> str:
    """The skill as a ``SKILL.md``-like text: what it is for, its inputs, its judgments, the commands."""
    doc = program.doc
    inputs = "\n".join(f"- {n}: {s.get('type', 'text')}" + ("" if _visible(s) else " (not shown to you)")
                       for n, s in program.inputs.items() if s.get("visibility") != "label")
    asks = [f"- {n}: {node.get('prompt', node.get('body', {}).get('prompt', {})).get('system') or describe_evidence(node)}"
            for n, node in program.evidence.items() if node.get("body", node)["kind"] == "ask"]
    parts = [f"# Skill: {program.name}", str(doc.get("about") or "").strip(), "## Inputs", inputs]
    if asks:
        parts += ["## Judgments this skill makes", "\n".join(asks)]
    parts += ["## Commands", _commands(program.mode)]
    return "\n\n".join(p for p in parts if p)


def _commands(mode: str) -> str:
    final = ("final A, final B or final tie: your verdict (A: Response A is better)" if mode == "pairwise"
             else "final S: your verdict, a score S from 0 to 1")
    return ("Write exactly one command per turn, on its own line:\n"
            "list: show the resource index\nview NAME: read a resource\n"
            f"run NAME: run a check on this sample\n{final}\n"
            f"You have at most {MAX_STEPS} turns; end with final.")


def _visible(spec: dict) -> bool:
    return spec.get("visibility", "visible") == "visible"


def index_text(items: list[Resource]) -> str:
    """The resource index as the ``list`` command shows it."""
    lines = [f"- {r.name} ({r.kind}{', runnable' if r.runnable else ''}): {r.about}" for r in items]
    return "Resources:\n" + ("\n".join(lines) if lines else "(none)")


def sample_text(program, inputs: dict) -> str:
    """The sample's visible inputs, each under a heading, neutralised (the response is the adversary)."""
    parts = []
    for name, spec in program.inputs.items():
        value = inputs.get(name)
        if not _visible(spec) or value is None or not value.is_ok:
            continue
        shown = value.value if isinstance(value.value, str) else json.dumps(plain(value.value), ensure_ascii=False)
        parts.append(f"# {_HEADINGS.get(name, name)}\n{neutralise(shown)}")
    return "\n".join(parts)


# -- one sample's episode --------------------------------------------------------------------------

@dataclass
class _Episode:
    """One sample's conversation with the model: transcript, steps taken, outcome."""

    inputs: dict
    messages: list
    steps: list = field(default_factory=list)
    verdict: "str | None" = None
    failure: "str | None" = None
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0

    @property
    def running(self) -> bool:
        return self.verdict is None and self.failure is None

    def turn(self, text: str, output: str, action: "Action | None") -> None:
        """Record the model's turn and answer it with ``output`` (both neutralised into the transcript)."""
        self.messages += [{"role": "assistant", "content": neutralise(text)},
                          {"role": "user", "content": neutralise(output)}]
        self.steps.append({"turn": text, "action": f"{action.kind} {action.arg}".strip() if action else None,
                           "output": output[:300]})


class AgenticSkill:
    """A compiled skill run as a free-text agent (see the module doc), for evaluation only.

    ``skill`` is a runtime :class:`~skilldsl.runtime.Skill`: its program gives the text and the
    resources, its ``default`` backend the model (the same one the compiled skill uses)."""

    def __init__(self, skill, *, max_steps: int = MAX_STEPS, step_tokens: int = STEP_TOKENS):
        if skill.mode not in ("pairwise", "pointwise"):
            raise ValueError(f"the agentic runner takes pairwise or pointwise skills; {skill.name!r} is {skill.mode}")
        self.compiled = skill  # not `program` or `skill`: eval.describe() reads those first
        self.max_steps, self.step_tokens = int(max_steps), int(step_tokens)
        program = skill.program
        self.name, self.mode, self.inputs = f"{program.name}:agentic", program.mode, program.inputs
        self.reward_id = _reward_id(program.reward_id, self.max_steps, self.step_tokens)
        self.resources = {r.name: r for r in resources(program)}
        self.system = skill_text(program)
        # totals over score() calls, for benchmarks: backend calls, run batches, steps, unreadable turns
        self.stats = {"generate_calls": 0, "run_batches": 0, "steps": 0, "unreadable_turns": 0}

    def score(self, samples: list) -> list[Result]:
        """One Result per sample: reward 1/0/0.5 for final A/B/tie (pairwise) or the final score;
        ``na`` when no verdict came within ``max_steps`` turns; ``error`` for a bad sample or a backend failure."""
        episodes = [self._start(s) for s in samples]
        for _ in range(self.max_steps):
            running = [e for e in episodes if isinstance(e, _Episode) and e.running]
            if not running:
                break
            self._step(running)
        for e in episodes:
            if isinstance(e, _Episode):
                self.stats["steps"] += len(e.steps)
                self.stats["unreadable_turns"] += sum(1 for s in e.steps if s["action"] is None)
        return [self._result(e) for e in episodes]

    # -- the loop ----------------------------------------------------------------------------
    def _start(self, sample) -> "_Episode | str":
        try:
            inputs = validate_sample(sample, self.compiled.program.inputs)
        except SampleError as exc:
            return str(exc)
        user = f"{sample_text(self.compiled.program, inputs)}\n\n{index_text(list(self.resources.values()))}\n\nYour command:"
        return _Episode(inputs, [{"role": "system", "content": self.system}, {"role": "user", "content": user}])

    def _step(self, running: list) -> None:
        """One wave: every running episode's next turn in one generate call, then the tools."""
        requests = [GenerateRequest(tuple(e.messages), {"type": "text"}, self.step_tokens) for e in running]
        start = time.perf_counter()
        try:
            generations = list(self.compiled.backend("default").generate(requests))
            if len(generations) != len(requests):
                raise BackendError(f"the backend returned {len(generations)} results for {len(requests)} requests")
        except Exception as exc:  # noqa: BLE001 - a failed call fails these samples, not the run
            for e in running:
                e.failure = f"backend failed: {type(exc).__name__}: {exc}"
            return
        self.stats["generate_calls"] += 1
        share = (time.perf_counter() - start) / len(running)
        actions = [self._read(e, g, share) for e, g in zip(running, generations)]
        outputs = self._tools(running, actions)
        for e, g, action, output in zip(running, generations, actions, outputs):
            if e.running:
                e.turn(g.text, output, action)

    def _read(self, episode: _Episode, generation, share: float) -> "Action | None":
        episode.tokens_in += int(generation.tokens_in or 0)
        episode.tokens_out += int(generation.tokens_out or 0)
        episode.seconds += share
        if generation.error:
            episode.failure = f"generation failed: {generation.error}"
            return None
        action = parse_action(generation.text, self.mode)  # the model's own turn, nothing else
        if action is not None and action.kind == "final":
            episode.verdict = action.arg
            episode.steps.append({"turn": generation.text, "action": f"final {action.arg}", "output": None})
        return action

    def _tools(self, episodes: list, actions: list) -> list:
        """The output of each turn's command; the ``run`` commands of the wave in one batch."""
        runs = [(e, a.arg) for e, a in zip(episodes, actions)
                if a is not None and a.kind == "run" and self._can_run(a.arg)]
        computed = self._run(runs) if runs else {}
        return [self._output(e, a, computed) for e, a in zip(episodes, actions)]

    def _can_run(self, name: str) -> bool:
        return name in self.resources and self.resources[name].runnable

    def _output(self, episode: _Episode, action: "Action | None", computed: dict) -> str:
        if action is None:
            return f"No command found in your turn. {_commands(self.mode)}\n\nYour command:"
        if action.kind == "final":
            return ""
        return self._answer(episode, action, computed) + "\n\nYour command:"

    def _answer(self, episode: _Episode, action: Action, computed: dict) -> str:
        if action.kind == "list":
            return index_text(list(self.resources.values()))
        found = self.resources.get(action.arg)
        if found is None:
            return f"No resource {action.arg!r}. {index_text(list(self.resources.values()))}"
        if action.kind == "view":
            files = self.compiled.program.doc.get("files", {})
            text = files[found.name].get("text", "") if found.kind == "file" else found.about
            return f"{found.name}:\n{text}"
        if not found.runnable:
            return f"{found.name} cannot be run (it is {found.about})."
        return computed.get((id(episode), found.name), f"{found.name}: error (not computed)")

    def _run(self, runs: list) -> dict:
        """Compute the requested evidence for their samples, all in one scheduler pass."""
        self.stats["run_batches"] += 1
        outcomes = run_evidence(self.compiled, [(e.inputs, name) for e, name in runs])
        return {(id(e), name): tool_output(self.compiled.program, name, o) for (e, name), o in zip(runs, outcomes)}

    # -- results -----------------------------------------------------------------------------
    def _result(self, episode: "_Episode | str") -> Result:
        if isinstance(episode, str):
            return Result(None, "error", episode, reward_id=self.reward_id)
        failures = sum(1 for s in episode.steps if s["action"] is None)
        detail = {"steps": episode.steps, "steps_used": len(episode.steps), "parse_failures": failures,
                  "verdict": episode.verdict}
        status, reward, reason = self._outcome(episode, failures)
        trace = {"agent": EvidenceTrace("agent", status, reward, reason, "agentic", episode.seconds,
                                        episode.tokens_in, episode.tokens_out, detail=detail)}
        return Result(reward, status, reason, trace, self.reward_id, episode.tokens_in, episode.tokens_out,
                      episode.seconds)

    def _outcome(self, episode: _Episode, failures: int) -> tuple:
        if episode.failure is not None:
            return "error", None, episode.failure
        if episode.verdict is None:
            return "na", None, f"no verdict in {len(episode.steps)} steps ({failures} unreadable turns)"
        if self.mode == "pairwise":
            return "ok", _PAIR_VERDICTS[episode.verdict], None
        return "ok", float(episode.verdict), None


def tool_output(program, name: str, outcome) -> str:
    """What ``run NAME`` shows: the evidence's status and value. An evidence that reads an input the
    prompts may not see (a reference) shows only a yes/no or number value, and no reason."""
    if outcome is None:
        return f"{name}: error (not computed)"
    value = outcome.value
    hidden = any(not _visible(program.inputs.get(n, {})) for n in _reads(program, name))
    if value.is_ok:
        shown = plain(value.value)
        if hidden and not (shown is None or isinstance(shown, (bool, int, float))):
            return f"{name}: ok (value withheld: it is computed from a hidden input)"
        return f"{name}: ok {json.dumps(shown, ensure_ascii=False)}"
    reason = "" if hidden or not value.reason else f" ({value.reason})"
    return f"{name}: {value.status}{reason}"


def run_evidence(skill, wanted: list) -> list:
    """The outcome of each ``(validated inputs, evidence name)``: computed by the runtime's own
    evidence code and scheduler (dependencies included), every verifier call of the list in one wave."""
    from ..runtime.executor import Executor, Row
    from ..runtime.scheduler import Scheduler

    executor = Executor(skill.program, skill.backend)  # its evidence coroutines and job runner (retries)
    rows = [Row(skill.program, inputs) for inputs, _ in wanted]
    sched = Scheduler(executor.evidence_task)
    for row, (_, name) in zip(rows, wanted):
        sched.demand(row, name)
    sched.run_ready()
    while sched.jobs:
        sched.dispatch(executor.runner)
        sched.run_ready()
    return [row.outcomes.get(name) for row, (_, name) in zip(rows, wanted)]


def _reads(program, name: str, seen: frozenset = frozenset()) -> set:
    """The inputs evidence ``name`` reads, itself or through the evidence it depends on (a check over
    an evidence computed from the reference is computed from the reference)."""
    node = program.evidence[name]
    body = node.get("body", {})
    out = set(node.get("reads", ())) | set(body.get("reads", ())) | set(node.get("uses", ()))
    for dep in (set(node.get("deps", ())) | set(body.get("deps", ()))) - seen - {name}:
        if dep in program.evidence:
            out |= _reads(program, dep, seen | {name})
    return out


def _reward_id(skill_id: str, max_steps: int, step_tokens: int) -> str:
    spec = json.dumps({"protocol": PROTOCOL, "skill": skill_id, "max_steps": max_steps, "step_tokens": step_tokens},
                      sort_keys=True)
    return "agentic:sha256:" + hashlib.sha256(spec.encode()).hexdigest()
