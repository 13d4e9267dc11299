"""Factories that build input files in memory for the tests."""

from __future__ import annotations

import io

from openpyxl import Workbook

from storage.template_folder import load_catalogs, load_demo, load_spec

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


# --- survey workbooks -------------------------------------------------------------------------

SHEET_SECRET = b"test-secret"


def templates():  # type: ignore[no-untyped-def]
    from usecases.settings import BUNDLED_TEMPLATES

    return load_spec(BUNDLED_TEMPLATES), load_catalogs(BUNDLED_TEMPLATES)


def demo_activities(code: str = "IHK") -> list:  # type: ignore[type-arg]
    from usecases.settings import BUNDLED_TEMPLATES

    _, catalogs = templates()
    return [a for a in load_demo(BUNDLED_TEMPLATES, catalogs).activities if a.institution_code == code]


def sheet_info(code: str = "IHK", year: int = 2026, region: str = "aachen"):  # type: ignore[no-untyped-def]
    import datetime as dt

    from core.workbook_build import SheetInfo

    return SheetInfo(region_code=region, region_name="Region Aachen", cycle_year=year, institution_code=code,
                     institution_name=f"Institution {code}", base_label="2025",
                     agency_name="Regionalagentur Region Aachen", agency_email="fachkraefte@example.org",
                     agency_phone="0241 99999-0", deadline=dt.date(2026, 10, 15))


def build_sheet_bytes(activities: list | None = None, *, code: str = "IHK", year: int = 2026,  # type: ignore[type-arg]
                      region: str = "aachen", secret: bytes = SHEET_SECRET) -> bytes:
    from core.workbook_build import build_workbook

    spec, catalogs = templates()
    return build_workbook(spec=spec, catalogs=catalogs, info=sheet_info(code, year, region),
                          activities=demo_activities(code) if activities is None else activities, secret=secret)


def edit_sheet(data: bytes, edits: dict[str, object], sheet: str = "Aktivitäten") -> bytes:
    """Change cells with openpyxl (as a scripted edit would); a value of None clears the cell."""
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    worksheet = workbook[sheet]
    for address, value in edits.items():
        worksheet[address].value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def check_bytes(data: bytes, *, code: str | None = "IHK", year: int = 2026, base: list | None = None):  # type: ignore[no-untyped-def, type-arg]
    """Read and check in this process (our own, trusted test files)."""
    from core.sheet_check import Expected
    from core.workbook_read import read_workbook

    spec, catalogs = templates()
    return read_workbook(data, spec=spec, catalogs=catalogs,
                         expected=Expected("aachen", year, SHEET_SECRET, code),
                         base=demo_activities(code or "IHK") if base is None else base)
