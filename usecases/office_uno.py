"""LibreOffice's side of usecases/office.py: run under Debian's /usr/bin/python3 (python3-uno), never imported.

    /usr/bin/python3 usecases/office_uno.py JOB.json

JOB.json: {"profile": DIR, "convert": {"docx": IN, "pdf": OUT} | null,
           "compare": {"old": IN, "new": IN, "out": OUT} | null}
Starts one headless LibreOffice with the given profile, does the jobs, ends it, and prints one JSON line:
{"ok": true, "seconds": {...}, "revisions": N} or {"ok": false, "error": "..."}. Exit 3: no `uno` module.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

try:
    import uno  # type: ignore[import-not-found]
    from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]
    from com.sun.star.connection import NoConnectException  # type: ignore[import-not-found]
except ImportError:
    print(json.dumps({"ok": False, "error": "no-uno"}))  # noqa: T201
    sys.exit(3)

WORD = "MS Word 2007 XML"
RESTART = 81  # a fresh profile makes the first start end with this code; started again it works
PDF_OPTIONS = {"UseTaggedPDF": True, "PDFUACompliance": True, "ExportBookmarks": True, "ExportNotes": False,
               "DisplayPDFDocumentTitle": True, "OpenBookmarkLevels": 2, "UseLosslessCompression": False,
               "Quality": 90, "ExportFormFields": False}


def prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def url(path: str) -> str:
    return uno.systemPathToFileUrl(str(Path(path).resolve()))


def start_office(profile: str) -> tuple[subprocess.Popen[bytes], object, object]:
    pipe = f"fko_{uuid.uuid4().hex}"
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(3):
        office = subprocess.Popen([  # noqa: S603 (fixed argv, no shell)
            shutil.which("soffice") or "/usr/bin/soffice", "--headless", "--invisible", "--norestore", "--nologo",
            "--nodefault", "--nolockcheck", f"-env:UserInstallation={uno.systemPathToFileUrl(profile)}",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
                return office, desktop, context
            except NoConnectException:
                if office.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        if office.poll() is None:
            office.kill()
        office.wait()
    raise RuntimeError(f"LibreOffice startete nicht (Rückgabewert {office.returncode})")


def stop_office(office: subprocess.Popen[bytes], desktop: object) -> None:
    with contextlib.suppress(Exception):  # the office may already be gone
        desktop.terminate()  # type: ignore[attr-defined]
    try:
        office.wait(timeout=20)
    except subprocess.TimeoutExpired:
        office.kill()
        office.wait()


def load(desktop: object, path: str) -> object:
    document = desktop.loadComponentFromURL(url(path), "_blank", 0,  # type: ignore[attr-defined]
                                            (prop("Hidden", True), prop("UpdateDocMode", 0)))
    if document is None:
        raise RuntimeError(f"LibreOffice konnte {Path(path).name} nicht öffnen")
    return document


def update_all(document: object) -> None:
    """Fields, then every index (table of contents) twice: filling the index moves the pages after it."""
    document.getTextFields().refresh()  # type: ignore[attr-defined]
    indexes = document.getDocumentIndexes()  # type: ignore[attr-defined]
    for _ in range(2):
        for number in range(indexes.getCount()):
            indexes.getByIndex(number).update()
        document.getTextFields().refresh()  # type: ignore[attr-defined]


def pdf_export(document: object, pdf: str) -> None:
    options = uno.Any("[]com.sun.star.beans.PropertyValue", tuple(prop(k, v) for k, v in PDF_OPTIONS.items()))
    uno.invoke(document, "storeToURL", (url(pdf), (prop("FilterName", "writer_pdf_Export"),
                                                   prop("FilterData", options))))


def convert(desktop: object, job: dict[str, str]) -> None:
    document = load(desktop, job["docx"])
    try:
        update_all(document)
        pdf_export(document, job["pdf"])
    finally:
        document.close(True)  # type: ignore[attr-defined]


def compare(desktop: object, context: object, job: dict[str, str]) -> int:
    """The new document with the old one's differences as tracked changes (Bearbeiten → Änderungen → Vergleichen)."""
    document = load(desktop, job["new"])
    try:
        helper = context.ServiceManager.createInstanceWithContext(  # type: ignore[attr-defined]
            "com.sun.star.frame.DispatchHelper", context)
        helper.executeDispatch(document.getCurrentController().getFrame(), ".uno:CompareDocuments", "", 0,  # type: ignore[attr-defined]
                               (prop("URL", url(job["old"])), prop("NoAcceptDialog", True)))
        revisions = document.getRedlines().getCount()  # type: ignore[attr-defined]
        document.storeToURL(url(job["out"]), (prop("FilterName", WORD),))  # type: ignore[attr-defined]
        return int(revisions)
    finally:
        document.close(True)  # type: ignore[attr-defined]


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    revisions = 0
    started = time.monotonic()
    office, desktop, context = start_office(job["profile"])
    seconds["start"] = round(time.monotonic() - started, 2)
    try:
        if job.get("convert"):
            began = time.monotonic()
            convert(desktop, job["convert"])
            seconds["convert"] = round(time.monotonic() - began, 2)
        if job.get("compare"):
            began = time.monotonic()
            revisions = compare(desktop, context, job["compare"])
            seconds["compare"] = round(time.monotonic() - began, 2)
    finally:
        stop_office(office, desktop)
    print(json.dumps({"ok": True, "seconds": seconds, "revisions": revisions}))  # noqa: T201


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # one JSON line for the caller, whatever went wrong
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))  # noqa: T201
        sys.stdout.flush()
        os._exit(1)
