"""Whitespace as readers see it: runs of spaces, tabs and line breaks count as one space."""

from __future__ import annotations


def squash_spaces(text: str) -> str:
    """``"  a \\n b "`` → ``"a b"``."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """For comparing names and headers: squashed and case-folded (``"Straße "`` matches ``"STRASSE"``)."""
    return squash_spaces(text).casefold()


def os_reason(exc: OSError) -> str:
    """Why a file operation failed, in German (for staff; the exception is given, nothing is read here)."""
    reasons = {FileNotFoundError: "nicht gefunden", IsADirectoryError: "ist ein Ordner",
               NotADirectoryError: "ein Teil des Pfads ist kein Ordner", PermissionError: "keine Berechtigung",
               FileExistsError: "gibt es bereits"}
    for kind, reason in reasons.items():
        if isinstance(exc, kind):
            return reason
    return "nicht beschreibbar" if exc.errno in (30, 28) else (exc.strerror or type(exc).__name__)
