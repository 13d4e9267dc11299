"""Benchmark: rendering a concept's documents by size, and the printed PDF against a bare Chromium print.

    .venv/bin/python -m bench.concept [--sizes 3x30,640x30,6400x30] [--pdf-max 20000]

For each size (institutions × activities each, descriptions of about 200 characters, a published version):
the documents without PDF (HTML, Markdown, Word, the Excel overview), then the PDF as fko prints it
(contents page numbers: printed, measured, printed again; header and footer marked as artifacts) side by
side with one bare Chromium print of the same HTML (the floor), and LibreOffice's PDF of the Word file.
Prints times, the PDF's overhead over the floor, and the growth: time per activity relative to the smallest
size (1.0× = linear). PDFs of more than --pdf-max activities are not printed (thousands of pages).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.seed import seed_region
from usecases.context import AppContext
from usecases.settings import Settings

DESCRIPTION = ("Beratung und Begleitung von Betrieben und Beschäftigten in der Region, mit Informationsabenden, "
               "Sprechstunden vor Ort und einem Netzwerk aus Kammern, Kommunen und Bildungsträgern.")


def _seconds(action) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def count_of(institutions: int, rows: int) -> int:
    return institutions * rows


def measure(institutions: int, rows: int, pdf_max: int) -> dict[str, float | None]:
    from usecases.documents import render_version
    from usecases.office import docx_to_pdf
    from usecases.pdf import pdf_printer

    with tempfile.TemporaryDirectory(prefix="fko-bench-concept-") as folder:
        root = Path(folder)
        ctx = AppContext.from_settings(Settings(data_dir=root / "var", base_url="https://fko.example.org"))
        try:
            seed_region(ctx, [f"I{n:04d}" for n in range(institutions)], rows=rows, label="2026",
                        description=DESCRIPTION)
            out = root / "out"
            documents = _seconds(lambda: render_version(ctx, out_dir=out, label="2026", pdf=False))
            html = out / "Handlungskonzept-2026.html"
            result: dict[str, float | None] = {"documents": documents, "pdf": None, "floor": None, "word_pdf": None}
            if institutions * rows <= pdf_max:
                with pdf_printer() as printer:
                    result["pdf"] = _seconds(lambda: printer.print(html, root / "fko.pdf"))

                    def bare() -> None:
                        page = printer.browser.new_page()
                        page.set_default_timeout(0)
                        page.goto(html.resolve().as_uri(), wait_until="load")
                        page.pdf(path=str(root / "bare.pdf"), format="A4")
                        page.close()
                    result["floor"] = _seconds(bare)
                started = time.perf_counter()
                converted = docx_to_pdf(out / "Handlungskonzept-2026.docx", root / "word.pdf")
                result["word_pdf"] = time.perf_counter() - started if converted else None
                if not converted:
                    print(f"<!-- {count_of(institutions, rows):,} activities: Word→PDF not written: "
                          f"{converted.reason} -->")
            return result
        finally:
            ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="3x30,640x30,6400x30")
    parser.add_argument("--pdf-max", type=int, default=20_000)
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in size.split("x")) for size in args.sizes.split(",")]
    print("| activities | HTML+MD+Word+Excel | per 1,000 | growth | PDF (fko) | bare Chromium print | "
          "overhead (fko / bare) | PDF growth | Word→PDF (LibreOffice) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    first: dict[str, float] = {}
    for institutions, rows in sizes:
        count = institutions * rows
        got = measure(institutions, rows, args.pdf_max)
        per = {k: v / count for k, v in got.items() if v is not None}
        first = first or per
        growth = per["documents"] / first["documents"]

        def cell(key: str, got: dict[str, float | None] = got) -> str:
            value = got[key]
            return f"{value:.1f} s" if value is not None else "–"
        pdf_growth = f"{per['pdf'] / first['pdf']:.2f}×" if "pdf" in per and "pdf" in first else "–"
        overhead = f"{got['pdf'] / got['floor']:.2f}×" if got["pdf"] and got["floor"] else "–"
        print(f"| {count:,} | {cell('documents')} | {1000 * per['documents']:.2f} s | {growth:.2f}× | {cell('pdf')} | "
              f"{cell('floor')} | {overhead} | {pdf_growth} | {cell('word_pdf')} |")
        sys.stdout.flush()
    print(f"\nPDFs of more than {args.pdf_max:,} activities are not printed; growth = time per activity relative "
          "to the smallest size (1.00× = linear).")


if __name__ == "__main__":
    main()
