"""Words for people (pure): one place for plurals, so "1 idle endpoint" and "2 idle endpoints"."""

from __future__ import annotations

_IRREGULAR = {"is": "are", "was": "were", "it": "they", "burns": "burn", "its": "their", "this": "these"}


def plural(word: str, count: int) -> str:
    """``word`` as it reads with ``count``: ``plural("endpoint", 2)`` is ``"endpoints"``,
    ``plural("burns", 2)`` is ``"burn"``, ``plural("it", 2)`` is ``"they"``."""
    if count == 1:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def count(n: int, noun: str) -> str:
    """``count(1, "idle endpoint")`` is ``"1 idle endpoint"``; the last word takes the plural."""
    head, _, last = noun.rpartition(" ")
    return f"{n} {head + ' ' if head else ''}{plural(last, n)}"
