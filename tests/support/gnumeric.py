"""Gnumeric (Debian package gnumeric), headless through its ssconvert: our sheets opened, edited and saved
by another spreadsheet program than LibreOffice, as .xlsx, .ods and .xls."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

FORMATS = ("xlsx", "ods", "xls")  # ssconvert picks the writer by the suffix: Excel 2007, ODF 1.2, Excel 97

# What a person types into Gnumeric (ssconvert --set parses it as typed input, like the cell editor):
# the same edits as tests/fixtures/lo_edit.py made in LibreOffice, where Gnumeric's typing allows.
EDITS: tuple[tuple[str, str], ...] = (
    ("B2", "Ausbildungsbotschafter:innen (erweitert)"),
    ("C2", "Auszubildende berichten in Schulklassen.\nNeu: auch an Förderschulen – für Schüler:innen mit "
           "Förderbedarf; Größe der Gruppen ≤ 12."),   # a line break in the cell (ODS: <text:line-break/>)
    ("E3", "entfällt"),
    ("F4", "15.03.2026"),                              # not a date where typed (locale C): stays text
    ("G4", "46203"),                                   # a date as a bare serial number (2026-06-30)
    *((f"{column}5", "") for column in "BCDEFGHIJKLMNO"),  # row 5 cleared instead of deleted
    ("F6", "=2020+3"),                                 # a formula in the Beginn column: its value 2023
    ("O6", "=10+2"),                                   # typed into a text column: stays the text "=10+2"
    ("B8", "Azubi-Werkstatt Energiewende"),            # a new activity below the old ones
    ("D8", "Transformation und Digitalisierung der Arbeitswelt"),
    ("E8", "geplant"),
    ("F8", "2026"),
    ("G8", "'12.2027"),                                # the apostrophe keeps it text, as in any spreadsheet
    ("H8", "Auszubildende; Unternehmen"),
    ("I8", "StädteRegion Aachen"),
    ("O8", "'=keine Formel, nur Text"),
)


def ssconvert(source: Path, target: Path, *, edits: Sequence[tuple[str, str]] = ()) -> None:
    """Open ``source`` in Gnumeric, type ``edits`` into its first sheet, recalculate, save as ``target``."""
    command = [shutil.which("ssconvert") or "/usr/bin/ssconvert", "--recalc"]
    command += [f"--set={cell}={text}" for cell, text in edits]
    with tempfile.TemporaryDirectory(prefix="fko-gnumeric-") as home:
        # Its own HOME: Gnumeric writes settings there; C locale: typed input is read the same everywhere.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LC_ALL": "C.UTF-8"}
        completed = subprocess.run([*command, str(source), str(target)], env=env, capture_output=True, text=True,
                                   timeout=120, check=False)
    if completed.returncode != 0 or not target.is_file():
        raise RuntimeError(f"ssconvert failed ({completed.returncode}): {completed.stderr[-2000:]}")


def write_returns(base: Path, out: Path) -> list[Path]:
    """``gn_unedited.*`` and ``gn_edited.*`` in every format from ``base`` (an fko-built .xlsx)."""
    written = []
    for suffix in FORMATS:
        for name, edits in (("gn_unedited", ()), ("gn_edited", EDITS)):
            target = out / f"{name}.{suffix}"
            ssconvert(base, target, edits=edits)
            written.append(target)
    return written
