"""Evaluation reports: self-contained HTML (inline SVG charts) or Markdown.

The content is built once as a list of sections (key-value lists, tables, bar charts);
two small renderers turn it into Markdown or HTML, so both formats always say the same.
"""
from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

from .judge import MAX_TRACED_ITEMS, disagrees

__all__ = ["build_sections", "render_markdown", "render_html", "write_report", "Link"]

_MAX_DISAGREEMENTS = MAX_TRACED_ITEMS  # the disagreements shown, each with its kept traces


class Link(NamedTuple):
    """A table cell that links to an anchor of the report (``#anchor``)."""

    text: str
    anchor: str

_SNIPPET = 140


# -- content ------------------------------------------------------------------------------
def build_sections(run) -> list:
    """The report's sections as ``(title, kind, payload)`` tuples."""
    s = run.summary
    sections = [("Summary", "kv", _overview(s))]
    sections.append(("Accuracy per subset (95% interval)", "chart", _bars(s)))
    sections.append(("Per-subset table", "table", _subset_table(s)))
    for name, payload in (s.get("official") or {}).items():
        sections.append((f"Official scores: {name}", "kv", _flatten(payload)))
    if s.get("dataset_baselines"):
        sections.append(("Data-set baselines (shipped verdicts vs human majority)", "table",
                         _baseline_table(s["dataset_baselines"])))
    if s.get("baseline"):
        sections.append(("Paired difference against the baseline skill", "kv", _flatten(s["baseline"]["paired"])))
    sections.append(("Cost per sample", "kv", _flatten(s["cost"]["per_item"])))
    if s.get("baseline"):
        sections.append(("Cost per sample (baseline)", "kv", _flatten(s["baseline"]["cost"]["per_item"])))
    sections.append(("Evidence used", "table", _evidence_table(run.records)))
    sections.append(("Disagreements with the labels", "table", _disagreements(run)))
    traces = _traces(run)
    if traces:
        sections.append(("Traces of the disagreements", "traces", traces))
    if s["skipped"]["count"]:
        sections.append(("Skipped rows", "table", _skip_table(s["skipped"])))
    return sections


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _ci(ci) -> str:
    return "—" if not ci else f"[{_pct(ci[0])}, {_pct(ci[1])}]"


def _overview(s: dict) -> list:
    pc = s["position_consistency"]
    rows = [("skill", s["skill"]), ("reward id", s["reward_id"]), ("model", s.get("model", "—")),
            ("data", f"{s['data']} ({s['format']}, split {s.get('split', 'all')})"),
            ("accuracy", f"{_pct(s['accuracy'])} {_ci(s['ci'])} ({s['ci_method'] or 'n/a'}), n={s['n']}"),
            ("errors / na", f"{s['errors']} / {s['na']}"), ("skipped rows", s["skipped"]["count"]),
            ("position consistency", f"{_pct(pc['consistency'])} of {pc['n']}" if pc["n"] else "not measured "
             "(use --both-orders with a pairwise skill)")]
    if s.get("baseline"):
        b = s["baseline"]
        rows.append(("baseline", f"{b['skill']}: {_pct(b['accuracy'])} {_ci(b['ci'])}"))
    return rows


def _bars(s: dict) -> list:
    bars = [(name, "skill", v["accuracy"], v["ci"]) for name, v in s["subsets"].items()]
    for name, v in (s.get("baseline") or {}).get("subsets", {}).items():
        bars.append((name, "baseline", v["accuracy"], v["ci"]))
    return sorted(bars, key=lambda b: (b[0], b[1] != "skill"))


def _subset_table(s: dict) -> dict:
    base = (s.get("baseline") or {}).get("subsets", {})
    rows = []
    for name, v in s["subsets"].items():
        row = [name, v["n"], _pct(v["accuracy"]), _ci(v["ci"])]
        if base:
            b = base.get(name, {})
            row += [_pct(b.get("accuracy")), _ci(b.get("ci"))]
        rows.append(row)
    head = ["subset", "n", "accuracy", "95% CI"] + (["baseline", "baseline CI"] if base else [])
    return {"head": head, "rows": rows}


def _baseline_table(found: dict) -> dict:
    rows = [[name, v["n"], _pct(v["accuracy"]), v.get("invalid_verdicts", 0)] for name, v in found.items()]
    return {"head": ["verdicts", "n", "agreement", "invalid verdicts"], "rows": rows}


def _flatten(payload, prefix: str = "") -> list:
    rows = []
    for key, value in (payload or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += _flatten(value, name + ".")
        elif isinstance(value, float):
            rows.append((name, f"{value:.4g}"))
        elif isinstance(value, list):
            rows.append((name, ", ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in value)))
        else:
            rows.append((name, value))
    return rows


def _evidence_table(records: list) -> dict:
    totals: dict = {}
    for record in records:
        for name, counts in record.get("evidence", {}).items():
            row = totals.setdefault(name, Counter())
            row.update({k: v for k, v in counts.items() if isinstance(v, int)})
            row["items"] += 1
    rows = [[name, c["items"], c["ok"], c["na"], c["error"], c["skipped"]] for name, c in sorted(totals.items())]
    return {"head": ["evidence", "items", "ok", "na", "error", "skipped (lazy)"], "rows": rows}


def _wrong(run) -> list:
    """The records of items not fully right, as many as the report shows."""
    return [r for r in run.records if disagrees(r)]


def _disagreements(run) -> dict:
    items = {item.id: item for item in run.dataset.items}
    wrong = _wrong(run)
    rows = [_disagreement_row(r, items.get(r["id"]), k) for k, r in enumerate(wrong[:_MAX_DISAGREEMENTS])]
    note = f"{len(wrong)} items not fully right" + (f"; first {_MAX_DISAGREEMENTS} shown" if len(wrong) > _MAX_DISAGREEMENTS else "")
    return {"head": ["id", "subset", "status", "judge said", "label", "evidence used", "prompt"], "rows": rows,
            "note": note}


def _disagreement_row(r: dict, item, k: int) -> list:
    said = r.get("reason") if r["status"] != "ok" else _said(r)
    used = ", ".join(f"{n}:{_top(c)}" for n, c in sorted(r.get("evidence", {}).items()))
    prompt = (item.inputs.get("prompt", "") if item else "")[:_SNIPPET]
    where = Link(r["id"], _anchor(k)) if r.get("traces") else r["id"]  # a checkpoint from before traces: none
    return [where, r["subset"], r["status"], said, _label(r), used, prompt]


_PAIR_WORDS = {0: "first", 1: "second", None: "tie"}  # a pair's verdict or label (index of the better one)


def _said(r: dict) -> str:
    if "p_first" in r:
        pred = _PAIR_WORDS[r.get("pred")]
        return f"{pred} (P(first)={r['p_first']:.3f})"
    if "selected" in r:
        return f"candidate {r['selected']}"
    if "matrix" in r:
        return f"{sum(map(sum, r['matrix'])):.0f}/9 cells right"
    return f"value {r.get('value')}"


def _label(r: dict) -> str:
    """Which candidate the label says was right, in words."""
    if r["kind"] == "pair":
        return "tie" if r.get("label") is None else f"{_PAIR_WORDS[r['label']]} is better"
    if "correct" in r:
        right = [str(i) for i, ok in enumerate(r["correct"]) if ok]
        if not right:
            return "no candidate correct"
        return f"candidate{'s' if len(right) > 1 else ''} {', '.join(right)} correct"
    if r.get("num_correct"):
        k = r["num_correct"]
        return "candidate 0 chosen" if k == 1 else f"candidates 0-{k - 1} chosen"
    return "—"


def _anchor(k: int) -> str:
    return f"trace-{k + 1}"


def _traces(run) -> list:
    """``(anchor, title, text)`` per shown disagreement that kept its traces (eval/judge.py)."""
    out = []
    for k, r in enumerate(_wrong(run)[:_MAX_DISAGREEMENTS]):
        if r.get("traces"):
            calls = [f"-- result {i + 1} of {len(r['traces'])} kept\n{_trace_text(t)}" for i, t in enumerate(r["traces"])]
            out.append((_anchor(k), f"{r['id']} ({r['subset']}): {_label(r)}", "\n".join(calls)))
    return out


def _trace_text(t: dict) -> str:
    """A kept trace, as ``skilldsl explain`` prints one."""
    from ..runtime.result import EvidenceTrace, Result, format_result

    known = {f.name for f in fields(EvidenceTrace)}
    trace = {n: EvidenceTrace(**{**{k: v for k, v in ev.items() if k in known}, "detail": ev.get("detail") or {}})
             for n, ev in t.get("trace", {}).items()}
    tokens = [sum(getattr(ev, k) for ev in trace.values()) for k in ("tokens_in", "tokens_out")]
    return format_result(Result(t.get("reward"), t.get("status", "error"), t.get("reason"), trace,
                                tokens_in=tokens[0], tokens_out=tokens[1]))


def _top(counts: dict) -> str:
    keys = [k for k in ("ok", "na", "error", "skipped") if counts.get(k)]
    return "/".join(keys) or "-"


def _skip_table(skipped: dict) -> dict:
    return {"head": ["row", "id", "reason"], "rows": [[s["row"], s["id"], s["reason"]] for s in skipped["rows"]]}


# -- Markdown -----------------------------------------------------------------------------
def render_markdown(run) -> str:
    """The report as Markdown (charts become tables)."""
    out = [f"# skilldsl eval: {run.summary['skill']} on {Path(run.summary['data']).name}\n"]
    for title, kind, payload in build_sections(run):
        if kind == "chart":
            continue  # the per-subset table right after it says the same in text
        out.append(f"## {title}\n")
        out.append(_MD[kind](payload))
    return "\n".join(out)


def _md_cell(value) -> str:
    """A table cell or inline value whose text (item ids, reasons: data and responses) stays text:
    no HTML tag, entity, link, code span or cell break can be written through it."""
    if isinstance(value, Link):
        return f"[{_md_cell(value.text)}](#{value.anchor})"
    return str(value).translate(_MD_ESCAPES)


_MD_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "[": "\\[", "]": "\\]", "`": "\\`", "\n": " ", "\r": " ",
                             "&": "&amp;", "<": "&lt;", ">": "&gt;"})


def _md_traces(traces: list) -> str:
    return "\n".join(f"<a id=\"{anchor}\"></a>**{_md_cell(title)}**\n\n{_fence(text)}\n{text}\n{_fence(text)}\n"
                     for anchor, title, text in traces)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``: a response that writes ``` cannot
    close the block and turn the rest of its trace into markdown."""
    return "`" * max([3] + [len(run) + 1 for run in re.findall(r"`{3,}", text)])


def _md_kv(rows: list) -> str:
    return "\n".join(f"- **{k}**: {_md_cell(v)}" for k, v in rows) + "\n"


def _md_table(table: dict) -> str:
    lines = ["| " + " | ".join(table["head"]) + " |", "|" + "---|" * len(table["head"])]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table["rows"]]
    note = f"\n_{table['note']}_\n" if table.get("note") else ""
    return "\n".join(lines) + "\n" + note


_MD = {"kv": _md_kv, "table": _md_table, "traces": _md_traces}


# -- HTML ---------------------------------------------------------------------------------
_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 7px;
vertical-align:top;text-align:left}th{background:#f3f3f3}dl{display:grid;grid-template-columns:max-content auto;
gap:2px 14px}dt{font-weight:600}dd{margin:0}.note{color:#666;font-style:italic}"""


def render_html(run) -> str:
    """The report as one self-contained HTML page (no scripts, no external files)."""
    title = html.escape(f"skilldsl eval: {run.summary['skill']} on {Path(run.summary['data']).name}")
    body = [f"<h1>{title}</h1>"]
    for name, kind, payload in build_sections(run):
        body.append(f"<h2>{html.escape(name)}</h2>")
        body.append(_HTML[kind](payload))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _h(value) -> str:
    if isinstance(value, Link):
        return f"<a href='#{html.escape(value.anchor)}'>{html.escape(str(value.text))}</a>"
    return html.escape(str(value))


def _html_traces(traces: list) -> str:
    return "".join(f"<details id='{_h(anchor)}'><summary>{_h(title)}</summary><pre>{_h(text)}</pre></details>"
                   for anchor, title, text in traces)


def _html_kv(rows: list) -> str:
    return "<dl>" + "".join(f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in rows) + "</dl>"


def _html_table(table: dict) -> str:
    head = "".join(f"<th>{_h(c)}</th>" for c in table["head"])
    rows = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in table["rows"])
    note = f"<p class='note'>{_h(table['note'])}</p>" if table.get("note") else ""
    return f"<table><tr>{head}</tr>{rows}</table>{note}"


def _html_chart(bars: list) -> str:
    """Horizontal bars with CI whiskers; a dashed line at 50% (chance for a pair)."""
    label_w, plot_w, row_h = 190, 520, 22
    height = row_h * len(bars) + 30
    x = lambda v: label_w + plot_w * (v or 0.0)  # noqa: E731 - tiny local scale
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{label_w + plot_w + 70}' height='{height}' "
             "role='img' font-size='12'>"]
    for k, (name, who, acc, ci) in enumerate(bars):
        parts.append(_svg_bar(k * row_h + 4, row_h, name, who, acc, ci, x))
    parts.append(f"<line x1='{x(0.5)}' x2='{x(0.5)}' y1='0' y2='{height - 24}' stroke='#999' stroke-dasharray='4 3'/>")
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f"<text x='{x(tick)}' y='{height - 8}' text-anchor='middle'>{int(tick * 100)}%</text>")
    return "".join(parts) + "</svg>"


def _svg_bar(y: float, row_h: int, name: str, who: str, acc, ci, x) -> str:
    colour = "#4e79a7" if who == "skill" else "#f28e2b"
    label = name if who == "skill" else "\u21b3 baseline"  # the subset is named on the bar above
    out = [f"<text x='4' y='{y + row_h / 2 + 4}'>{_h(label[:28])}</text>",
           f"<rect x='{x(0)}' y='{y + 3}' width='{x(acc) - x(0):.1f}' height='{row_h - 8}' fill='{colour}'>"
           f"<title>{_h(label)}: {_pct(acc)} {_ci(ci)}</title></rect>"]
    if ci:
        mid = y + row_h / 2 - 1
        out.append(f"<path d='M{x(ci[0]):.1f} {mid}H{x(ci[1]):.1f}M{x(ci[0]):.1f} {mid - 5}v10M{x(ci[1]):.1f} "
                   f"{mid - 5}v10' stroke='#222' fill='none'/>")
    out.append(f"<text x='{x(1) + 6}' y='{y + row_h / 2 + 4}'>{_pct(acc)}</text>")
    return "".join(out)


_HTML = {"kv": _html_kv, "table": _html_table, "chart": _html_chart, "traces": _html_traces}


def write_report(run, path) -> Path:
    """Write ``path`` as HTML (``.html``/``.htm``) or Markdown (anything else)."""
    path = Path(path)
    text = render_html(run) if path.suffix.lower() in (".html", ".htm") else render_markdown(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
