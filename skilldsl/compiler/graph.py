"""The evidence graph of a compiled skill as Mermaid or Graphviz DOT text.

Nodes are evidence (labelled with kind and cost; lazy evidence drawn dashed) and the
inputs they read; edges run from what is read to what reads it, ending at the reward.
"""
from __future__ import annotations

from ..ir import Program

__all__ = ["to_mermaid", "to_dot", "render", "FORMATS"]


def _edges(program: Program) -> "list[tuple[str, str]]":
    edges = []
    for name, node in program.evidence.items():
        edges += [(f"in_{src}", f"ev_{name}") for src in node["reads"]]
        edges += [(f"ev_{dep}", f"ev_{name}") for dep in node["deps"]]
    edges += [(f"ev_{name}", "reward") for name in sorted(_reward_refs(program.reward))]
    return sorted(set(edges))


def _reward_refs(expr) -> set:
    if isinstance(expr, dict):
        found = {expr["evidence"]} if "evidence" in expr else set()
        for value in expr.values():
            found |= _reward_refs(value)
        return found
    if isinstance(expr, list):
        return set().union(*(_reward_refs(v) for v in expr)) if expr else set()
    return set()


def _label(name: str, node: dict) -> str:
    kind = node["kind"] if node["kind"] != "each" else f"each {node['body']['kind']} over {_over(node['over'])}"
    return f"{name}\\n{kind}, cost {node['cost']}"


def _over(over: "str | list") -> str:
    """An ``each`` node's ``over``: a list input's name, or ``[a, b]`` for a list of inputs."""
    return f"[{', '.join(over)}]" if isinstance(over, list) else over


def to_mermaid(program: Program) -> str:
    """A Mermaid ``flowchart`` of the evidence graph."""
    lazy = set(program.plan["lazy"])
    lines = ["flowchart LR"]
    lines += [f'  in_{n}[/"{n}"/]' for n in program.inputs]
    for name, node in program.evidence.items():
        lines.append(f'  ev_{name}["{_label(name, node)}"]'.replace("\\n", "<br/>"))
    lines.append(f'  reward(("reward ({program.mode})"))')
    lines += [f"  {a} --> {b}" for a, b in _edges(program)]
    lines += [f"  class ev_{n} lazy" for n in program.plan["order"] if n in lazy]
    lines.append("  classDef lazy stroke-dasharray: 5 5")
    return "\n".join(lines) + "\n"


def to_dot(program: Program) -> str:
    """A Graphviz ``digraph`` of the evidence graph."""
    lazy = set(program.plan["lazy"])
    lines = [f'digraph "{program.name}" {{', "  rankdir=LR;"]
    lines += [f'  in_{n} [label="{n}", shape=parallelogram];' for n in program.inputs]
    for name, node in program.evidence.items():
        style = ", style=dashed" if name in lazy else ""
        lines.append(f'  ev_{name} [label="{_label(name, node)}", shape=box{style}];')
    lines.append(f'  reward [label="reward ({program.mode})", shape=doublecircle];')
    lines += [f"  {a} -> {b};" for a, b in _edges(program)]
    lines.append("}")
    return "\n".join(lines) + "\n"


FORMATS = {"mermaid": to_mermaid, "dot": to_dot}


def render(program: Program, fmt: str = "mermaid") -> str:
    """The graph in ``fmt`` (``mermaid`` or ``dot``)."""
    return FORMATS[fmt](program)
