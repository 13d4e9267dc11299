"""The TOML files of survey_templates as data: a syntax error becomes the file's own configuration error."""

from __future__ import annotations

import re
import tomllib
from typing import Any


def parse_toml(text: str, *, file: str, error: type[Exception]) -> dict[str, Any]:
    """``text`` as a table; ``error("<file>: Zeile N, Spalte M: kein gültiges TOML …")`` when staff broke its
    syntax (tomllib's own reason is English and left out; the position is what staff need)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"Zeile {found[1]}, Spalte {found[2]}: " if found else ""
        raise error(f"{file}: {where}kein gültiges TOML. Häufige "
                    "Ursachen: Text ohne Anführungszeichen, ein fehlendes Anführungszeichen, ein doppelter Eintrag."
                    ) from exc
