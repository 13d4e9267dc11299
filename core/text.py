"""Text as readers see it: whitespace, counts with their noun, German reasons for file errors, masked URLs."""

from __future__ import annotations

import re


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


def counted(number: int, one: str, many: str) -> str:
    """A number with its noun in the right form: ``counted(1, "E-Mail", "E-Mails")`` → ``"1 E-Mail"``."""
    return f"{number} {one if number == 1 else many}"


def masked(url: str) -> str:
    """A URL fit for a message: any password replaced by ***."""
    return re.sub(r"([^:/@\s]+):[^@/\s]*@", r"\1:***@", url)


_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def without_controls(text: str) -> str:
    """Text for a document: control characters (tab and line break aside) dropped; a PDF would show them."""
    return _CONTROLS.sub("", text)
