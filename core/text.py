"""Whitespace as readers see it: runs of spaces, tabs and line breaks count as one space."""

from __future__ import annotations


def squash_spaces(text: str) -> str:
    """``"  a \\n b "`` → ``"a b"``."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """For comparing names and headers: squashed and case-folded (``"Straße "`` matches ``"STRASSE"``)."""
    return squash_spaces(text).casefold()
