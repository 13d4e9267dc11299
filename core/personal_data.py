"""A person's data on request (GDPR Art. 15 and 17): recognising them in stored values and replacing them.

A person is known by their e-mail address; contacts and activities also name them by their name. Erasing
replaces the address and the name wherever they occur with a placeholder; the structure (which mail went
when, which return came when) stays for the record.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import TypeVar

ERASED = "[gelöscht]"
ERASED_DOMAIN = "geloescht.invalid"  # .invalid: can never receive mail (RFC 2606)
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")

T = TypeVar("T")


def normalise_address(text: str) -> str:
    return text.strip().lower()


def is_address(text: str) -> bool:
    return bool(_ADDRESS.match(text.strip()))


def normalise_name(text: str) -> str:
    return " ".join(text.split()).casefold()


def person_key(secret: bytes, address: str) -> str:
    """The key an erasure is recorded under: an HMAC of the address with the installation's secret, so the record
    recognises a repeated request without keeping the address (and a list of keys reveals no addresses)."""
    return hmac.new(secret, b"person:" + normalise_address(address).encode(), hashlib.sha256).hexdigest()


def erased_address(kind: str, number: int) -> str:
    """A unique stand-in for an erased address (contacts and accounts need one per row)."""
    return f"geloescht-{kind}-{number}@{ERASED_DOMAIN}"


def _replace_address(text: str, address: str) -> str:
    return re.sub(re.escape(address), ERASED, text, flags=re.IGNORECASE)


def scrub(value: T, address: str, names: frozenset[str] = frozenset()) -> T:
    """``value`` (text, or JSON-like lists and dicts of them) with the address replaced wherever it occurs and
    every text that is exactly one of the (normalised) ``names`` replaced; keys stay."""
    if isinstance(value, str):
        if names and normalise_name(value) in names:
            return ERASED  # type: ignore[return-value]
        return _replace_address(value, address) if address else value  # type: ignore[return-value]
    if isinstance(value, list):
        return [scrub(item, address, names) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: scrub(item, address, names) for key, item in value.items()}  # type: ignore[return-value]
    return value


def mentions(value: object, address: str, names: frozenset[str] = frozenset()) -> bool:
    """Whether ``value`` holds the address (anywhere in a text) or one of the names (as a whole text)."""
    return scrub(value, address, names) != value


def redact_activity(fields: Mapping[str, object], address: str, names: frozenset[str]) -> dict[str, object]:
    """An activity's fields without the person: the e-mail and contact-person fields emptied when they name
    them (empty is what the sheet shows as "not given"), the address taken out of every other text."""
    redacted: dict[str, object] = {}
    for key, value in fields.items():
        names_them = isinstance(value, str) and (
            (key == "email" and normalise_address(value) == address)
            or (key == "contact_person" and normalise_name(value) in names))
        redacted[key] = "" if names_them else scrub(value, address)
    return redacted
