"""The consolidated Excel overview of all activities: a filterable list and native charts."""

from __future__ import annotations

import io
from collections import Counter

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core.concept_view import ActivityView, ConceptView
from core.workbook_build import write_text

COLUMNS = [("ID", "key", 14), ("Titel", "title", 40), ("Institution", "institution_name", 32),
           ("Handlungsfeld", "field_of_action", 34), ("Status", "status", 14), ("Zeitraum", "period", 18),
           ("Zielgruppen", "target_groups", 30), ("Gebiet", "area", 18), ("Partner", "partners", 28),
           ("Finanzierung", "funding", 22), ("Beschreibung", "description", 60)]


def _count_sheet(workbook: Workbook, title: str, heading: str, counts: Counter[str], chart: str) -> None:
    sheet = workbook.create_sheet(title)
    write_text(sheet.cell(row=1, column=1), heading)
    write_text(sheet.cell(row=1, column=2), "Anzahl")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row, (name, number) in enumerate(sorted(counts.items(), key=lambda x: (-x[1], x[0])), start=2):
        write_text(sheet.cell(row=row, column=1), name)
        sheet.cell(row=row, column=2, value=number)
    sheet.column_dimensions["A"].width = 48
    last = len(counts) + 1
    data = Reference(sheet, min_col=2, min_row=1, max_row=last)
    labels = Reference(sheet, min_col=1, min_row=2, max_row=last)
    figure: BarChart | PieChart
    if chart == "pie":
        figure = PieChart()
    else:
        figure = BarChart()
        figure.type = "bar"
        figure.y_axis.title = "Aktivitäten"
        figure.legend = None
    figure.title = f"Aktivitäten {title.lower()}"
    figure.add_data(data, titles_from_data=True)
    figure.set_categories(labels)
    figure.height, figure.width = max(8, len(counts) * 0.8), 22
    sheet.add_chart(figure, "D2")


def render_overview(view: ConceptView) -> bytes:
    activities: list[ActivityView] = view.all_activities()
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:
        raise RuntimeError("openpyxl created no sheet")
    sheet.title = "Aktivitäten"
    fill = PatternFill("solid", fgColor="1F4E79")
    for column, (header, _, width) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=column)
        write_text(cell, header)
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), fill
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, activity in enumerate(activities, start=2):
        for column, (_, attribute, _) in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=row, column=column)
            write_text(cell, str(getattr(activity, attribute)))
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(activities) + 1}"
    _count_sheet(workbook, "Nach Handlungsfeld", "Handlungsfeld", Counter(a.field_of_action for a in activities), "bar")
    _count_sheet(workbook, "Nach Institution", "Institution", Counter(a.institution_name for a in activities), "bar")
    _count_sheet(workbook, "Nach Status", "Status", Counter(a.status for a in activities), "pie")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
