"""The roll-up as an Excel workbook for the ministry: tables with native charts (openpyxl.chart), no pictures."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from core.dates import german_date
from core.rollup import Rollup
from core.workbook_build import write_text

HEAD_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL = "NRW gesamt"


def _header(sheet: Worksheet, row: int, names: list[str], widths: list[int]) -> None:
    for column, (name, width) in enumerate(zip(names, widths, strict=True), start=1):
        cell = sheet.cell(row=row, column=column)
        write_text(cell, name)
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(column)].width = width


def _title(sheet: Worksheet, text: str, note: str) -> None:
    write_text(sheet.cell(row=1, column=1), text)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=14, color="1F4E79")
    write_text(sheet.cell(row=2, column=1), note)


def _bar(title: str, axis: str, *, horizontal: bool = True, stacked: bool = False) -> BarChart:
    chart = BarChart()
    chart.type = "bar" if horizontal else "col"
    chart.title, chart.y_axis.title = title, axis
    if horizontal:
        chart.x_axis.scaling.orientation = "maxMin"  # categories top to bottom, in the table's order
    if stacked:
        chart.grouping, chart.overlap = "stacked", 100
    return chart


def _overview(workbook: Workbook, rollup: Rollup) -> None:
    sheet = workbook.create_sheet("Übersicht")
    _title(sheet, f"Landesübersicht Handlungskonzepte Fachkräfteoffensive NRW {rollup.year}",
           f"Stand {german_date(rollup.stand, weekday=False)}; Aktivitäten: bestehende und geplante der zuletzt "
           "veröffentlichten Version jeder Region.")
    names = ["Region", "Version", "veröffentlicht am", "Aktivitäten", "neu", "beendet", "befragt", "geantwortet",
             "Rücklauf"]
    _header(sheet, 4, names, [38, 10, 16, 12, 8, 9, 9, 12, 10])
    row = 5
    for region in rollup.regions:
        values: list[object] = [region.name, region.label, region.published_on,
                                region.activities, region.new, region.ended, region.asked, region.answered,
                                region.answered / region.asked if region.asked and region.answered is not None
                                else None]
        _row(sheet, row, values)
        row += 1
    first, last = 5, row - 1
    for waiting in rollup.without_version:
        _row(sheet, row, [waiting.name, "keine", "", None, None, None, waiting.asked, waiting.answered,
                          (waiting.answered or 0) / waiting.asked if waiting.asked else None])
        row += 1
    asked, answered = rollup.response
    _row(sheet, row, [TOTAL, "", "", rollup.total_activities, rollup.total_new, rollup.total_ended, asked, answered,
                      answered / asked if asked else None])
    for cell in sheet[row]:
        cell.font = Font(bold=True)
    for cells in sheet.iter_rows(min_row=5, max_row=row, min_col=9, max_col=9):
        cells[0].number_format = "0.0 %"
    for cells in sheet.iter_rows(min_row=5, max_row=row, min_col=3, max_col=3):
        cells[0].number_format = "DD.MM.YYYY"
    sheet.freeze_panes = "B5"
    if rollup.regions:
        chart = _bar("Aktivitäten je Region", "Aktivitäten")
        chart.add_data(Reference(sheet, min_col=4, max_col=6, min_row=4, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
        chart.height, chart.width = max(8.0, len(rollup.regions) * 1.2), 22
        sheet.add_chart(chart, "K4")
        rated = _bar(f"Rücklauf der Abfrage {rollup.year}", "Anteil der Institutionen")
        rated.add_data(Reference(sheet, min_col=9, min_row=4, max_row=last), titles_from_data=True)
        rated.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
        rated.legend = None
        rated.height, rated.width = max(8.0, len(rollup.regions) * 0.8), 22
        sheet.add_chart(rated, f"K{int(chart.height * 2) + 8}")


def _row(sheet: Worksheet, row: int, values: list[object]) -> None:
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, str):
            write_text(cell, value)  # region and field names are text, never a formula
        else:
            cell.value = value  # type: ignore[assignment]


def _clusters(workbook: Workbook, rollup: Rollup) -> None:
    """Clusters down, regions across, the state's total last; a stacked chart by region and one of the total."""
    sheet = workbook.create_sheet("Cluster")
    _title(sheet, f"Aktivitäten nach Clustern des Landes {rollup.year}",
           "Zuordnung der Handlungsfelder: Blatt „Handlungsfelder“.")
    regions = list(rollup.regions)
    _header(sheet, 4, ["Cluster", *(r.name for r in regions), TOTAL], [44, *([14] * len(regions)), 12])
    totals = rollup.totals_by_cluster
    for row, cluster in enumerate(rollup.clusters, start=5):
        _row(sheet, row, [cluster, *(r.by_cluster.get(cluster, 0) for r in regions), totals[cluster]])
    last = 4 + len(rollup.clusters)
    sheet.freeze_panes = "B5"
    if not regions:
        return
    labels = Reference(sheet, min_col=1, min_row=5, max_row=last)
    height = max(8.0, len(rollup.clusters) * 1.1)
    stacked = _bar("Aktivitäten je Cluster und Region", "Aktivitäten", stacked=True)
    stacked.add_data(Reference(sheet, min_col=2, max_col=1 + len(regions), min_row=4, max_row=last),
                     titles_from_data=True)
    stacked.set_categories(labels)
    stacked.height, stacked.width = height, 26
    anchor_row = last + 3
    sheet.add_chart(stacked, f"A{anchor_row}")
    total = _bar(f"Aktivitäten je Cluster – {TOTAL}", "Aktivitäten")
    total.add_data(Reference(sheet, min_col=2 + len(regions), min_row=4, max_row=last), titles_from_data=True)
    total.set_categories(labels)
    total.legend = None
    total.height, total.width = height, 26
    sheet.add_chart(total, f"A{anchor_row + int(height * 2) + 4}")


def _fields(workbook: Workbook, rollup: Rollup) -> None:
    sheet = workbook.create_sheet("Handlungsfelder")
    _title(sheet, "Handlungsfelder der Regionen und ihr Cluster",
           "Wie jede Region ihre Handlungsfelder nennt, und welchem Cluster des Landes die Zuordnungstabelle "
           "(survey_templates/rollup/clusters.toml) sie zuordnet.")
    _header(sheet, 4, ["Region", "Handlungsfeld (Name der Region)", "Cluster des Landes", "Aktivitäten",
                       "zugeordnet"], [34, 50, 44, 12, 12])
    row = 5
    for region in rollup.regions:
        for entry in region.fields:
            _row(sheet, row, [region.name, entry.field_of_action, entry.cluster, entry.activities,
                              "ja" if entry.mapped else "nein"])
            row += 1
    sheet.auto_filter.ref = f"A4:E{max(row - 1, 4)}"
    sheet.freeze_panes = "A5"


def _notes(workbook: Workbook, rollup: Rollup) -> None:
    sheet = workbook.create_sheet("Hinweise")
    sheet.column_dimensions["A"].width = 120
    lines = [f"Landesübersicht {rollup.year}, Stand {german_date(rollup.stand, weekday=False)}", ""]
    if rollup.unmapped:
        lines += ["Nicht zugeordnete Handlungsfelder (unter „nicht zugeordnet“ gezählt; bitte in der "
                  "Zuordnungstabelle ergänzen):", *(f"– {u.text()}" for u in rollup.unmapped), ""]
    if rollup.without_version:
        lines += [f"Regionen ohne veröffentlichte Version bis {rollup.year}:",
                  *(f"– {r.name}" for r in rollup.without_version), ""]
    lines += ["Gezählt werden die bestehenden und geplanten Aktivitäten der zuletzt veröffentlichten Version jeder "
              "Region (bis zum Jahr der Übersicht); abgeschlossene und entfallene nicht.",
              "„neu“ und „beendet“: gegenüber der veröffentlichten Version davor; bei einer ersten Fassung leer.",
              f"Rücklauf: Institutionen, die in der Abfrage {rollup.year} geantwortet haben (Tabelle oder „Keine "
              "Änderungen“), von allen befragten; leer, wenn die Region in diesem Jahr keine Abfrage hatte."]
    for row, line in enumerate(lines, start=1):
        write_text(sheet.cell(row=row, column=1), line)
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=True)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=12)


def render_rollup_workbook(rollup: Rollup) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the empty default sheet
    _overview(workbook, rollup)
    _clusters(workbook, rollup)
    _fields(workbook, rollup)
    _notes(workbook, rollup)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
