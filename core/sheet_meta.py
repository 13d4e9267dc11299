"""The hidden ``_meta`` sheet: which region, cycle and institution a workbook belongs to, signed (HMAC)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

NO_BASE = "-"  # base_version of a sheet from a region's first round: no concept before it
META_KEYS = ("format_version", "region", "cycle_year", "institution", "base_version", "signature")


@dataclass(frozen=True)
class SheetMeta:
    format_version: int
    region: str
    cycle_year: int
    institution: str
    base_version: str

    def payload(self) -> bytes:
        parts = ("fko-sheet", str(self.format_version), self.region, str(self.cycle_year), self.institution,
                 self.base_version)
        return "\x1f".join(parts).encode("utf-8")

    def signature(self, secret: bytes) -> str:
        return hmac.new(secret, self.payload(), hashlib.sha256).hexdigest()

    def rows(self, secret: bytes) -> list[tuple[str, str]]:
        """Key/value rows as written to the ``_meta`` sheet (all as text)."""
        return [
            ("format_version", str(self.format_version)),
            ("region", self.region),
            ("cycle_year", str(self.cycle_year)),
            ("institution", self.institution),
            ("base_version", self.base_version),
            ("signature", self.signature(secret)),
        ]


class MetaInvalid(ValueError):
    """The ``_meta`` sheet is missing, incomplete or its signature does not match."""


def read_meta(values: dict[str, str], secret: bytes) -> SheetMeta:
    """Check the key/value pairs read from ``_meta`` and their signature."""
    missing = [k for k in META_KEYS if not values.get(k)]
    if missing:
        raise MetaInvalid(f"missing {', '.join(missing)}")
    try:
        meta = SheetMeta(
            format_version=int(float(values["format_version"])),
            region=values["region"],
            cycle_year=int(float(values["cycle_year"])),
            institution=values["institution"],
            base_version=values["base_version"],
        )
    except (ValueError, OverflowError) as exc:  # "abc", "nan", "inf"
        raise MetaInvalid("malformed number") from exc
    given = values["signature"].strip().lower().encode("utf-8", errors="replace")
    if not hmac.compare_digest(meta.signature(secret).encode(), given):  # bytes: any text compares safely
        raise MetaInvalid("signature does not match")
    return meta
