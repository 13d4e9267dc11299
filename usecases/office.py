"""Running LibreOffice headless for Word files: tagged PDF with a filled table of contents, tracked changes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNO_PYTHON = Path("/usr/bin/python3")  # Debian's Python with python3-uno (the venv cannot import `uno`)
SCRIPT = Path(__file__).with_name("office_uno.py")
TIMEOUT_SECONDS = 300
NO_OFFICE = "LibreOffice Writer ist nicht installiert (Debian-Paket libreoffice-writer-nogui)."
NO_UNO = "Die Python-Anbindung von LibreOffice fehlt (Debian-Paket python3-uno)."


@dataclass(frozen=True)
class OfficeResult:
    """What LibreOffice did; false when it could not, with ``reason`` in German for an "übersprungen" line."""

    ok: bool
    reason: str = ""
    seconds: float = 0.0
    revisions: int = 0  # tracked changes found by the comparison
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step: start, convert, compare

    def __bool__(self) -> bool:
        return self.ok


def docx_to_pdf(docx: Path, pdf: Path) -> OfficeResult:
    """``pdf`` from ``docx``: fields and the table of contents updated, tagged (PDF/UA), bookmarks from the
    headings, the document title shown. ``docx`` stays as it is (LibreOffice's re-save would turn the named
    table styles into direct formatting); Word fills its table of contents when the file is opened."""
    return word_documents(docx, pdf)


def tracked_changes_docx(old: Path, new: Path, out: Path) -> OfficeResult:
    """``out``: ``new`` with everything that differs from ``old`` as Word revisions (insertions and deletions
    a reader accepts or rejects), by LibreOffice's document comparison."""
    return word_documents(None, None, compare=(old, new, out))


def word_documents(docx: Path | None, pdf: Path | None, *,
                   compare: tuple[Path, Path, Path] | None = None) -> OfficeResult:
    """Both jobs with one start of LibreOffice: ``docx`` → ``pdf`` and/or ``compare`` = (old, new, out)."""
    if shutil.which("soffice") is None:
        return OfficeResult(False, NO_OFFICE)
    if not UNO_PYTHON.is_file():
        return OfficeResult(False, NO_UNO)
    targets = ([pdf] if docx and pdf else []) + ([compare[2]] if compare else [])
    partial = {target: target.with_name(f".{target.stem}.tmp{target.suffix}") for target in targets}
    with tempfile.TemporaryDirectory(prefix="fko-office-") as work:
        job = {"profile": str(Path(work) / "profile"),
               "convert": {"docx": str(docx), "pdf": str(partial[pdf])} if docx and pdf else None,
               "compare": {"old": str(compare[0]), "new": str(compare[1]), "out": str(partial[compare[2]])}
               if compare else None}
        (Path(work) / "job.json").write_text(json.dumps(job), encoding="utf-8")
        started = time.monotonic()
        answer = _run([str(UNO_PYTHON), str(SCRIPT), str(Path(work) / "job.json")])
        seconds = round(time.monotonic() - started, 2)
    opened = [p for p in (docx, *(compare or ()), *partial.values()) if p is not None]
    for path in opened:  # LibreOffice's lock files of the documents it had open here, not a colleague's
        (path.parent / f".~lock.{path.name}#").unlink(missing_ok=True)
    if not answer.get("ok"):
        for temporary in partial.values():
            temporary.unlink(missing_ok=True)
        return OfficeResult(False, _reason(str(answer.get("error", ""))), seconds)
    for target, temporary in partial.items():
        temporary.replace(target)
    return OfficeResult(True, "", seconds, int(answer.get("revisions", 0)), dict(answer.get("seconds", {})))


def _run(argv: list[str]) -> dict[str, Any]:
    """The UNO script in its own process group, so that on a timeout LibreOffice ends with it."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,  # noqa: S603 (fixed argv)
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        output = b'{"ok": false, "error": "timeout"}'
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever of the group is left (LibreOffice itself)
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    try:
        lines = output.decode("utf-8", "replace").strip().splitlines()
        return dict(json.loads(lines[-1])) if lines else {"ok": False, "error": f"exit {process.returncode}"}
    except ValueError:
        return {"ok": False, "error": f"exit {process.returncode}"}


def _reason(error: str) -> str:
    if error == "no-uno":
        return NO_UNO
    if error == "timeout":
        return f"LibreOffice hat nach {TIMEOUT_SECONDS} Sekunden nicht geantwortet und wurde beendet."
    detail = error.split(": ", 1)[-1] if error else ""
    return "LibreOffice konnte das Word-Dokument nicht verarbeiten" + (f" ({detail})." if detail else ".")
