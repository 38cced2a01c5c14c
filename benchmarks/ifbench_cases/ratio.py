"""Candidate responses for IFBench's ``ratio:*`` instructions (the differential run).

``RESPONSES[id](kwargs, prompt)`` -> responses that follow, that narrowly violate, and edge
cases for that id; ``EXTRA_KWARGS[id]`` -> kwargs beyond the data's, at the boundaries.
Pure standard library (it also runs in the reference venv); deterministic.
"""
from __future__ import annotations

from collections.abc import Callable

from .count import EDGES, huge, sentence, words

STOP = ("the", "of", "and", "to", "in", "is", "it", "that", "was", "for")  # nltk English stop words


def _mix(stop: int, total: int) -> str:
    """``total`` words of which ``stop`` are stop words, spread out."""
    content = words(total - stop)
    out, k = [], 0
    for i in range(total):
        if k < stop and (i * stop) // max(total, 1) >= k:
            out.append(STOP[k % len(STOP)])
            k += 1
        else:
            out.append(content[i - k])
    return sentence(out)


def stop_words(kwargs: dict, prompt: str) -> "list[str]":
    p = float(kwargs["percentage"])
    at = int(p)  # of 100 words
    return [
        _mix(at, 100), _mix(min(at + 1, 100), 100), _mix(max(at - 1, 0), 100),
        _mix(7, 25), _mix(14, 50), _mix(29, 100),  # exactly 28 %, 28 %, 29 %: float rounding
        sentence(list(STOP)),
        sentence(words(30)),
        "!!! ??? ...",
        "THE Of AND " + sentence(words(10)),
        "* " + "\n* ".join(_mix(at, 100).split(". ")),
        huge(_mix(at, 100) + " "),
        *EDGES,
    ]


def _foreign(n: int) -> str:
    """``n`` characters whose trigrams occur in no ordinary reference (CJK ideographs in order)."""
    return "".join(chr(0x4E00 + i) for i in range(n))


def _trigram_overlap(response: str, reference: str) -> float:
    own = set(zip(response, response[1:], response[2:]))
    ref = set(zip(reference, reference[1:], reference[2:]))
    return 100 * len(own & ref) / len(own) if own else 0.0


def _aimed(reference: str, percentage: float, offset: float) -> str:
    """The reference followed by foreign characters, overlap as near ``percentage + offset``."""
    target = percentage + offset
    best, best_gap = reference, abs(_trigram_overlap(reference, reference) - target)
    total = len(set(zip(reference, reference[1:], reference[2:])))
    if target <= 0 or total == 0:
        return _foreign(200)
    guess = int(total * (100 / target - 1))
    for extra in range(max(guess - 6, 0), guess + 7):
        candidate = reference + _foreign(extra)
        gap = abs(_trigram_overlap(candidate, reference) - target)
        if gap < best_gap:
            best, best_gap = candidate, gap
    return best


def overlap(kwargs: dict, prompt: str) -> "list[str]":
    reference, p = kwargs["reference_text"], float(kwargs["percentage"])
    return [
        _aimed(reference, p, 0), _aimed(reference, p, 1.5), _aimed(reference, p, -1.5),
        _aimed(reference, p, 2.5), _aimed(reference, p, -2.5), _aimed(reference, p, 10),
        reference, prompt, " ".join(reference.split()), reference.upper(),
        sentence(words(40)), "ab", "abc", reference[:3],
        huge(reference + " "),
        *EDGES,
    ]


def sentence_type(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "The sky is blue. Grass is green. Why is that?",
        "The sky is blue. Grass is green. Water is wet. Why? How so? Is it?",
        "The sky is blue. Why is that?",
        "The sky is blue. Grass is green. Water is wet. Why is that?",
        "Wow! Amazing! Look at that",  # neither statements nor questions
        "no punctuation at all",
        "He said \"stop.\" She left. Why?",
        "Dr. Smith arrived at 5 p.m. on Jan. 3. He left. Was it late?",
        "* First point.\n* Second point.\n* A question?",
        "The sky is blue.\n\nGrass is green.\n\nWhy is that?",
        huge("It is. It was. Is it? "),
        *EDGES,
    ]


def sentence_balance(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "The sky is blue. Why is that? What a sight!",
        "The sky is blue. Grass is green. Why? How? Wow! Great!",
        "The sky is blue. Why is that?",
        "The sky is blue. Why is that? What a sight! Another fact.",
        "no punctuation at all",
        "Hmm... Really?! Yes!?",
        "Mr. Brown left. Did he? He did!",
        "* A fact.\n* A question?\n* An exclamation!",
        huge("It is. Is it? It is! "),
        *EDGES,
    ]


def sentence_words(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Cats run. Dogs dig. Owls fly.",
        "Cats run. Cats run. Cats run.",  # same length, the same words
        "Cats run. Dogs dig. Owls flew.",
        "Cats run. Dogs dig.",
        "Cats run. Dogs dig. Owls fly. Bees hum.",
        "Red fox jumps! Old cat naps? Big dog barks.",
        "The cat sat. The dog ran. Big owls fly.",  # equal lengths, "The" twice
        "  Cats run.   Dogs dig.  Owls fly.  ",
        "Cats run.\nDogs dig.\nOwls fly.",
        huge("Cats run. "),
        *EDGES,
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "ratio:stop_words": stop_words,
    "ratio:overlap": overlap,
    "ratio:sentence_type": sentence_type,
    "ratio:sentence_balance": sentence_balance,
    "ratio:sentence_words": sentence_words,
}

_REFERENCE = "The quick brown fox jumps over the lazy dog near the riverbank."

EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "ratio:stop_words": [{"percentage": 0}, {"percentage": 1}, {"percentage": 28},
                         {"percentage": 100}, {"percentage": 33.5}],
    "ratio:overlap": [
        {"reference_text": _REFERENCE, "percentage": 0},
        {"reference_text": _REFERENCE, "percentage": 1},
        {"reference_text": _REFERENCE, "percentage": 50},
        {"reference_text": _REFERENCE, "percentage": 100},
        {"reference_text": "ab", "percentage": 10},
        {"reference_text": "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0", "percentage": 40},
    ],
    "ratio:sentence_type": [{}],
    "ratio:sentence_balance": [{}],
    "ratio:sentence_words": [{}],
}
