"""Candidate responses for IFBench's ``format:*`` instructions (the differential run).

``RESPONSES[id](kwargs, prompt)`` -> responses that follow, that narrowly violate, and edge
cases for that id; ``EXTRA_KWARGS[id]`` -> kwargs beyond the data's, at the boundaries.
Pure standard library (it also runs in the reference venv); deterministic.
"""
from __future__ import annotations

from collections.abc import Callable

# every id also gets these (edges.py adds empty, blank, long and wrapped ones): unicode, markdown
# with bullets and a quote, zero-width characters only
COMMON = (
    "Caf\u00e9 \u00fcber \u65e5\u672c \u2014 \u00bd \U0001f680 \u05e9\u05dc\u05d5\u05dd",
    "## Heading\n\n* **bold** point\n* _italic_ point\n\n> a quote\n\n```\nx = 1\n```",
    "\u200b\u2060\u200b",
)


def _long(unit: str, size: int = 20_000) -> str:
    return unit * max(1, size // max(1, len(unit)))


def parentheses(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Sets (a [b {c (d [e] d) c} b] a) nest five deep.",
        "((((()))))", "{[({[x]})]}", "([{([ deep ])}])",
        "Only four: (a [b {c (d) c} b] a).",  # depth 4: violates
        "((((()", "(((((x)", "((((( x ]", "((((([)", "(a)(b)(c)(d)(e)",
        "((((]))))(((((x)))))", ")))))(((((x)))))", "(((((x}}}}}",
        "([{<>}])" * 3, _long("("), _long("(") + ")", _long("()"), "(" * 5 + ")" * 5 + "]",
    ]


def quotes(kwargs: dict, prompt: str) -> "list[str]":
    return [
        """He said "she told me 'he yelled "stop" loudly' yesterday" to us.""",
        """'a "b 'c' b" a'""", """"1 '2 "3" 2' 1\"""",
        """He said "she told me 'stop' yesterday".""",  # two levels: violates
        """"a 'b "c" """, """"a "b" a\"""", "It's Bob's dog's bone.", """don't "quote 'me' ok" """,
        """"'"'"'\"""", "\u201ccurly \u2018quotes \u201cthree\u201d deep\u2019\u201d", _long("\"'"),
        _long('"') + _long("'"),
    ]


def options(kwargs: dict, prompt: str) -> "list[str]":
    text = kwargs["options"]
    separator = "/" if "/" in text else "or" if "or" in text else ","
    items = [item.strip() for item in text.split(separator)]
    first, last = items[0], items[-1]
    return [
        first, last, first.upper(), f"{first}.", f" {last}! ", f"**{first}**", f"{first}\n",
        f"{first}. Because it is.", f"{first} {last}", text, f"Answer: {first}",
        f"({first})", first.rstrip(")") if first.endswith(")") else first + ")", "e)", "maybe so",
        "I don't know", "I know", "Yes", "a)", "A)", "a", "b) Insertion", "c)",
    ]


def newline(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Each\nword\non\nits\nown\nline.", "Yes\n\nit\n\nis", "Hello, world!\nAgain",
        "Two words\nper line", "One\nline has two words", "don't\nstop",
        "a\n \nb c", "Word\r\nby\r\nword", "-\nword\n--\nother", "\u00e9t\u00e9\nna\u00efve",
        "* item\n* item", "single", _long("w\n"), _long("w w\n"),
    ]


def emoji(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "I love summer \U0001f31e. The beach is great \U0001f3d6\ufe0f!",
        "Hello \U0001f600", "Hello \U0001f600.", "Done \u2705. Next \U0001f680?",
        "First sentence \U0001f600. Second sentence.",  # violates at the end
        "First sentence. \U0001f600 Second sentence \U0001f600.",  # emoji opens the next one
        "No emoji here.", "\U0001f600", "\U0001f600. \U0001f600.", "Thumbs \U0001f44d\U0001f3fd.",
        "Flag \U0001f1eb\U0001f1f7.", "Family \U0001f468\u200d\U0001f469\u200d\U0001f467.",
        "Heart \u2764.", "Text :) .", "Number 1\ufe0f\u20e3.", "Wait... what \U0001f914?!",
        "Mr. Smith went home \U0001f3e0.", _long("Fun \U0001f389. "),
    ]


def line_indent(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "First\n Second\n  Third\n   Fourth", "a\n\n b\n\n  c", "a\n b\n b", "a\n  b\n c",
        "a\n\n\n b", "a\n \n  b", "a\n  \n \n   b", "a\n\t b\n\t\t c", "  a\n b",
        "single line", "a\n b\n  c\n", "\n\na\n b", "a\n\n\n\n b\n\n  c",
        "\n".join(" " * i + "step" for i in range(30)), _long("\n") + "a\n b",
    ]


def quote_unquote(kwargs: dict, prompt: str) -> "list[str]":
    return [
        'He said "carpe diem", meaning seize the day.', '"Veni vidi vici" means I came, I saw.',
        'The motto is "be prepared".',  # ends on a quote: violates
        '"A" "B" explained', 'Use the character \'"\' carefully.', 'No quotes at all.',
        '"Quote" 42.', '"Quote" - explained.', 'Say "hi"   "there" now.', '"Only a quote"',
        '\u201cCurly\u201d quote at the end \u201cx\u201d', "'single' quotes explained",
        _long('"q" x '),
    ]


def special_list(kwargs: dict, prompt: str) -> "list[str]":
    sep = kwargs["sep"]
    return [
        f"{sep} First item\n{sep} Second item\n{sep} Third item", f"{sep} only one item",
        f"Items: {sep} one {sep} two", f"a{sep}b{sep}c", f"{sep}{sep}", "* one\n* two",
        "A well-known long-term plan.", "Dates 2020-2021 and 3-4 days.", "Use - and - here",
        f" {sep} x\n {sep} y", f"{sep}\n{sep}\n", _long(f"x{sep}"), "!?!?!? one", "SEPARATORSEPARATOR",
        "One - two", "...", "item ... item ... item",
    ]


def thesis(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "<i>Cities shape people.</i>\nThey do so in many ways.",
        "<em>Cities shape people.</em> Here is why.", "<i>Thesis only</i>", "<em>Thesis only</em>",
        "<i></i> text after", "<i> </i> text", "<em></em>", "Intro\n<i>Thesis</i> body",
        "*Markdown italics* then text", "<I>upper</I> text", "<i>open only, never closed",
        "<em>mixed</i> tags", "<i>a</em> b", "</i>before<i>x</i>y", _long("<i>x</i>y "),
    ]


def sub_bullets(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "* Fruit\n  - apple\n  - pear\n* Veg\n  - leek", "* Fruit\n  - apple\n* Veg",
        "Plain prose without any bullets.", "Prose with a dash - but no bullet.",
        "* one - two", "**Bold** - text", "* a\n- b\n* c\n- d", "- a\n- b", "*", "*-",
        "Math: 2 * 3 - 1", _long("* x\n - y\n"), _long("* x\n"),
    ]


def no_bullets_bullets(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "First sentence. Second sentence.\n* bullet one\n* bullet two",
        "First sentence.\nSecond sentence.\n* one\n* two",
        "First sentence. Second sentence.\n\n* one\n* two",
        "Only one sentence.\n* one\n* two",
        "First sentence. Second sentence.\n* one",
        "First sentence. Second sentence.\n* one\n* two\n",
        "First sentence. Second sentence.\n* one\nmore prose\n* two",
        "First.\n\nSecond.\n* a\n* b", "One. Two.\n  * indented\n  * bullets",
        "One. Two. Three.\n*no space\n**bold**", "* a\n* b", "Dr. Smith came. He left.\n* a\n* b",
        "One. Two.\n- dash\n- dash", _long("Sentence here. ") + "\n* a\n* b",
    ]


def title_case(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "The Quick Brown Fox Jumps", "The Quick Brown Fox Jumps Over The Lazy Dog.",
        "The Lord of the Rings",  # minor words lower-case: the official fails them
        "NASA And The USA", "iPhone Sales Rise", "a Title", "I Am Here", "It's A Dog's Life",
        "Don't Stop", "Well-Known Facts", "Caf\u00e9 \u00c9t\u00e9", "\u00e9cole Normale",
        "123 Main Street", "# Heading In Markdown\n\n* **Bold** Item", "tHE End", "ALL CAPS TEXT",
        _long("Word "),
    ]


def output_template(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "My Answer: Yes, it works. My Conclusion: It is safe. Future Outlook: Bright.",
        "My Answer: 42\nMy Conclusion: The answer holds.\nFuture Outlook: More research.",
        "My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]",
        "My Answer: My Conclusion: Future Outlook:",
        "My Answer: Yes. My Conclusion: [conclusion] Future Outlook: Good.",
        "My Answer: Yes. My Conclusion: fine.", "my answer: yes my conclusion: ok future outlook: good",
        "Future Outlook: good. My Answer: yes. My Conclusion: fine.",
        "**My Answer:** Yes **My Conclusion:** Fine **Future Outlook:** Good",
        "My Answer: [answer] yes My Conclusion: ok Future Outlook: fine",
        _long("My Answer: a My Conclusion: b Future Outlook: c "),
    ]


def no_whitespace(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Nowhitespaceatall.", "no_white-space", "one space", "tab\tinside", "new\nline",
        "nbsp\u00a0inside", "ideographic\u3000space", "zero\u200bwidth", "trailing\n",
        "\u2028linesep", "\x1cfilesep", _long("x"),
    ]


def _with_common(make: "Callable[[dict, str], list[str]]") -> "Callable[[dict, str], list[str]]":
    return lambda kwargs, prompt: make(kwargs, prompt) + list(COMMON)


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {iid: _with_common(make) for iid, make in {
    "format:parentheses": parentheses, "format:quotes": quotes, "format:options": options,
    "format:newline": newline, "format:emoji": emoji, "format:line_indent": line_indent,
    "format:quote_unquote": quote_unquote, "format:list": special_list, "format:thesis": thesis,
    "format:sub-bullets": sub_bullets, "format:no_bullets_bullets": no_bullets_bullets,
    "format:title_case": title_case, "format:output_template": output_template,
    "format:no_whitespace": no_whitespace,
}.items()}

EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "format:options": [{"options": "yes/no/maybe"}, {"options": "I know or I don't know"},
                       {"options": "a), b), c), d)"}, {"options": "A, B, C"}, {"options": "true or false"},
                       {"options": "option one, option two"}, {"options": "(a) (b) (c)"}],
    "format:list": [{"sep": "..."}, {"sep": "SEPARATOR"}, {"sep": "!?!?"}, {"sep": "-"}, {"sep": "*"},
                    {"sep": "\u2022"}],
}
