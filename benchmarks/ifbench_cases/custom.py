"""Candidate responses for IFBench's ``custom:*`` ids (differential run against the official checker).

Pure standard library. Each entry maps (kwargs, prompt) to responses that follow, that narrowly
violate, and edge cases of the id (markdown, unicode, blank, csv quirks, large).
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable

_EDGE = ["", "   \n ", "**", "\u00e9\u00e8 \U0001F985", "# Answer\n\n*Sure!*"]


def _character_reverse(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "elgae dlab", ".elgae dlab ehT si SU eht fo lobmys lanoitan ehT", "ELGAE DLAB", "**elgae dlab**",
        "The bald eagle.", "elgaedlab", "elgae  dlab", "elgae\ndlab", "\u00e9lgae dlab",
        "Answer:\nelgae dlab\nThat is all.", "x" * 200_000 + " elgae dlab", *_EDGE,
    ]


_CITY_ROWS = ["1,France,Paris,2020,5", "2,Japan,Tokyo,2019,8", "3,Peru,Lima,2018,2", "4,Chile,Santiago,2021,4",
              "5,Kenya,Nairobi,2017,9", "6,Spain,Madrid,2016,1", "7,India,Delhi,2015,3"]
_CITY_HEADER = "ID,Country,City,Year,Count"


def _csv_city(kwargs: dict, prompt: str) -> "list[str]":
    body = "\n".join([_CITY_HEADER, *_CITY_ROWS])
    return [
        body, body + "\n", body.replace("\n", "\r\n"), "\n".join([_CITY_HEADER, *_CITY_ROWS[:6]]),
        "\n".join([_CITY_HEADER, *_CITY_ROWS, "8,Peru,Cusco,2014,7"]),
        '"ID","Country","City","Year","Count"\n' + "\n".join(_CITY_ROWS),
        "ID, Country, City, Year, Count\n" + "\n".join(_CITY_ROWS),
        "```csv\n" + body + "\n```", "Here is the data:\n" + body,
        body.replace("3,Peru,Lima,2018,2", '3,"Peru, Republic of",Lima,2018,2'),
        body.replace("3,Peru,Lima,2018,2", "3,Peru,Lima,2018,2,extra"),
        body.replace("3,Peru,Lima,2018,2", "3,Peru,Li\rma,2018,2"),
        body.replace("3,Peru,Lima,2018,2", "3,Peru,Lima,2018,\"" + "x" * 140_000 + "\""),
        body.replace("\n4,", "\n\n4,"), body.replace("Paris", "S\u00e3o Paulo"), body.replace(",", ";"),
        "ID\tCountry\tCity\tYear\tCount\n" + "\n".join(r.replace(",", "\t") for r in _CITY_ROWS), *_EDGE,
    ]


_STUDENT_HEADER = ["StudentID", "Subject", "Grade", "Semester", "Score"]
_STUDENT_ROWS = [["S1", "Math", "A", "Fall", "93"], ["S2", "Art", "B", "Spring", "85"], ["S3", "Music", "C", "Fall", "71"]]


def _tabbed(rows: "list[list[str]]", quote: str = '"', sep: str = "\t") -> str:
    return "\n".join(sep.join(f"{quote}{field}{quote}" for field in row) for row in rows)


def _csv_quotes(kwargs: dict, prompt: str) -> "list[str]":
    rows = [_STUDENT_HEADER, *_STUDENT_ROWS]
    quoted = _tabbed(rows)
    return [
        quoted, quoted + "\n", _tabbed(rows, sep="\t "), _tabbed(rows, quote=""), _tabbed(rows[:3]),
        _tabbed([*rows, ["S4", "Bio", "A", "Fall", "99"]]), _tabbed(rows, sep=","),
        "\t".join(_STUDENT_HEADER) + "\n" + _tabbed(_STUDENT_ROWS),
        quoted.replace('"Art"', "Art"), quoted.replace('"Art"', '""'), quoted.replace('"Art"', " "),
        quoted.replace('"Art"', '"Art history, modern"'), quoted.replace('"Art"', '"Art" '),
        quoted.replace('"Art"', '"Ar"t"'), "```\n" + quoted + "\n```", "Here you go:\n" + quoted,
        quoted.replace("\n", "\r\n"), quoted.replace('"Math"', '"M\u00e4th \U0001F4D0"'), *_EDGE,
    ]


_PRODUCT_HEADER = "ProductID,Category,Brand,Price,Stock"


def _product_rows(special: str = '"Tom\'s"', at: int = 3) -> "list[str]":
    rows = [f"P{i:03d},Tools,Acme{i},{10 + i}.99,{i * 3}" for i in range(1, 15)]
    rows[at] = f"P{at + 1:03d},Tools,{special},19.99,7"
    return rows


def _csv_special_character(kwargs: dict, prompt: str) -> "list[str]":
    body = "\n".join([_PRODUCT_HEADER, *_product_rows()])
    plain = "\n".join([_PRODUCT_HEADER, *_product_rows("Acme")])
    broken_later = _product_rows(at=0)
    broken_later[5] += ",extra"
    broken_first = _product_rows(at=9)
    broken_first[2] += ",extra"
    return [
        body, body + "\n", plain, "\n".join([_PRODUCT_HEADER, *_product_rows("Tom's")]),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"A&B"', 13)]), "\n".join([_PRODUCT_HEADER, *_product_rows('"a,b"')]),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"AB"')]), "\n".join([_PRODUCT_HEADER, *_product_rows('"\u00c9lan"')]),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"!"')]), "\n".join([_PRODUCT_HEADER, *_product_rows('""')]),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"a\nb!"')]), "\n".join([_PRODUCT_HEADER, *_product_rows(' "x-y"')]),
        "\n".join([_PRODUCT_HEADER, *broken_later]), "\n".join([_PRODUCT_HEADER, *broken_first]),
        "\n".join([_PRODUCT_HEADER, *_product_rows()[:13]]), "\n".join([_PRODUCT_HEADER, *_product_rows(), "P015,a,b,1,2"]),
        "\n".join(['"ProductID", "Category",\t"Brand","Price", Stock', *_product_rows()]),
        "\n".join(["ProductID;Category;Brand;Price;Stock", *_product_rows()]),
        "```csv\n" + body + "\n```", "  " + body, body.replace("\n", "\r\n"),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"' + "x" * 150_000 + '!"')]),
        "\n".join([_PRODUCT_HEADER, *_product_rows('"' + "x" * 100_000 + "!")]), *_EDGE,
    ]


_NAPOLEON = "1796-04-12, 1796-05-10, 1796-11-15, 1798-07-21, 1805-10-20, 1805-12-02, 1806-10-14, 1807-06-14, 1809-07-05, 1812-09-07, 1813-10-16, 1815-06-18"


def _date_format_list(kwargs: dict, prompt: str) -> "list[str]":
    return [
        _NAPOLEON, _NAPOLEON.replace(", ", ","), _NAPOLEON + ",", " " + _NAPOLEON + "\n", "1796-04-12",
        _NAPOLEON.replace(", ", "\n"), _NAPOLEON.replace("1796-04-12", "1796-4-12"),
        _NAPOLEON.replace("1815-06-18", "1822-06-18"), _NAPOLEON.replace("1796-04-12", "1768-04-12"),
        "1800-02-29", "1800-02-30", "1800-04-31", "1800-13-01", "1800-00-45", "1800-12-00", "1800-01-32",
        "Battles: " + _NAPOLEON, "**" + _NAPOLEON + "**", "Here are the dates:\n" + _NAPOLEON,
        "\u0661\u0667\u0669\u0666-\u0660\u0664-\u0661\u0662", "1796\u201104\u201112", "1796-04-12 (Montenotte)",
        "1796-04-12, , 1805-12-02", ", ".join(["1805-12-02"] * 20_000), *_EDGE,
    ]


_CAPITALS = ["Reykjavik", "Helsinki", "Oslo", "Tallinn", "Stockholm", "Riga", "Moscow", "Copenhagen", "Vilnius",
             "Minsk", "Dublin", "Berlin", "Amsterdam", "Warsaw", "London", "Brussels", "Prague", "Luxembourg",
             "Paris", "Vienna", "Bratislava", "Budapest", "Vaduz", "Chisinau", "Bern", "Ljubljana", "Zagreb"]


def _european_capitals_sort(kwargs: dict, prompt: str) -> "list[str]":
    honest = ", ".join(_CAPITALS)
    swapped = _CAPITALS[:]
    swapped[3], swapped[4] = swapped[4], swapped[3]
    return [
        honest, ",".join(_CAPITALS), honest + ",", ",\n".join(_CAPITALS),
        honest.replace("Reykjavik", "Reykjav\u00edk").replace("Chisinau", "Chi\u0219in\u0103u"),
        ", ".join(swapped), ", ".join(_CAPITALS[:-1]), honest.replace(", Zagreb", ", and Zagreb"), honest + ".",
        ", ".join(_CAPITALS + ["Kyiv"]), "\n".join(_CAPITALS), ", ".join(f"**{c}**" for c in _CAPITALS),
        "Capitals: " + honest, "Here they are:\n" + honest, ", ".join(c.upper() for c in _CAPITALS),
        honest.replace("Moscow", "Moskva"), ", , ".join(_CAPITALS), *_EDGE,
    ]


_STEMS = ["Who painted Guernica?",
          "Which movement did Marcel Duchamp help found?",
          "Which artist is best known for the drip paintings of the late 1940s?",
          "Which German art school, founded in 1919 by Walter Gropius, joined crafts and fine arts?"]
_OPTIONS = [["Picasso", "Dali", "Miro", "Braque", "Gris"], ["Dada", "Cubism", "Fauvism", "Pop Art", "Futurism"],
            ["Pollock", "Rothko", "Kline", "Still", "Newman"], ["Bauhaus", "De Stijl", "Vkhutemas", "Ulm", "Black Mountain"]]


def _mcq(stems: "list[str]" = _STEMS, label: str = "Question {n}: ", marks: str = "ABCDE", sep: str = ". ",
         options: int = 5, gap: str = "\n\n") -> str:
    return gap.join(label.format(n=n) + stem + "\n" + "\n".join(f"{marks[i]}{sep}{choices[i]}" for i in range(options))
                    for n, (stem, choices) in enumerate(zip(stems, _OPTIONS), 1))


def _mcq_count_length(kwargs: dict, prompt: str) -> "list[str]":
    honest = _mcq()
    return [
        honest, _mcq(sep=") "), _mcq(marks="abcde"), _mcq(label="Question {n}.\n"), _mcq(gap="\n"),
        _mcq(label="Question {n}) "), _mcq(sep="|"), _mcq(label="Question {n}- "),
        "Here are four questions:\n\n" + honest, honest + "\n\nAnswers: A, A, A, A", " " + honest,
        _mcq(options=4), _mcq(stems=_STEMS[:3]), _mcq(stems=list(reversed(_STEMS))),
        _mcq(stems=[_STEMS[0]] * 4), _mcq(label="Question: "), _mcq(label="**Question {n}:** "),
        _mcq(label="Q{n}. "), _mcq(sep=" "), _mcq(marks="ABCDF"), honest.replace("Gris", "Gris\nAnswer: A"),
        honest + "\n\nQuestion 5: Extra?", _mcq(stems=[s.replace(" ", "\n") for s in _STEMS]),
        _mcq(label="Question {n}: \u00bf"), "Question 1\n" + "\n" * 2000 + "A. x", *_EDGE,
    ]


def _multiples(kwargs: dict, prompt: str) -> "list[str]":
    numbers = ["14", "21", "28", "35", "42", "49"]
    return [
        ", ".join(numbers), ",".join(numbers), "\n".join(numbers), "\n".join(f"- {n}" for n in numbers),
        "\n".join(f"{i}. {n}" for i, n in enumerate(numbers, 1)), ", ".join(numbers[:-1]), ", ".join(["7", *numbers]),
        ", ".join([*numbers, "56"]), "Multiples of 7 from 10 to 50: " + ", ".join(numbers),
        "Here they are: " + ", ".join(numbers) + ".", "fourteen, twenty-one", "14 21 28 35 42 49",
        "**14**, **21**, **28**, **35**, **42**, **49**", "\u0661\u0664, 21, 28, 35, 42, 49", "14.0, 21, 28, 35, 42, 49",
        "1421, 28, 35, 42, 49", ", ".join(numbers) + "\n" + "x" * 100_000, *_EDGE,
    ]


_AFRICA = ["Algeria", "Angola", "Benin", "Botswana", "Burkina Faso", "Burundi", "Cabo Verde", "Cameroon",
           "Central African Republic", "Chad", "Comoros", "Democratic Republic of the Congo", "Republic of the Congo",
           "C\u00f4te d'Ivoire", "Djibouti", "Egypt", "Equatorial Guinea", "Eritrea", "Eswatini", "Ethiopia", "Gabon",
           "Gambia", "Ghana", "Guinea", "Guinea-Bissau", "Kenya", "Lesotho", "Liberia", "Libya", "Madagascar",
           "Malawi", "Mali", "Mauritania", "Mauritius", "Morocco", "Mozambique", "Namibia", "Niger", "Nigeria",
           "Rwanda", "S\u00e3o Tom\u00e9 and Pr\u00edncipe", "Senegal", "Seychelles", "Sierra Leone", "Somalia",
           "South Africa", "South Sudan", "Sudan", "Tanzania", "Togo", "Tunisia", "Uganda", "Zambia", "Zimbabwe"]


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")


def _reverse_newline(kwargs: dict, prompt: str) -> "list[str]":
    ordered = sorted(_AFRICA, key=_fold, reverse=True)
    honest = "\n".join(ordered)
    swapped = ordered[:]
    swapped[10], swapped[11] = swapped[11], swapped[10]
    return [
        honest, "\n".join(f"- {c}" for c in ordered), "\n".join(f"* {c}." for c in ordered),
        "\n".join(f"{i}. {c}" for i, c in enumerate(ordered, 1)), "Here is the list:\n\n" + honest,
        honest + "\n\nTotal: 54 countries", "\n".join(ordered[:51]), "\n".join(ordered[:52]), "\n".join(swapped),
        "\n".join(sorted(_AFRICA, key=_fold)), ", ".join(ordered), "\n".join(c.upper() for c in ordered),
        "\n\n".join(ordered), honest.replace("\n", "\r\n"), "\n".join(["Zimbabwe"] * 52),
        "\n".join(ordered).replace("Zimbabwe", "zimbabwe"), "\n".join(f"**{c}**" for c in ordered),
        honest.replace("C\u00f4te", "Cote"), "\n".join(f"\t{c}" for c in ordered), *_EDGE,
    ]


_ALPHABET_STORY = [
    "A fox woke early.", "By dawn it was hungry.", "Carefully it crept out.", "Dew covered the grass.",
    "Every bird was silent.", "Far away a dog barked.", "Gently the fox moved on.", "Hunger drove it forward.",
    "In the field it found a nest.", "Just one egg was left.", "Keeping still, it waited.", "Loud wings beat above.",
    "Mother hawk had returned.", "Now the fox had to run.", "Over the hill it fled.", "Past the old barn it hid.",
    "Quiet fell again.", "Rain began to fall.", "Soaked, it went home.", "There its cubs were waiting.",
    "Under the roots they slept.", "Very tired, the fox lay down.", "Wind howled outside.", "Xylophone chimes rang in a dream.",
    "Yet the fox slept soundly.", "Zero worries remained.",
]


def _sentence_alphabet(kwargs: dict, prompt: str) -> "list[str]":
    story = _ALPHABET_STORY
    swapped = story[:]
    swapped[4], swapped[5] = swapped[5], swapped[4]
    return [
        " ".join(story), "\n".join(story), " ".join(s.lower() for s in story), " ".join(story[:25]),
        " ".join(story + ["And then it ended."]), " ".join(swapped), " ".join(['"' + story[0][:-1] + '," it said.', *story[1:]]),
        " ".join(story).replace("Just one egg", "Just Mr. Egg"), " ".join(story).replace("Past the old barn", "P.S. the old barn"),
        "Once upon a time. " + " ".join(story), "\n".join(f"{i}. {s}" for i, s in enumerate(story, 1)),
        " ".join(f"**{s}**" for s in story), " ".join(story).replace(".", "!"), " ".join(story).replace("A fox", "\u00c0 fox"),
        *_EDGE,
    ]


def _word_reverse(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "eagle bald the is US the of symbol national The", "eagle bald the is US the of symbol national The.",
        ".eagle bald The", "Eagle bald.", "The bald eagle.", "eagle bald", "bald eagle", "eagle  bald\nthe is It",
        "eagle bald the is It. Symbol national.", "eagle bald the is it\u3002", "eagle bald the is it\u2026 ok",
        "**eagle bald** the is It", "Answer: eagle bald the is It", "eagle-bald the is It", "EAGLE BALD",
        "eagle bald the is It? Yes! Mr. Sure.", "eaglebald", " ".join(["word"] * 50_000) + " eagle bald", *_EDGE,
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "custom:character_reverse": _character_reverse,
    "custom:csv_city": _csv_city,
    "custom:csv_quotes": _csv_quotes,
    "custom:csv_special_character": _csv_special_character,
    "custom:date_format_list": _date_format_list,
    "custom:european_capitals_sort": _european_capitals_sort,
    "custom:mcq_count_length": _mcq_count_length,
    "custom:multiples": _multiples,
    "custom:reverse_newline": _reverse_newline,
    "custom:sentence_alphabet": _sentence_alphabet,
    "custom:word_reverse": _word_reverse,
}

EXTRA_KWARGS: "dict[str, list[dict]]" = {}  # none of the custom ids takes kwargs
