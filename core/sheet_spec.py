"""The survey sheet's spec (columns, checks, sheet names) read from survey_templates/sheet/spec.toml."""

from __future__ import annotations

from dataclasses import dataclass

from core.activity import CONTENT_FIELDS
from core.catalog import Catalogs
from core.toml_text import parse_toml

KINDS = ("text", "id", "choice", "multi", "date", "email", "url")
CATALOG_NAMES = ("fields_of_action", "statuses", "areas", "target_groups")
LATEST_YEAR = 2100       # no sheet, import or region setting takes a later year: it is a typo
HORIZON_AHEAD = 3        # no horizon set: the concept plans this many years beyond the round's year
LAST_AFTER_HORIZON = 5   # no latest year set: a sheet takes years this far beyond the horizon


class SpecError(ValueError):
    """The sheet spec is broken (a staff configuration error, caught by the tests for the bundled one)."""


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"
    required: bool = False
    max_length: int | None = None
    catalog: str | None = None
    width: float = 20
    help: str = ""

    @property
    def is_core_field(self) -> bool:
        """A field of ``Activity`` itself, rather than one of its ``extra`` fields."""
        return self.key in CONTENT_FIELDS


@dataclass(frozen=True)
class YearRange:
    """The years Beginn and Ende take: ``first`` to ``last``; a year after ``horizon`` (the last year the
    action concept plans for) is taken with a notice to check it."""

    first: int
    horizon: int
    last: int


@dataclass(frozen=True)
class SheetSpec:
    format_version: int
    sheet_name: str
    hints_sheet_name: str
    lists_sheet_name: str
    meta_sheet_name: str
    new_rows: int
    max_rows: int
    min_year: int  # earlier years are typos; the later bounds are the round's (``round_years``)
    header_color: str
    locked_color: str
    columns: tuple[Column, ...]
    hints_template: str

    @property
    def id_column(self) -> Column:
        return next(c for c in self.columns if c.kind == "id")

    def field_labels(self) -> dict[str, str]:
        """Column key → header, for naming changed fields to people."""
        return {c.key: c.header for c in self.columns}

    def round_years(self, cycle_year: int, *, horizon: int | None = None, last: int | None = None) -> YearRange:
        """The years the sheets of the round ``cycle_year`` take: the region's ``horizon`` and ``last`` year
        when set, else horizon = the round's year + 3 and last = horizon + 5. The defaults move on with every
        round, so a region that never sets them is never refused next year's plans."""
        if horizon is None:
            horizon = cycle_year + HORIZON_AHEAD if last is None else min(cycle_year + HORIZON_AHEAD, last)
        return YearRange(self.min_year, horizon, horizon + LAST_AFTER_HORIZON if last is None else last)

    def any_years(self) -> YearRange:
        """Without a round (an imported concept): every plausible year, none of them a notice."""
        return YearRange(self.min_year, LATEST_YEAR, LATEST_YEAR)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def choices(self, column: Column, catalogs: Catalogs) -> tuple[str, ...]:
        if column.catalog is None:
            return ()
        values: tuple[str, ...] = getattr(catalogs, column.catalog)
        return values


def parse_spec(text: str, hints_template: str) -> SheetSpec:
    data = parse_toml(text, file="sheet spec", error=SpecError)
    columns: list[Column] = []
    for item in data.get("column", []):
        try:
            column = Column(**item)
        except TypeError as exc:
            raise SpecError(f"sheet spec: column {item.get('key')!r}: {exc}") from exc
        if column.kind not in KINDS:
            raise SpecError(f"sheet spec: column {column.key!r} has unknown kind {column.kind!r}")
        if column.kind in ("choice", "multi") and column.catalog not in CATALOG_NAMES:
            raise SpecError(f"sheet spec: column {column.key!r} needs a catalog out of {CATALOG_NAMES}")
        if not column.key.isidentifier() or column.key in {c.key for c in columns}:
            raise SpecError(f"sheet spec: column key {column.key!r} is not a unique identifier")
        columns.append(column)
    ids = [c for c in columns if c.kind == "id"]
    if len(ids) != 1 or ids[0].key != "key":
        raise SpecError("sheet spec: exactly one column of kind 'id' with key 'key' is needed")
    missing = {"title", "field_of_action", "status"} - {c.key for c in columns}
    if missing:
        raise SpecError(f"sheet spec: columns {sorted(missing)} are required by the concept")
    if len({c.header.casefold() for c in columns}) != len(columns):
        raise SpecError("sheet spec: two columns share a header")
    if "max_year" in data:  # an older copy of the templates folder: the bound it meant would be ignored
        raise SpecError("sheet spec: max_year is a region setting now: remove it here and set [concept] "
                        "horizon / sheet_max_year in region.toml (`fko init --region-file`)")
    try:
        return SheetSpec(
            format_version=int(data["format_version"]),
            sheet_name=data["sheet_name"],
            hints_sheet_name=data["hints_sheet_name"],
            lists_sheet_name=data["lists_sheet_name"],
            meta_sheet_name=data["meta_sheet_name"],
            new_rows=int(data["new_rows"]),
            max_rows=int(data["max_rows"]),
            min_year=int(data["min_year"]),
            header_color=str(data.get("header_color", "1F4E79")),
            locked_color=str(data.get("locked_color", "E7E6E6")),
            columns=tuple(columns),
            hints_template=hints_template,
        )
    except KeyError as exc:
        raise SpecError(f"sheet spec: the entry {exc.args[0]!r} is missing") from exc
