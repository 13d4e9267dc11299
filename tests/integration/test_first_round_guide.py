"""README "Your first real round": every command of the guide, in its order, on a blank install (no demo data),
with the files an agency has, written here: a region file with a logo, an institutions .xlsx, a concept .xlsx
with two sheets, the texts .docx written in a real LibreOffice Writer, and a sheet mailed back by an institution.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import json
import re
import shlex
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

from core.dates import BERLIN
from mail.templates import ALL_KINDS
from tests.support.factories import VALID_ROWS, edit_sheet, institutions_xlsx

ROOT = Path(__file__).resolve().parents[2]
# The README names concrete years (a concept of 2026, the round 2027); the test moves them along with the calendar,
# so the guide's commands stay runnable in later years: the concept of this year, the round of the next.
THIS = dt.datetime.now(BERLIN).year
CONCEPT, ROUND = str(THIS), str(THIS + 1)
README_YEARS = {"2026": CONCEPT, "2027": ROUND}
FIXTURES = ROOT / "tests" / "fixtures"
DUAL = "Duale Ausbildung stärken"
ORIENTATION = "Berufsorientierung und Übergang Schule–Beruf"
WRITTEN = {"Ausgangslage": "In der Region Köln fehlen vor allem Pflegekräfte und Handwerker.",
           "Offene Bedarfe": "Offen ist ein Angebot für Beschäftigte in Kleinbetrieben."}

REGION_FILE = """
[region]
code = "koeln"
name = "Region Köln"
holidays = "NW"
logo = "logo.png"

[agency]
name = "Regionalagentur Region Köln"
email = "fachkraefte@regionalagentur-koeln.example.org"
phone = "0221 12345-0"
address = "Beispielweg 2, 50667 Köln"
"""


def guide_commands() -> list[list[str]]:
    """The `fko` lines of the README's guide, as argument lists without the leading `fko`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split('## Your first real round ("Die erste echte Runde")', 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the guide has no command block"
    commands = [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]
    assert all(c[0] == "fko" for c in commands)
    return [[re.sub(r"20(26|27)", lambda m: README_YEARS[m.group(0)], arg) for arg in c[1:]] for c in commands]


def tiny_png() -> bytes:
    """A 2×2 red PNG, as a logo file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def concept_xlsx(path: Path) -> None:
    """How agencies keep their concept: one sheet per institution, the same header, spelled by hand."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    header = ["Institution", "Titel", "Handlungsfeld", "Status", "Beginn", "Ende", "Gebiet"]
    sheets = {"IHK": [["IHK", "Azubi-Speed-Dating", DUAL, "Bestehend", 2024, "", "gesamte region"],
                      ["IHK Aachen", "Ausbildungsbotschafter", "Berufsorientierung u. Übergang Schule - Beruf",
                       "bestehend", "01.09.2023", 2027, ""]],
              "Kreis Düren": [["KDN", "Talentscouts", DUAL, "geplant", "2026", "", "Kreis Düren"]]}
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    workbook.save(path)


def mailed_back_sheet(run_fko, env: dict[str, str], folder: Path) -> None:  # type: ignore[no-untyped-def]
    """IHK's personal sheet, as it came back by mail: one title changed, one activity added."""
    built = run_fko("sheet", "build", "--institution", "IHK", "--year", f"{ROUND}", "--out", str(folder / "built.xlsx"),
                    env=env, cwd=folder)
    assert built.exit_code == 0, built.stderr
    sheet = folder / "built.xlsx"
    data = edit_sheet(sheet.read_bytes(), {"B2": "Azubi-Speed-Dating digital", "B4": "Girls' Day im Handwerk",
                                           "D4": ORIENTATION, "E4": "geplant"})
    (folder / "Rueckmeldung-IHK.xlsx").write_bytes(data)


def kdn_confirms(run_fko, env: dict[str, str], folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The last institution answers "no changes" (its unchanged sheet): the round is complete, publishing may go."""
    built = run_fko("sheet", "build", "--institution", "KDN", "--year", f"{ROUND}", "--out", str(folder / "kdn.xlsx"),
                    env=env, cwd=folder)
    assert built.exit_code == 0, built.stderr
    taken = run_fko("ingest", "kdn.xlsx", env=env, cwd=folder)
    assert taken.exit_code == 0, taken.stderr


def write_texts_in_writer(path: Path) -> None:
    subprocess.run(["/usr/bin/python3", str(FIXTURES / "lo_write_texts.py"), str(path),
                    *(f"{name}={words}" for name, words in WRITTEN.items())], check=True, timeout=300)


def mails(sink: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(sink.glob("*.eml"))]


def test_the_first_real_round_follows_the_readme(run_fko, fko_env: dict[str, str], database_url: str,  # type: ignore[no-untyped-def]
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "runde"
    folder.mkdir()
    env = {**fko_env, "FKO_DATABASE_URL": database_url}
    sink = tmp_path / "var" / "mail"
    (folder / "region.toml").write_text(REGION_FILE, encoding="utf-8")
    (folder / "logo.png").write_bytes(tiny_png())
    (folder / "institutionen.xlsx").write_bytes(institutions_xlsx(VALID_ROWS))
    concept_xlsx(folder / "konzept.xlsx")

    before: dict[str, Callable[[], None]] = {
        "concept texts import": lambda: write_texts_in_writer(folder / f"Texte-{ROUND}.docx"),
        "ingest": lambda: mailed_back_sheet(run_fko, env, folder),
        "publish": lambda: kdn_confirms(run_fko, env, folder),
    }
    outputs: dict[str, str] = {}
    commands = guide_commands()
    assert len(commands) >= 10
    for args in commands:
        name = " ".join(a for a in args[:3] if not a.startswith("-") and "." not in a and "@" not in a)
        for prefix, step in before.items():
            if name.startswith(prefix):
                step()
        result = run_fko(*args, env=env, cwd=folder)
        assert result.exit_code == 0, f"fko {shlex.join(args)}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        outputs.setdefault(name, "")
        outputs[name] += result.stdout

    assert "Datenbank für Region Köln angelegt" in outputs["init"]
    assert f"3 Aktivitäten von 2 Institutionen, veröffentlicht als Version {CONCEPT}" in outputs["concept import"]
    assert "„Bestehend“ → „bestehend“" in outputs["concept import"]  # what was normalised, shown to staff

    # The test mails: one of each kind, to staff only, marked, with the region's agency and funding line.
    tests = [m for m in mails(sink) if m["Subject"].startswith("[TEST] ")]
    assert len(tests) == len(ALL_KINDS) and {m["To"] for m in tests} == {"ich@regionalagentur.example.org"}
    body = tests[0].get_body(("plain",)).get_content()
    assert "TESTNACHRICHT" in body and "Regionalagentur Region Köln" in body
    assert "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen und der Europäischen Union." in body

    # The invitations went to the institutions' contacts (and no test mail to them).
    invitations = [m for m in mails(sink) if not m["Subject"].startswith("[TEST] ")]
    assert {m["To"].addresses[0].addr_spec for m in invitations} >= {"anna.schmitz@ihk.example.org",
                                                                      "dora@kreis-dueren.example.org"}

    # The draft is current after the mailed-back sheet, fields named by their German headers.
    diff = outputs["diff"]
    assert f"Version {CONCEPT} → {ROUND}" in diff and "neu 1, geändert 1" in diff
    assert "Titel: „Azubi-Speed-Dating“ → „Azubi-Speed-Dating digital“" in diff
    assert "Girls' Day im Handwerk" in diff

    # The documents carry the texts written in Writer, the region's funding line and logo.
    concept_md = (folder / "dokumente" / f"Handlungskonzept-{ROUND}.md").read_text(encoding="utf-8")
    for words in WRITTEN.values():
        assert words in concept_md
    assert "Mit finanzieller Unterstützung des Landes Nordrhein" in concept_md
    assert "data:image/png;base64," in (folder / "dokumente" / f"Handlungskonzept-{ROUND}.html").read_text("utf-8")
    report = (folder / "dokumente" / f"Aenderungen-{CONCEPT}-{ROUND}.md").read_text(encoding="utf-8")
    assert "Girls' Day im Handwerk" in report and "Azubi-Speed-Dating digital" in report

    assert f"Version {ROUND} veröffentlicht (freigegeben von Lenkungskreis)" in outputs["publish"]
    status = json.loads(run_fko("cycle", "status", "--json", "--year", f"{ROUND}", env=env, cwd=folder).stdout)
    assert status, "the round's status is shown"
    again = run_fko("diff", env=env, cwd=folder)
    assert again.exit_code == 2 and "keine offene Abfrage und kein Entwurf" in again.stderr



def test_a_first_round_without_any_concept_starts_from_empty_sheets(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "runde"
    folder.mkdir()
    (folder / "region.toml").write_text(REGION_FILE.replace('logo = "logo.png"\n', ""), encoding="utf-8")
    (folder / "institutionen.xlsx").write_bytes(institutions_xlsx(VALID_ROWS))
    for args in (["init", "--region-file", "region.toml"], ["institutions", "import", "institutionen.xlsx"]):
        assert run_fko(*args, cwd=folder).exit_code == 0
    nothing = run_fko("diff", cwd=folder)
    assert nothing.exit_code == 2 and "keine offene Abfrage und kein Entwurf" in nothing.stderr
    assert run_fko("publish", "--yes", cwd=folder).exit_code == 2

    opened = run_fko("cycle", "open", "--year", f"{ROUND}", "--deadline", f"15.10.{ROUND}", cwd=folder)
    assert opened.exit_code == 0, opened.stderr
    invitation = next(m for m in mails(tmp_path / "var" / "mail") if "IHK" in str(m["Subject"]))
    sheet = next(invitation.iter_attachments()).get_content()
    workbook = openpyxl.load_workbook(io.BytesIO(sheet))
    hints = " ".join(str(c.value) for row in workbook["Hinweise"].iter_rows() for c in row if c.value)
    assert "erste Abfrage zum Handlungskonzept" in hints
    rows = [[c.value for c in row] for row in workbook["Aktivitäten"].iter_rows(min_row=2)]
    assert rows and all(not any(row) for row in rows)  # only the prepared empty rows

    first = run_fko("diff", cwd=folder)
    assert first.exit_code == 0 and f"Version {ROUND} (erste Fassung" in first.stdout and "neu 0" in first.stdout
    (folder / "IHK.xlsx").write_bytes(edit_sheet(sheet, {"B2": "Ausbildungsmesse", "D2": DUAL, "E2": "geplant"}))
    taken = run_fko("ingest", "IHK.xlsx", "--notify", cwd=folder)  # the receipt only on request
    assert taken.exit_code == 0 and "Angenommen" in taken.stdout, taken.stderr
    diff = run_fko("diff", cwd=folder)
    assert f"Version {ROUND} (erste Fassung" in diff.stdout and "neu 1" in diff.stdout
    assert "Ausbildungsmesse" in diff.stdout
    receipt = next(m for m in mails(tmp_path / "var" / "mail") if "Eingang" in str(m["Subject"]))
    assert "gegenüber dem bisherigen Stand (erste Fassung des Handlungskonzepts)" in \
        receipt.get_body(("plain",)).get_content()

    rendered = run_fko("render", "--out", "dokumente", "--no-pdf", cwd=folder)
    assert rendered.exit_code == 0, rendered.stderr
    report = (folder / "dokumente" / f"Aenderungen-{ROUND}-erste-Fassung.md").read_text(encoding="utf-8")
    assert f"Version {ROUND} (erste Fassung)" in report and "Ausbildungsmesse" in report
    assert "Ausbildungsmesse" in (folder / "dokumente" / f"Handlungskonzept-{ROUND}.md").read_text(encoding="utf-8")
    waiting = run_fko("publish", "--yes", cwd=folder)
    assert waiting.exit_code == 2 and "KDN" in waiting.stderr  # the round still runs: publishing waits
    published = run_fko("publish", "--yes", "--early", cwd=folder)
    assert published.exit_code == 0 and "(erste Fassung:" in published.stdout
