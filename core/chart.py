"""Accessible bar charts as inline SVG for the documents (a title and a text alternative, no script)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape

COLOURS = ("#9DB7D5", "#1F4E79", "#B85C00")  # light blue, dark blue, orange: apart in grey print too
ROW, BAR_GAP, LABEL_WIDTH, PLOT_WIDTH = 12, 2, 250, 330


@dataclass(frozen=True)
class BarChart:
    """Horizontal grouped bars: one group per category, one bar per series."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[int]]]   # (name, one value per category)

    def alt_text(self) -> str:
        """What a screen reader says instead of the picture: every number in words."""
        parts = [f"{category}: " + ", ".join(f"{name} {values[n]}" for name, values in self.series)
                 for n, category in enumerate(self.categories)]
        return f"{self.title}. " + "; ".join(parts) + "."

    def svg(self) -> str:
        return bar_chart_svg(self)

    def img(self) -> str:
        """The chart as an <img> with its text alternative: printed PDFs tag it as a figure with /Alt (an
        inline <svg> ends up as a figure without one)."""
        data = base64.b64encode(self.svg().encode("utf-8")).decode("ascii")
        return f'<img class="chart" alt="{escape(self.alt_text())}" src="data:image/svg+xml;base64,{data}">'


def _wrapped(label: str, width: int = 38) -> list[str]:
    """Category names on at most two lines (long names of fields of action)."""
    if len(label) <= width:
        return [label]
    cut = label.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    rest = label[cut:].strip()
    return [label[:cut], rest if len(rest) <= width else rest[: width - 1] + "…"]


def bar_chart_svg(chart: BarChart) -> str:
    """The chart as an SVG element (role="img", <title>, <desc>) sized for an A4 page."""
    highest = max([1, *(v for _, values in chart.series for v in values)])
    group = max(len(chart.series) * (ROW + BAR_GAP) + 10, 32)  # room for a name on two lines
    legend = 22 if len(chart.series) > 1 else 6
    height = legend + group * len(chart.categories) + 6
    width = LABEL_WIDTH + PLOT_WIDTH + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" aria-label="{escape(chart.alt_text())}" '
           'font-family="Liberation Sans, Arial, sans-serif" font-size="10">',
           f"<title>{escape(chart.title)}</title><desc>{escape(chart.alt_text())}</desc>"]
    x = LABEL_WIDTH
    for n, (name, _) in enumerate(chart.series if len(chart.series) > 1 else []):
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{COLOURS[n % len(COLOURS)]}"/>'
                   f'<text x="{x + 14}" y="13">{escape(name)}</text>')
        x += 20 + 7 * len(name)
    for row, category in enumerate(chart.categories):
        top = legend + row * group
        lines = _wrapped(category)
        middle = top + group / 2 - 5
        for k, line in enumerate(lines):
            y = middle + (k - (len(lines) - 1) / 2) * 12 + 4
            out.append(f'<text x="{LABEL_WIDTH - 8}" y="{y:.0f}" text-anchor="end">{escape(line)}</text>')
        for n, (_, values) in enumerate(chart.series):
            y = top + (group - len(chart.series) * (ROW + BAR_GAP)) // 2 + n * (ROW + BAR_GAP)
            length = round(PLOT_WIDTH * values[row] / highest)
            out.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{max(length, 1)}" height="{ROW}" '
                       f'fill="{COLOURS[n % len(COLOURS)]}"/>'
                       f'<text x="{LABEL_WIDTH + length + 4}" y="{y + ROW - 2}">{values[row]}</text>')
    out.append(f'<line x1="{LABEL_WIDTH}" y1="{legend - 2}" x2="{LABEL_WIDTH}" y2="{height - 4}" stroke="#555"/>')
    out.append("</svg>")
    return "".join(out)
