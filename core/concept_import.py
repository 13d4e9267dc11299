"""An agency's existing concept read from a workbook: its activities by institution, every problem by sheet and cell.

The sheets hold the survey sheet's columns (matched by header text, as in returns) plus a column
``Institution`` (Kürzel or name). Cells are checked with the returns' own row checker; catalog values
written slightly differently (case, spaces, "u." for "und", "ae" for "ä") are taken and listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from core.activity import Activity, activity_key
from core.catalog import Catalogs
from core.cellvalue import cell_to_text
from core.grid import HEADER_SEARCH_ROWS, MAX_COLUMNS, Grid, Value
from core.problem import Problem, cell_address, column_letter
from core.sheet_check import RowChecker, check_order, merged_problems, normalise, scan_header
from core.sheet_spec import Column, SheetSpec
from core.text import fold, squash_spaces

MAX_ROWS = 20_000  # activity rows read per sheet; a region's whole concept has a few hundred
INSTITUTION = Column(key="_institution", header="Institution")
INSTITUTION_HEADERS = ("Institution", "Kürzel", "Institution (Kürzel)", "Einrichtung")
LABEL_MAX_LENGTH = 40
ANCHORS = {"title", "field_of_action"}  # a sheet is part of the concept when a header row holds these


@dataclass(frozen=True)
class InstitutionRef:
    code: str
    name: str


@dataclass(frozen=True)
class ImportProblem:
    """A problem of the imported file: ``sheet`` and ``cell`` say where (``None``: the whole file or sheet)."""

    sheet: str | None
    cell: str | None
    column: str | None
    message: str

    @property
    def where(self) -> str:
        """``Blatt „IHK“, Zelle D7`` as staff look it up; empty for a problem of the whole file."""
        if self.sheet is None:
            return ""
        return f"Blatt „{self.sheet}“" + (f", Zelle {self.cell}" if self.cell else "")

    @property
    def text(self) -> str:
        """The whole line: where, which column, what."""
        where = self.where + (f" ({self.column})" if self.where and self.cell and self.column else "")
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"sheet": self.sheet, "cell": self.cell, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Adjusted:
    """A value written slightly differently from the catalog (or an institution's code or name) and taken."""

    sheet: str
    cell: str
    column: str
    old: str
    new: str

    def as_dict(self) -> dict[str, str]:
        return {"sheet": self.sheet, "cell": self.cell, "column": self.column, "old": self.old, "new": self.new}


@dataclass(frozen=True)
class Origin:
    """Where an activity stands in the file."""

    sheet: str
    row: int


@dataclass
class ConceptRead:
    activities: list[Activity] = field(default_factory=list)  # key set only where the file gave a valid ID
    origins: list[Origin] = field(default_factory=list)       # one per activity
    problems: list[ImportProblem] = field(default_factory=list)
    adjusted: list[Adjusted] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)                  # read as part of the concept
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (sheet, why) not part of it
    named_by_sheet: dict[str, str] = field(default_factory=dict)     # sheet → institution from its name

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Activities per institution code, in the order institutions first appear."""
        counts: dict[str, int] = {}
        for activity in self.activities:
            counts[activity.institution_code] = counts.get(activity.institution_code, 0) + 1
        return counts


def loose(text: str) -> str:
    """Lookup key for near-misses: besides case, spaces and dashes (``normalise``), "u.", "&" and "+" mean
    "und", umlauts may be written "ae", "oe", "ue", and blanks around "-" and "/" do not count."""
    text = normalise(text).replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = re.sub(r"\s*[&+]\s*|\bu\.\s*|\bu\b", " und ", text)
    text = re.sub(r"\s*([-/])\s*", r"\1", text)
    return squash_spaces(text)


def _unambiguous(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """key → value, leaving out keys that would stand for two different values."""
    found: dict[str, set[str]] = {}
    for key, value in pairs:
        found.setdefault(key, set()).add(value)
    return {key: next(iter(values)) for key, values in found.items() if len(values) == 1}


class _Institutions:
    """Finds an institution by its code or name, exactly or nearly written."""

    def __init__(self, institutions: list[InstitutionRef]) -> None:
        self.names = {i.code: i.name for i in institutions}
        self.exact = {i.code: i.code for i in institutions} | {i.name: i.code for i in institutions}
        self.near = (_unambiguous([(loose(i.name), i.code) for i in institutions])
                     | _unambiguous([(fold(i.name), i.code) for i in institutions])
                     | {loose(i.code): i.code for i in institutions}
                     | {fold(i.code): i.code for i in institutions})

    def match(self, text: str) -> tuple[str | None, bool]:
        """The code, and whether the text was only nearly the code or name."""
        text = squash_spaces(text)
        if text in self.exact:
            return self.exact[text], False
        code = self.near.get(fold(text)) or self.near.get(loose(text))
        return code, code is not None

    def listed(self) -> str:
        codes = sorted(self.names)
        return ", ".join(codes) if len(codes) <= 40 else ", ".join(codes[:40]) + ", …"


class _Row(RowChecker):
    """The returns' row checker with messages that leave the place to ``ImportProblem``."""

    def problem(self, column: Column, message: str) -> None:
        self.problems.append(Problem(cell_address(self.positions[column.key], self.number), column.header, message))


@dataclass
class _Reading:
    """What the whole file is checked against, the result so far and what was seen (for duplicates)."""

    spec: SheetSpec
    catalogs: Catalogs
    institutions: _Institutions
    lookups: dict[str, dict[str, str]]  # column key → loose(catalog value) → catalog value
    result: ConceptRead = field(default_factory=ConceptRead)
    titles: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (code, title) → sheet, cell
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)                # ID → sheet, cell

    def problem(self, sheet: str | None, problem: Problem) -> None:
        self.result.problems.append(ImportProblem(sheet, problem.cell, problem.column, problem.message))


def read_concept(grids: list[Grid], *, spec: SheetSpec, catalogs: Catalogs,
                 institutions: list[InstitutionRef]) -> ConceptRead:
    """Check every sheet of an imported concept; the activities are only meaningful without problems.

    A sheet whose header does not hold Titel and Handlungsfeld is skipped (listed, not an error), unless
    no sheet has such a header. Activities keep an ID from the file only if it is one of their institution's.
    """
    reading = _Reading(spec, catalogs, _Institutions(institutions), lookups={
        c.key: _unambiguous([(loose(v), v) for v in spec.choices(c, catalogs)]) for c in spec.columns if c.catalog})
    if not institutions:
        reading.problem(None, Problem(None, None, "Es sind noch keine Institutionen eingelesen. Bitte zuerst die "
                                                  "Liste der Institutionen einlesen (fko institutions import)."))
    wanted = {normalise(c.header): c.key for c in spec.columns} | {normalise(h): INSTITUTION.key
                                                                  for h in INSTITUTION_HEADERS}
    for grid in grids:
        _read_sheet(reading, grid, wanted)
    result = reading.result
    read_names = {g.activity_sheet for g in grids}
    hidden = [n for n in (grids[0].sheet_names if grids else []) if n not in read_names]
    result.skipped.extend((name, "ausgeblendet") for name in hidden)
    if not result.sheets:
        needed = ", ".join(f"„{spec.column(k).header}“" for k in ("title", "field_of_action", "status"))
        skipped = "; ".join(f"„{name}“ ({why})" for name, why in result.skipped)
        reading.problem(None, Problem(None, None, f"In keinem Blatt der Datei steht eine Kopfzeile mit den Spalten "
                                                  f"{needed} und „Institution“ (in den ersten {HEADER_SEARCH_ROWS} "
                                                  f"Zeilen). Übersprungen: {skipped or 'keine Blätter'}."))
    elif not result.activities and not result.problems:
        reading.problem(None, Problem(None, None, "Die Datei enthält keine Aktivitäten, nur Kopfzeilen."))
    return result


def _read_sheet(reading: _Reading, grid: Grid, wanted: dict[str, str]) -> None:
    name = grid.activity_sheet or ""
    result, spec = reading.result, reading.spec
    if grid.total_columns > MAX_COLUMNS:
        reading.problem(name, Problem(None, None, f"Das Blatt enthält Einträge bis Spalte "
                                                  f"{column_letter(grid.total_columns - 1)}. Bitte alles rechts "
                                                  "der Tabelle löschen oder das Blatt aus der Datei entfernen."))
        return
    labels = spec.field_labels() | {INSTITUTION.key: INSTITUTION.header}
    header_row, positions, header_problems = scan_header(grid.rows, wanted, anchors=ANCHORS, labels=labels)
    if header_row < 0:
        empty = all(cell_to_text(v) == "" for row in grid.rows for v in row)
        result.skipped.append((name, "leer" if empty else f"keine Kopfzeile mit „{spec.column('title').header}“ "
                                                          f"und „{spec.column('field_of_action').header}“"))
        return
    result.sheets.append(name)
    stops = list(header_problems)  # problems of the columns themselves: the rows cannot be checked
    stops += [Problem(None, c.header, f"Die Spalte „{c.header}“ fehlt.")
              for c in spec.columns if c.required and c.key not in positions]
    sheet_code = None
    if INSTITUTION.key not in positions:
        sheet_code, _ = reading.institutions.match(name)
        if sheet_code is None:
            stops.append(Problem(None, INSTITUTION.header, f"Die Spalte „Institution“ fehlt, und der Blattname "
                                                           f"„{name}“ ist keine eingelesene Institution. Bitte eine "
                                                           "Spalte „Institution“ mit dem Kürzel oder Namen der "
                                                           "Institution ergänzen."))
        else:
            result.named_by_sheet[name] = sheet_code
    stops += merged_problems(grid, header_row)
    for problem in stops:
        reading.problem(name, problem)
    if stops:
        return
    for index in range(header_row + 1, len(grid.rows)):
        row = grid.rows[index]
        cells = {key: (row[col] if col < len(row) else None) for key, col in positions.items()}
        if all(cell_to_text(v) == "" for v in cells.values()):
            continue
        _read_row(reading, name, index + 1, positions, cells, sheet_code)
    if grid.total_rows > len(grid.rows):
        reading.problem(name, Problem(None, None, f"Das Blatt enthält Einträge bis Zeile {grid.total_rows}; "
                                                  f"gelesen werden höchstens {MAX_ROWS} Zeilen je Blatt. Bitte die "
                                                  "Aktivitäten auf mehrere Blätter verteilen."))


def _read_row(reading: _Reading, sheet: str, number: int, positions: dict[str, int], cells: dict[str, Value],
              sheet_code: str | None) -> None:
    """Check one non-empty row and add its activity and problems."""
    spec, result = reading.spec, reading.result
    row = _Row(spec, reading.catalogs, number, positions, reading.lookups, key=loose)
    code = sheet_code if INSTITUTION.key not in positions else _institution(reading, row, sheet, cells[INSTITUTION.key])
    values = {c.key: row.value(c, cells[c.key]) for c in spec.columns if c.kind != "id" and c.key in positions}
    check_order(row, spec, values)
    key = _key(reading, row, sheet, code, cells.get(spec.id_column.key))
    _check_duplicate(reading, row, sheet, code, values.get("title", ""))
    column_of = {c.header: positions[c.key] for c in (*spec.columns, INSTITUTION) if c.key in positions}
    for problem in sorted(row.problems, key=lambda p: column_of.get(p.column or "", 0)):  # stable: as found
        reading.problem(sheet, problem)
    for change in row.adjusted:
        result.adjusted.append(Adjusted(sheet, cell_address(positions[change.column.key], number), change.column.header,
                                        change.old, change.new))
    if code is None:
        return
    core = {c.key: values.get(c.key, "") for c in spec.columns if c.is_core_field}
    extra = {k: v for k, v in values.items() if v and not spec.column(k).is_core_field}
    result.activities.append(Activity(key=key, institution_code=code, extra=extra, **core))
    result.origins.append(Origin(sheet, number))


def _institution(reading: _Reading, row: _Row, sheet: str, raw: Value) -> str | None:
    text = squash_spaces(cell_to_text(raw))
    if not text:
        row.problem(INSTITUTION, "Die Institution fehlt. Bitte ihr Kürzel oder ihren Namen eintragen.")
        return None
    code, near = reading.institutions.match(text)
    if code is None:
        row.problem(INSTITUTION, f"„{text}“ ist keine eingelesene Institution. Bitte Kürzel oder Namen "
                                 f"eintragen; eingelesen sind: {reading.institutions.listed()}.")
    elif near:
        reading.result.adjusted.append(Adjusted(sheet, cell_address(row.positions[INSTITUTION.key], row.number),
                                                INSTITUTION.header, text,
                                                f"{code} ({reading.institutions.names[code]})"))
    return code


def _key(reading: _Reading, row: _Row, sheet: str, code: str | None, raw: Value) -> str | None:
    """The ID the file gives, if it is one of the institution's (``IHK-0007``); otherwise a problem."""
    text = squash_spaces(cell_to_text(raw)).upper()
    if not text or code is None:
        return None
    match = re.fullmatch(rf"{re.escape(code)}-0*(\d{{1,6}})", text)
    if match is None or int(match[1]) == 0:
        row.problem(reading.spec.id_column, f"„{text}“ ist keine ID der Institution {code}. IDs vergibt fko beim "
                                            f"Einlesen: bitte die Zelle leeren (übernommen werden nur IDs wie "
                                            f"{activity_key(code, 7)}).")
        return None
    key = activity_key(code, int(match[1]))
    cell = cell_address(row.positions[reading.spec.id_column.key], row.number)
    if key in reading.keys:
        first_sheet, first_cell = reading.keys[key]
        row.problem(reading.spec.id_column, f"Die ID „{key}“ steht bereits in Blatt „{first_sheet}“, Zelle "
                                            f"{first_cell}. Jede Aktivität darf nur einmal vorkommen.")
        return None
    reading.keys[key] = (sheet, cell)
    return key


def _check_duplicate(reading: _Reading, row: _Row, sheet: str, code: str | None, title: str) -> None:
    if code is None or not title or "title" not in row.positions:
        return
    cell = cell_address(row.positions["title"], row.number)
    first = reading.titles.setdefault((code, fold(title)), (sheet, cell))
    if first != (sheet, cell):
        row.problem(reading.spec.column("title"), f"Die Aktivität „{title}“ von {code} steht bereits in Blatt "
                                                  f"„{first[0]}“, Zelle {first[1]}. Jede Aktivität darf nur "
                                                  "einmal vorkommen.")


def version_problems(label: str, *, label_given: bool, published: list[str], draft: str | None) -> list[ImportProblem]:
    """Whether the concept may become the published version ``label``.

    ``published``: labels of the published versions; ``draft``: why an existing draft of that label cannot
    take the concept (``None``: there is none, or it can).
    """
    if not label.strip() or len(label) > LABEL_MAX_LENGTH:
        return [ImportProblem(None, None, None, f"Die Version braucht einen Namen mit 1 bis {LABEL_MAX_LENGTH} "
                                                "Zeichen (--label).")]
    if label in published:
        return [ImportProblem(None, None, None, f"Die Version „{label}“ ist bereits veröffentlicht. Ein weiteres "
                                                "Konzept nur unter einem neuen Namen einlesen (--label).")]
    if published and not label_given:
        return [ImportProblem(None, None, None, f"Es gibt bereits eine veröffentlichte Version "
                                                f"({', '.join(published)}). Ein weiteres Konzept wird nur mit "
                                                "--label NAME als neue Version eingelesen.")]
    if draft is not None:
        return [ImportProblem(None, None, None, f"Es gibt bereits einen Entwurf „{label}“ ({draft}). Bitte mit "
                                                "--label einen anderen Namen wählen.")]
    return []


def assign_keys(activities: list[Activity], last_numbers: dict[str, int]) -> list[Activity]:
    """Stable IDs for the activities without one: each institution's next numbers after its counter
    (``last_numbers``) and after the IDs kept from the file, in file order."""
    last = dict(last_numbers)
    for activity in activities:
        if activity.key:
            number = int(activity.key.rsplit("-", 1)[1])
            last[activity.institution_code] = max(last.get(activity.institution_code, 0), number)
    keyed = []
    for activity in activities:
        if activity.key:
            keyed.append(activity)
            continue
        code = activity.institution_code
        last[code] = last.get(code, 0) + 1
        keyed.append(replace(activity, key=activity_key(code, last[code])))
    return keyed
