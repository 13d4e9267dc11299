"""The TOML files of survey_templates as data: a syntax error becomes the file's own configuration error."""

from __future__ import annotations

import tomllib
from typing import Any


def parse_toml(text: str, *, file: str, error: type[Exception]) -> dict[str, Any]:
    """``text`` as a table; ``error("<file>: not valid TOML: …")`` when staff broke its syntax."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{file}: not valid TOML: {exc}") from exc
