"""Factories that build input files in memory for the tests."""

from __future__ import annotations

import io

from openpyxl import Workbook

INSTITUTION_HEADER = ["Kürzel", "Name", "Art", "Gebietskörperschaft", "Aktiv", "Ansprechperson", "E-Mail", "Rolle"]


def institutions_csv(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8",
                     header: list[str] | None = None) -> bytes:
    lines = [delimiter.join(header or INSTITUTION_HEADER)] + [delimiter.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def institutions_xlsx(rows: list[list[object]], *, header: list[str] | None = None,
                      trailing_empty_rows: int = 0) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or INSTITUTION_HEADER)
    for row in rows:
        sheet.append(row)
    if trailing_empty_rows:
        # What spreadsheet programs leave behind: formatted but empty cells far below the data.
        sheet.cell(row=len(rows) + 1 + trailing_empty_rows, column=1).number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


VALID_ROWS = [
    ["IHK", "IHK Aachen", "Kammer", "", "ja", "Anna Schmitz", "anna.schmitz@ihk.example.org", "Hauptansprechperson"],
    ["IHK", "IHK Aachen", "Kammer", "", "ja", "Ben Berg", "ben.berg@ihk.example.org", "Vertretung"],
    ["IHK", "IHK Aachen", "Kammer", "", "ja", "Carla Chef", "carla.chef@ihk.example.org", "Leitung"],
    ["KDN", "Kreis Düren", "Kommune", "Kreis Düren", "", "Dora Dahmen", "dora@kreis-dueren.example.org", "primär"],
]
