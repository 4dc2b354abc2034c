"""Counts in words: "1 point", "2 points", "0 gaps", so no message says "1 points"."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` followed by the noun in the number it takes (English: 1 is singular)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"
