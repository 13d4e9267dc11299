"""The consolidated Excel overview of all activities: a filterable list, counts and native charts."""

from __future__ import annotations

import io
from collections import Counter

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from core.concept_view import ActivityView, ConceptView
from core.documents import ChangeReport
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


def _comparison_sheet(workbook: Workbook, report: ChangeReport) -> None:
    """This version against the last one per field of action, as a table and two native bar charts."""
    sheet = workbook.create_sheet("Vergleich")
    charts = report.charts()
    headers = ["Handlungsfeld", *(name for name, _ in charts[0].series), *(name for name, _ in charts[1].series)]
    for column, header in enumerate(headers, start=1):
        write_text(sheet.cell(row=1, column=column), header)
        sheet.cell(row=1, column=column).font = Font(bold=True)
    for row, name in enumerate(charts[0].categories, start=2):
        write_text(sheet.cell(row=row, column=1), name)
        values = [v[row - 2] for _, v in charts[0].series] + [v[row - 2] for _, v in charts[1].series]
        for column, value in enumerate(values, start=2):
            sheet.cell(row=row, column=column, value=value)
    sheet.column_dimensions["A"].width = 52
    last = len(charts[0].categories) + 1
    labels = Reference(sheet, min_col=1, min_row=2, max_row=last)
    height = max(8.0, last * 0.9)  # cm; a row is about half a centimetre
    for chart, first_column, anchor in ((charts[0], 2, "G2"), (charts[1], 4, f"G{int(height * 2) + 6}")):
        figure = BarChart()
        figure.type, figure.grouping, figure.title = "bar", "clustered", chart.title
        figure.add_data(Reference(sheet, min_col=first_column, max_col=first_column + 1, min_row=1, max_row=last),
                        titles_from_data=True)
        figure.set_categories(labels)
        figure.y_axis.title = "Aktivitäten"
        figure.height, figure.width = height, 24
        sheet.add_chart(figure, anchor)


def render_overview(view: ConceptView, report: ChangeReport | None = None) -> bytes:
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
    if report is not None and report.fields:
        _comparison_sheet(workbook, report)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
