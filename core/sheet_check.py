"""Check a returned sheet's cells against the spec: every problem at once, by cell, in German."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from core.activity import Activity
from core.catalog import Catalogs
from core.cellvalue import NotADate, cell_to_period, cell_to_text, period_bounds, period_text
from core.grid import HEADER_SEARCH_ROWS, MAX_COLUMNS, Grid, Value
from core.problem import Problem, cell_address, column_letter, row_prefix
from core.sheet_meta import MetaInvalid, SheetMeta, read_meta
from core.sheet_spec import Column, SheetSpec, YearRange
from core.text import fold, squash_spaces

EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]{2,}$")
URL = re.compile(r"^(https?://|www\.)[^\s<>\"]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Expected:
    """What the sheet must match: the link's institution (None: take it from ``_meta``) and cycle, and the
    years the round takes (None: the defaults of ``SheetSpec.round_years``)."""

    region_code: str
    cycle_year: int
    secret: bytes
    institution_code: str | None = None
    years: YearRange | None = None


@dataclass
class SheetResult:
    meta: SheetMeta | None = None
    institution_code: str | None = None
    activities: list[Activity] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)  # sheet row of each activity
    problems: list[Problem] = field(default_factory=list)
    # Shaped like problems but taken as they are: worth a second look (a year after the concept's horizon).
    notices: list[Problem] = field(default_factory=list)
    # Base activities missing from the sheet (or cleared) without an ending status: kept and flagged.
    missing: list[Activity] = field(default_factory=list)
    # Not the expected institution's sheet of this round (or no sheet of ours): one problem says so, and
    # the rows were not checked.
    wrong_file: bool = False
    # The title in each data row checked (sheet row → title; the base title for a row cleared but its ID),
    # so that a person finds the row of a problem by what it holds.
    row_titles: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def normalise(text: str) -> str:
    """For matching headers and catalog values: case, spaces, dashes and a trailing '*' do not matter."""
    text = text.replace("–", "-").replace("—", "-").replace("\u00a0", " ").rstrip("*")
    return fold(text)


OWN_SHEET = ("Bitte laden Sie Ihre eigene Tabelle über Ihren persönlichen Link herunter, tragen Sie Ihre Angaben "
             "dort ein und laden Sie sie hoch.")


def check_meta(grid: Grid, spec: SheetSpec, expected: Expected) -> tuple[SheetMeta | None, list[Problem]]:
    """The sheet's ``_meta`` and, when it is not the expected institution's sheet of this round, the one
    problem that says so (region before institution before round before template): every other finding
    in a wrong file would only bury what to do."""
    sheet = spec.meta_sheet_name
    if not grid.meta:
        return None, [Problem(None, None, "Die Datei ist nicht die persönliche Tabelle aus unserer Abfrage (das "
                                          f"Blatt mit den Zuordnungsdaten fehlt). {OWN_SHEET}")]
    try:
        meta = read_meta(grid.meta, expected.secret)
    except MetaInvalid:
        return None, [Problem(None, None, f"Die Zuordnungsdaten der Datei (Blatt „{sheet}“) sind beschädigt oder "
                                          "wurden verändert. Bitte die Tabelle über Ihren persönlichen Link neu "
                                          "herunterladen und Ihre Einträge dorthin übertragen.")]
    other_year = meta.cycle_year != expected.cycle_year
    if meta.region != expected.region_code:
        message = f"Die Datei gehört zu einer anderen Region. {OWN_SHEET}"
    elif expected.institution_code and meta.institution != expected.institution_code:
        from_year = f" aus der Abfrage {meta.cycle_year}" if other_year else ""
        message = f"Die Datei gehört zu einer anderen Institution ({meta.institution}){from_year}. {OWN_SHEET}"
    elif other_year:
        message = (f"Die Datei stammt aus der Abfrage {meta.cycle_year}. Bitte die Tabelle der Abfrage "
                   f"{expected.cycle_year} über Ihren Link herunterladen.")
    elif meta.format_version != spec.format_version:
        message = ("Die Datei wurde mit einer älteren Vorlage erstellt. Bitte die Tabelle über Ihren Link neu "
                   "herunterladen.")
    else:
        return meta, []
    return meta, [Problem(None, None, message)]


def find_header(grid: Grid, spec: SheetSpec) -> tuple[int, dict[str, int], list[Problem]]:
    """The header row (0-based) and column key → index; problems for duplicate or missing columns."""
    wanted = {normalise(c.header): c.key for c in spec.columns}
    row_index, positions, problems = scan_header(grid.rows, wanted, anchors={spec.id_column.key, "title"},
                                                 labels=spec.field_labels())
    if row_index < 0:
        required = ", ".join(c.header for c in spec.columns if c.required or c.kind == "id")
        return -1, {}, [Problem(None, None, f"Im Blatt „{grid.activity_sheet or spec.sheet_name}“ wurde keine "
                                            f"Kopfzeile mit den Spalten {required} gefunden. Bitte die "
                                            "Spaltenüberschriften nicht ändern oder löschen.")]
    for column in spec.columns:
        if (column.required or column.kind == "id") and column.key not in positions:
            problems.append(Problem(None, column.header, f"Die Spalte „{column.header}“ fehlt. Bitte die "
                                                         "Spaltenüberschriften nicht ändern oder löschen."))
    return row_index, positions, problems


def scan_header(rows: list[list[Value]], wanted: dict[str, str], *, anchors: set[str],
                labels: dict[str, str]) -> tuple[int, dict[str, int], list[Problem]]:
    """The first of the top rows that holds a header for every key of ``anchors`` (0-based, -1 if none),
    column key → index, and a problem for every column that stands twice.

    ``wanted``: normalised header text → column key; ``labels``: column key → header as people read it.
    """
    for row_index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [wanted.get(normalise(cell_to_text(v))) for v in row]
        if not anchors <= set(keys):
            continue
        positions: dict[str, int] = {}
        problems: list[Problem] = []
        for col, key in enumerate(keys):
            if key is None:
                continue
            if key in positions:
                header = labels[key]
                problems.append(Problem(cell_address(col, row_index + 1), header,
                                        f"Die Spalte „{header}“ kommt zweimal vor (Spalten "
                                        f"{column_letter(positions[key])} und {column_letter(col)})."))
            else:
                positions[key] = col
        return row_index, positions, problems
    return -1, {}, []


@dataclass(frozen=True)
class Adjustment:
    """A catalog value written slightly differently (case, spaces, …) and taken as the catalog's value."""

    column: Column
    old: str
    new: str


class RowChecker:
    """Checks the cells of one row and collects problems and notices addressed by cell.

    ``key`` turns a text into its lookup key (default ``normalise``); values matched although written
    differently from the catalog are noted in ``adjusted``. ``years``: what Beginn and Ende take (default:
    every plausible year, as for an imported concept).
    """

    def __init__(self, spec: SheetSpec, catalogs: Catalogs, number: int, positions: dict[str, int],
                 lookups: dict[str, dict[str, str]], key: Callable[[str], str] = normalise,
                 years: YearRange | None = None) -> None:
        self.spec, self.catalogs, self.number, self.positions = spec, catalogs, number, positions
        self.lookups = lookups  # column key → key(catalog value) → catalog value
        self.key = key
        self.years = years or spec.any_years()
        self.problems: list[Problem] = []
        self.notices: list[Problem] = []
        self.adjusted: list[Adjustment] = []

    def problem(self, column: Column, message: str) -> None:
        self.problems.append(Problem(cell_address(self.positions[column.key], self.number), column.header,
                                     f"{row_prefix(self.number, column.header)}{message}"))

    def notice(self, column: Column, message: str) -> None:
        self.notices.append(Problem(cell_address(self.positions[column.key], self.number), column.header,
                                    f"{row_prefix(self.number, column.header)}{message}"))

    def value(self, column: Column, raw: Value) -> str:
        if column.kind == "date":
            try:
                period = cell_to_period(raw)
            except NotADate:
                self.problem(column, f"„{cell_to_text(raw)}“ ist kein gültiges Datum. Bitte ein Datum "
                                     "(TT.MM.JJJJ), einen Monat (MM.JJJJ) oder eine Jahreszahl (JJJJ) eintragen.")
                return ""
            if period:
                self._year(column, period)
            return period
        text = shown = cell_to_text(raw)
        if column.kind != "text" or "\n" not in text:
            text = squash_spaces(text)
        if not text:
            if column.required:
                self.problem(column, "Dieses Pflichtfeld ist leer. Bitte ausfüllen.")
            return ""
        if column.max_length and len(text) > column.max_length:
            self.problem(column, f"Der Text ist {_n(len(text))} Zeichen lang; erlaubt sind höchstens "
                                 f"{_n(column.max_length)}. Bitte kürzen.")
            return text[: column.max_length]
        if column.kind == "choice":
            return self._choice(column, text, shown)
        if column.kind == "multi":
            return self._multi(column, text, shown)
        if column.kind == "email" and not EMAIL.match(text):
            self.problem(column, f"„{text}“ ist keine gültige E-Mail-Adresse.")
        if column.kind == "url" and not URL.match(text):
            self.problem(column, f"„{text}“ ist keine gültige Internetadresse. Bitte mit https:// beginnen.")
        return text

    def _year(self, column: Column, period: str) -> None:
        years, year = self.years, int(period[:4])
        if not years.first <= year <= years.last:
            self.problem(column, f"{period_text(period)} liegt außerhalb der zulässigen Jahre ({years.first} bis "
                                 f"{years.last}). Bitte die Jahreszahl prüfen.")
        elif year > years.horizon:
            self.notice(column, f"{period_text(period)} liegt nach dem Zeitraum des Handlungskonzepts (bis "
                                f"{years.horizon}). Bitte prüfen; die Angabe wird übernommen.")

    def _choice(self, column: Column, text: str, shown: str) -> str:
        match = self.lookups[column.key].get(self.key(text))
        if match is None:
            allowed = self.spec.choices(column, self.catalogs)
            self.problem(column, f"„{text}“ ist kein zulässiger Wert. Zulässig sind: {', '.join(allowed)}.")
            return text
        if match != shown:
            self.adjusted.append(Adjustment(column, shown, match))
        return match

    def _multi(self, column: Column, text: str, shown: str) -> str:
        lookup = self.lookups[column.key]
        parts = [p.strip() for p in re.split(r"[;,\n]", text) if p.strip()]
        unknown = [p for p in parts if self.key(p) not in lookup]
        if unknown:
            allowed = self.spec.choices(column, self.catalogs)
            listed = ", ".join(f"„{u}“" for u in unknown)
            verb = "ist kein zulässiger Wert" if len(unknown) == 1 else "sind keine zulässigen Werte"
            self.problem(column, f"{listed} {verb}. Zulässig sind: {'; '.join(allowed)}. "
                                 "Mehrere Werte bitte mit Semikolon trennen.")
            return text
        matched = [lookup[self.key(p)] for p in parts]
        result = "; ".join(dict.fromkeys(matched))
        if matched != [p.strip() for p in re.split(r"[;,\n]", shown) if p.strip()]:
            self.adjusted.append(Adjustment(column, shown, result))
        return result


def check_sheet(grid: Grid, *, spec: SheetSpec, catalogs: Catalogs, expected: Expected,
                base: list[Activity]) -> SheetResult:
    """Check a returned sheet. ``base``: the institution's activities in the base version.

    With ``expected.institution_code`` unset, the institution is taken from the (verified) ``_meta``
    sheet; the caller then passes that institution's base activities.
    """
    result = SheetResult()
    result.meta, meta_problems = check_meta(grid, spec, expected)
    code = expected.institution_code or (result.meta.institution if result.meta else None)
    result.institution_code = code
    if meta_problems:
        result.problems, result.wrong_file = meta_problems, True
        return result

    header_row, positions, table_problems = _locate_table(grid, spec)
    result.problems.extend(table_problems)
    if header_row < 0 or table_problems:
        return result

    years = expected.years or spec.round_years(expected.cycle_year)
    table = _Table.build(spec, catalogs, positions, base, code or "", years)
    data_rows = 0
    for index in range(header_row + 1, len(grid.rows)):
        row = grid.rows[index]
        cells = {key: (row[col] if col < len(row) else None) for key, col in positions.items()}
        if all(cell_to_text(v) == "" for v in cells.values()):
            continue
        data_rows += 1
        if data_rows > spec.max_rows:
            result.problems.append(Problem(None, None, f"Das Blatt enthält mehr als {_n(spec.max_rows)} "
                                                       "Aktivitäten. Bitte nur die Aktivitäten Ihrer Institution "
                                                       "eintragen."))
            return result
        _check_row(table, result, index + 1, cells)

    if grid.total_rows > len(grid.rows):
        result.problems.append(Problem(None, None, f"Das Blatt enthält Einträge bis Zeile {_n(grid.total_rows)}; "
                                                   f"erlaubt sind höchstens {_n(spec.max_rows)} Aktivitäten. Bitte "
                                                   "Einträge unterhalb der Tabelle löschen."))
    present = {a.key for a in result.activities if a.key}
    result.missing = [a for a in base if a.key not in present and a.status not in catalogs.ending_statuses]
    return result


def _locate_table(grid: Grid, spec: SheetSpec) -> tuple[int, dict[str, int], list[Problem]]:
    """The activity table's header row (-1 if it cannot be checked) and column positions; problems that
    stop the check of its rows: no activity sheet, columns beyond the template, bad header, merged cells."""
    if grid.activity_sheet is None:
        return -1, {}, [Problem(None, None, f"Die Datei enthält kein Blatt „{spec.sheet_name}“.")]
    if grid.total_columns > MAX_COLUMNS:
        return -1, {}, [Problem(None, None, f"Das Blatt „{grid.activity_sheet}“ enthält Einträge bis Spalte "
                                            f"{column_letter(grid.total_columns - 1)}. Bitte alles rechts der "
                                            "letzten Spalte der Vorlage löschen.")]
    header_row, positions, header_problems = find_header(grid, spec)
    if header_row < 0 or header_problems:
        return header_row, positions, header_problems
    return header_row, positions, merged_problems(grid, header_row)


@dataclass
class _Table:
    """What every row of the activity table is checked against, and the IDs seen so far."""

    spec: SheetSpec
    catalogs: Catalogs
    positions: dict[str, int]
    owned: dict[str, Activity]  # the institution's base activities by ID
    institution_code: str
    lookups: dict[str, dict[str, str]]  # column key → normalised catalog value → catalog value
    core_fields: set[str]
    years: YearRange
    checked: list[Column]  # columns present in the sheet
    dropped: list[Column]  # optional columns the program dropped: they keep the base value
    seen: dict[str, int] = field(default_factory=dict)  # ID → first row it stands in

    @classmethod
    def build(cls, spec: SheetSpec, catalogs: Catalogs, positions: dict[str, int], base: list[Activity],
              institution_code: str, years: YearRange) -> _Table:
        return cls(
            spec=spec,
            catalogs=catalogs,
            positions=positions,
            owned={a.key: a for a in base if a.key},
            institution_code=institution_code,
            lookups={c.key: {normalise(v): v for v in spec.choices(c, catalogs)} for c in spec.columns if c.catalog},
            core_fields={c.key for c in spec.columns if c.is_core_field},
            years=years,
            checked=[c for c in spec.columns if c.kind != "id" and c.key in positions],
            dropped=[c for c in spec.columns if c.kind != "id" and c.key not in positions],
        )


def _check_row(table: _Table, result: SheetResult, number: int, cells: dict[str, Value]) -> None:
    """Check one non-empty data row; add its problems and, unless it was cleared, its activity to ``result``."""
    id_column = table.spec.id_column
    checker = RowChecker(table.spec, table.catalogs, number, table.positions, table.lookups, years=table.years)
    key = squash_spaces(cell_to_text(cells[id_column.key])).upper() or None
    content_empty = all(cell_to_text(v) == "" for k, v in cells.items() if k != id_column.key)
    owned = table.owned.get(key) if key else None
    title = squash_spaces(cell_to_text(cells["title"])) if "title" in cells else ""
    result.row_titles[number] = title or (owned.title if owned else "")
    if key is not None:
        if key in table.seen:
            checker.problem(id_column, f"Die ID „{key}“ steht bereits in Zeile {table.seen[key]}. Jede Aktivität "
                                       "darf nur einmal vorkommen; für eine neue Aktivität die ID leer lassen.")
        elif key not in table.owned:
            checker.problem(id_column, f"Die ID „{key}“ gehört zu keiner Aktivität Ihrer Institution. Bitte die "
                                       "ID nicht ändern; neue Aktivitäten ohne ID eintragen.")
        table.seen.setdefault(key, number)
        if content_empty:
            # A row cleared instead of deleted: treated like a missing activity (kept, flagged).
            result.problems.extend(checker.problems)
            return
    values = {column.key: checker.value(column, cells[column.key]) for column in table.checked}
    previous = table.owned.get(key) if key else None
    for column in table.dropped:  # a column the program dropped keeps the base value
        values[column.key] = _field(previous, column) if previous else ""
    check_order(checker, table.spec, values)
    result.problems.extend(checker.problems)
    result.notices.extend(checker.notices)
    core = {k: v for k, v in values.items() if k in table.core_fields}
    extra = {k: v for k, v in values.items() if k not in table.core_fields and v}
    result.activities.append(Activity(key=key, institution_code=table.institution_code, extra=extra, **core))
    result.row_numbers.append(number)


def merged_problems(grid: Grid, header_row: int) -> list[Problem]:
    """Merged cells below the header: a merged range keeps only its first cell's value, so the other
    rows would lose their ID or text without anyone noticing. Refused, each range named."""
    problems = []
    for first_row, first_col, last_row, last_col in sorted(grid.merged):
        if last_row <= header_row or (first_row == last_row and first_col == last_col):
            continue
        cells = f"{cell_address(first_col, first_row + 1)}:{cell_address(last_col, last_row + 1)}"
        problems.append(Problem(cells, None, f"Die Zellen {cells} sind verbunden. Bitte die Verbindung aufheben "
                                             "(in Excel: Start › „Verbinden und zentrieren“) und jede Zeile "
                                             "vollständig ausfüllen, auch die ID."))
    return problems


def _n(number: int) -> str:
    """A number as Germans write it: 1.048.576."""
    return f"{number:,}".replace(",", ".")


def _field(activity: Activity, column: Column) -> str:
    return str(getattr(activity, column.key)) if column.is_core_field else activity.extra.get(column.key, "")


def check_order(checker: RowChecker, spec: SheetSpec, values: dict[str, str]) -> None:
    start, end = values.get("start", ""), values.get("end", "")
    if start and end and "start" in checker.positions and "end" in checker.positions:
        try:
            if period_bounds(end)[1] < period_bounds(start)[0]:
                checker.problem(spec.column("end"), f"Das Ende ({period_text(end)}) liegt vor dem Beginn "
                                                    f"({period_text(start)}).")
        except ValueError:
            return
