"""Hostile templates (issue 12, item 9): nothing is computed while building, rendering is bounded
while it runs, and the checker refuses at ``file:line:col`` everything the runtime would refuse.

Memory tests run in a child process under an address-space limit, so a regression fails the test
(``MemoryError``, a killed child) instead of taking the shared machine down.
"""
import json
import resource
import subprocess
import sys
import textwrap

import pytest

import skilldsl
from skilldsl.errors import SkillError
from skilldsl.runtime.render import RenderError, render_text

SKILL = """\
skill: hostile
mode: pointwise
inputs: {{prompt: text, response: text}}
evidence:
  judge:
    ask:
      user: |
        Request: {{{{ prompt }}}}
        {template}
    answer: choice(yes, no)
reward: p(judge, "yes")
"""
LINE, INDENT = 9, 8  # where {template} sits in SKILL


def _skill(tmp_path, template: str, name: str = "hostile.skill"):
    path = tmp_path / name
    path.write_text(SKILL.format(template=template))
    return path


# -- the checker refuses what the runtime refuses, located -------------------------------------
REFUSED = [  # (template, the word the caret points at, what the message says)
    ("{{ self }}", "self", "'self' is not available"),
    ("{{ lipsum(5) }}", "lipsum", "'lipsum' is not available"),
    ("{{ lipsum }}", "lipsum", "'lipsum' is not available"),
    ("{{ range(3) | list }}", "range", "loop.index"),
    ("{% for i in range %}{% endfor %}", "range", "'range' is not available"),
    ("{{ cycler('a', 'b') }}", "cycler", "'cycler' is not available"),
    ("{{ joiner }}", "joiner", "'joiner' is not available"),
    ("{{ namespace(a=1) }}", "namespace", "'namespace' is not available"),
    ("{{ dict(a=1) }}", "dict", "'dict' is not available"),
    ("{{ caller() }}", "caller", "calling 'caller' is not allowed"),
    ("{{ varargs }}", "varargs", "unknown template variable 'varargs'"),
    ("{{ loop.index }}", "loop", "unknown template variable 'loop'"),
    ("{{ response.__class__ }}", "__class__", "attribute '__class__'"),
    ("{{ response.mro }}", "mro", "attribute 'mro'"),
    ("{{ response['__globals__'] }}", "__globals__", "attribute '__globals__'"),
    ("{{ prompt | map(attribute='__dict__') | list }}", "__dict__", "attribute '__dict__'"),
    ("{{ response | attr('__class__') }}", "__class__", "attribute '__class__'"),
    ("{{ [response] | selectattr('__class__') | list }}", "__class__", "attribute '__class__'"),
    ("{{ [response] | rejectattr('x.__class__', 'defined') | list }}", "x.__class__", "attribute 'x.__class__'"),
    ("{{ [response] | groupby('__len__') | list }}", "__len__", "attribute '__len__'"),
    ("{{ [response] | join(', ', '__doc__') }}", "__doc__", "attribute '__doc__'"),
    ("{{ [response] | sort(false, false, 'mro') | list }}", "mro", "attribute 'mro'"),
    ("{{ response.center(999) }}", "center", "calling 'center' is not allowed"),
    ("{{ response.format(1) }}", "format", "calling 'format' is not allowed"),
    ("{{ response.ljust(10**9) }}", "ljust", "calling 'ljust' is not allowed"),
    ("{{ response | random }}", "random", "no filter named 'random'"),
    ("{{ response | pprint }}", "pprint", "no filter named 'pprint'"),
    ("{{ response | map('pprint') | list }}", "pprint", "no filter named 'pprint'"),
    ("{{ response | select('callable') | list }}", "callable", "no test named 'callable'"),
    ("{{ response is callable }}", "callable", "no test named 'callable'"),
    ("{% macro m() %}x{% endmacro %}", "macro", "{% macro %} is not available"),
    ("{% include 'other.txt' %}", "include", "{% include %} is not available"),
    ("{% import 'x' as y %}", "import", "{% import %} is not available"),
    ("{% with a = 1 %}{{ a }}{% endwith %}", "with", "{% with %} is not available"),
    ("{% filter upper %}x{% endfilter %}", "filter", "{% filter %} is not available"),
    ("{% set x %}x{% endset %}", "set", "{% set x %}...{% endset %}"),
    ("{% for c in response recursive %}{{ c }}{% endfor %}", "recursive", "recursive loops"),
    ("{% set ns.a = 1 %}", "ns", "namespace attributes"),
]


@pytest.mark.parametrize("template,token,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_the_checker_refuses_it_at_file_line_col(tmp_path, template, token, message):
    path = _skill(tmp_path, template)
    with pytest.raises(SkillError) as info:
        skilldsl.program(str(path))
    [d] = [d for d in info.value.diagnostics if message in d.message]
    assert (d.span.file, d.span.line, d.span.col) == (str(path), LINE, INDENT + template.index(token) + 1)


@pytest.mark.parametrize("template,token,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_the_runtime_refuses_the_same_in_hand_written_ir(template, token, message):
    with pytest.raises(RenderError):
        render_text(template, {"prompt": "p", "response": "r", "files": {}})


ACCEPTED = [
    "{{ response | trim | upper }}", "{% for w in response.split() %}{{ loop.index }}. {{ w }}; {% endfor %}",
    "{% set short = response | truncate(20) %}{{ short }}", "{{ response ~ '!' if response else 'none' }}",
    "{{ response | replace('a', 'b') | center(30) | indent(2) }}", "{{ response.split() | join(', ') }}",
    "{{ [prompt, response] | map('upper') | join(' / ') }}", "{{ '%s: %d' % (prompt, 3) }} {{ 2 ** 10 }}",
]


def test_reading_a_long_input_many_times_builds_nothing():
    """Only what a template builds counts against its budget, not the inputs it shows or picks."""
    long = "w " * 300_000  # 600,000 characters: one copy fits the limit, two built ones would not
    source = "{{ (xs | first)[:5] }}{{ (xs | last)[:5] }}{{ xs | length }}{{ (xs | max)[:1] }}{{ d.get('k')[:3] }}"
    assert render_text(source, {"xs": [long, long], "d": {"k": long}}) == "w w ww w w2ww w"
    with pytest.raises(RenderError, match="the upper filter would build 600,000"):
        render_text("{{ (x | upper)[:1] }}{{ (x | upper)[:1] }}", {"x": long})


@pytest.mark.parametrize("template", ACCEPTED)
def test_ordinary_templates_check_and_render(tmp_path, template):
    program = skilldsl.program(str(_skill(tmp_path, template)))
    source = program.doc["evidence"]["judge"]["prompt"]["user"]
    assert render_text(source, {"prompt": "Say hi", "response": "a b", "files": {}}).startswith("Request: Say hi\n")


# -- memory: built nothing at check time, bounded while rendering ------------------------------
LIMIT = 1 << 30  # 1 GiB of address space for the child: every attack below needs 10 or more


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          preexec_fn=_limited, timeout=300)


def test_check_builds_nothing(tmp_path):
    path = _skill(tmp_path, "{{ 'x' * 10**10 }}{{ 'y' | center(10**10) }}{{ '%0999999999d' % 1 }}")
    proc = _child("import sys\nfrom skilldsl.cli import main\nsys.exit(main(['check', sys.argv[1]]))", str(path))
    assert proc.returncode == 0, proc.stderr[-2000:]  # well-formed; what they would build is the runtime's business


HOSTILE = [  # each would build or print gigabytes per row; (template, words of the reason)
    ("{{ response * 100000000 }}", "'*' would build 400,000,000"),
    ("{{ 'x' * 10**10 }}", "'*' would build 10,000,000,000"),
    ("{{ [response] * 10**9 }}", "'*' would build 5,000,000,000"),
    ("{{ [prompt] * 999 }}", "'*' would build 1,998,999"),  # few items, each 2,000 characters when printed
    ("{{ ([prompt] * 400) | string }}", "the string filter would build"),
    ("{{ response + response * 300000 }}", "'*' would build 1,200,000"),
    ("{{ 2 ** (10**9) }}", "number of about 301,029,996 digits"),
    ("{{ '%0999999999d' % 1 }}", "'%' would build"),
    ("{{ '%s' | format(response) }}{{ '%*d' | format(10**9, 1) }}", "the format filter would build"),
    ("{{ response | center(10**9) }}", "the center filter would build 1,000,000,000"),
    ("{{ response | indent(10**9) }}", "the indent filter would build"),
    ("{{ response | wordwrap(1, wrapstring='x' * 999999) }}", "the wordwrap filter would build"),
    ("{{ prompt | wordwrap(1, wrapstring=prompt) }}", "the wordwrap filter would build"),
    ("{{ prompt | list | join(prompt) }}", "the join filter would build"),
    ("{{ prompt | replace('', prompt) }}", "the replace filter would build"),
    ("{{ response | batch(10**9, 'x') | list }}", "the batch filter would build 1,000,000,000"),
    ("{{ response | slice(10**9) | list }}", "the slice filter would build 1,000,000,000"),
    ("{{ response | tojson(indent=10**6) }}", "an indent of 1,000,000"),
    ("{% set a = response * 200000 %}{% set b = response * 200000 %}{{ a ~ b }}", "would build"),
    ("{% for a in prompt %}{% for b in prompt %}{{ response }}{% endfor %}{% endfor %}",
     "the rendered prompt passes 1,000,000 characters"),
]


def test_rendering_is_bounded_while_it_runs(tmp_path):
    skills = []
    for i, (template, _) in enumerate(HOSTILE + [("{{ response | upper }}", "")]):
        skills.append(str(_skill(tmp_path, template, f"s{i}.skill")))
    code = """
        import json, sys
        import skilldsl
        from skilldsl.runtime.backends.fake import FakeBackend
        rows = [{"prompt": "p" * 2000, "response": "abcd"}, {"prompt": "p" * 2000, "response": "wxyz"}]
        for path in sys.argv[1:]:
            fake = FakeBackend(default_choice="yes")
            results = skilldsl.load(path, backend=fake, cache=False).score(rows)
            trace = [r.trace["judge"] for r in results]
            print(json.dumps({"status": [r.status for r in results], "reasons": [t.reason for t in trace],
                              "asked": len(fake.requests)}))
    """
    proc = _child(code, *skills)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    *hostile, honest = lines
    assert honest == {"status": ["ok", "ok"], "reasons": [None, None], "asked": 2}
    for (template, words), out in zip(HOSTILE, hostile):
        assert out["status"] == ["error", "error"] and out["asked"] == 0, (template, out)
        assert all(words in reason for reason in out["reasons"]), (template, out["reasons"])
