"""What the head of an institution reads when the ladder escalates, and what staff see for the phone task.

The institutions file gives Anrede and Telefon. The round of 2026 runs into January 2027 (deadline Monday
25 Jan 2027): DGB never answers. Its head gets the escalation on Monday 1 Feb; staff call on Monday 8 Feb.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from core.dates import BERLIN
from core.text import squash_spaces
from tests.support.factories import INSTITUTION_HEADER, institutions_csv
from usecases.cycle import open_cycle
from usecases.outbox import deliver_pending
from usecases.reminders import run_reminders

DEADLINE = dt.date(2027, 1, 25)
DGB = ["DGB", "DGB NRW Region Süd-West", "Gewerkschaft", "", "ja"]
RALF, CARINA, JOERG = ("ralf.breuer@dgb-suedwest.example.org", "carina.roeben@dgb-suedwest.example.org",
                       "joerg.kaya@dgb-suedwest.example.org")
AGENCY = "fachkraefte@regionalagentur-aachen.example.org"


def last_cell(table: str, code: str) -> str:
    """The text of the last column of the row that starts with ``code`` in a table `fko` printed (wrapped)."""
    cells: list[str] = []
    for line in table.splitlines():
        columns = [c.strip() for c in line.split("│")]
        if len(columns) < 3:
            continue
        if columns[1] and cells:
            break
        if columns[1] == code or cells:
            cells.append(columns[-2])
    return squash_spaces(" ".join(cells))


def morning(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(8, 0), BERLIN).astimezone(dt.UTC)


def test_the_head_is_told_who_was_reminded_when_and_staff_get_the_number_to_call(  # type: ignore[no-untyped-def]
        demo_ctx, smtp_server, run_fko, tmp_path: Path) -> None:
    contacts = tmp_path / "dgb.csv"
    contacts.write_bytes(institutions_csv([
        [*DGB, "Ralf Breuer", RALF, "Hauptansprechperson", "Herr", "0241 94600-12"],
        [*DGB, "Carina Roeben", CARINA, "Vertretung", "", ""],
        [*DGB, "Jörg Kaya", JOERG, "Leitung", "Herr Dr.", "0241 94600-0"],
    ], header=[*INSTITUTION_HEADER, "Anrede", "Telefon"]))
    imported = run_fko("institutions", "import", str(contacts))
    assert imported.exit_code == 0, imported.stderr
    listed = json.loads(run_fko("institutions", "list", "--json").stdout)
    dgb = next(i for i in listed["institutions"] if i["code"] == "DGB")
    assert [(c["salutation"], c["phone"]) for c in dgb["contacts"]] == [
        ("Herr", "0241 94600-12"), ("", ""), ("Herr Dr.", "0241 94600-0")]

    open_cycle(demo_ctx, year=2026, deadline=DEADLINE, today=dt.date(2026, 12, 1), now=morning(dt.date(2026, 12, 1)))
    asyncio.run(deliver_pending(demo_ctx))
    for day in (dt.date(2027, 1, 18), DEADLINE, dt.date(2027, 2, 1)):
        run_reminders(demo_ctx, today=day, now=morning(day))
        asyncio.run(deliver_pending(demo_ctx))

    to_dgb = [m for m in smtp_server.recorder.messages() if "DGB NRW Region Süd-West" in str(m["Subject"])]
    texts = {str(m["Subject"]).split(":")[0]: squash_spaces(m.get_body(("plain",)).get_content()) for m in to_dgb}
    invitation = "Abfrage 2026 zum Handlungskonzept Fachkräfteoffensive Region Aachen"
    assert set(texts) == {invitation, "Erinnerung", "Heute fällig", "Bitte um Unterstützung"}
    # Greeted by salutation and surname; the deadline is next year's January: never "in diesem Jahr".
    assert texts["Erinnerung"].startswith("Sehr geehrter Herr Breuer,")
    assert all("diesem Jahr" not in text for text in texts.values())
    assert "Bitte bis Montag, 25. Januar 2027, erledigen." in texts[invitation]

    escalation = next(m for m in to_dgb if str(m["Subject"]).startswith("Bitte um Unterstützung"))
    assert [a.addr_spec for a in escalation["To"].addresses] == [JOERG]
    assert AGENCY in [a.addr_spec for a in escalation["Cc"].addresses]
    text = texts["Bitte um Unterstützung"]
    assert text.startswith("Sehr geehrter Herr Dr. Kaya,")
    assert "war bis Montag, 25. Januar 2027, erbeten und liegt uns noch nicht vor" in text
    assert f"Einladung an Ralf Breuer ({RALF}) und Carina Roeben ({CARINA})" in text
    assert f"am 18. Januar 2027: Erinnerung an Ralf Breuer ({RALF}) - " in text
    assert f"am 25. Januar 2027: Erinnerung an Ralf Breuer ({RALF}) und Carina Roeben ({CARINA})" in text
    # The new date is the working day before staff would call (Monday 8 Feb).
    assert "dass die Rückmeldung bis Freitag, 5. Februar 2027, bei uns eingeht" in text
    assert "erreichen Sie die Regionalagentur Region Aachen telefonisch unter 0241 99999-0" in text
    assert AGENCY not in text.split("Mit freundlichen Grüßen")[0]  # the agency's copy is not "reminded"
    html = escalation.get_body(("html",)).get_content()
    assert "Sehr geehrter Herr Dr. Kaya," in html and "Freitag, 5. Februar 2027," in html

    # Monday 8 Feb: a phone task, with the numbers from the institutions file (and which one is missing).
    planned = run_fko("remind", "--today", "2027-02-08", "--dry-run")
    assert planned.exit_code == 0, planned.stderr
    assert last_cell(planned.stdout, "DGB") == (
        "anrufen: Ralf Breuer (Hauptansprechperson): 0241 94600-12; Jörg Kaya (Leitung): 0241 94600-0; "
        "ohne Telefonnummer in der Institutionsliste (Spalte „Telefon“): Carina Roeben (Vertretung)")
    assert last_cell(planned.stdout, "HWK").startswith(
        "anrufen: ohne Telefonnummer in der Institutionsliste (Spalte „Telefon“): ")
    run_reminders(demo_ctx, today=dt.date(2027, 2, 8), now=morning(dt.date(2027, 2, 8)))
    status = run_fko("cycle", "status")
    call = next(line for line in status.stdout.splitlines() if line.strip().startswith("• DGB"))
    assert squash_spaces(call) == (
        "• DGB (DGB NRW Region Süd-West): Ralf Breuer (Hauptansprechperson): 0241 94600-12; Jörg Kaya (Leitung): "
        "0241 94600-0; ohne Telefonnummer in der Institutionsliste (Spalte „Telefon“): Carina Roeben (Vertretung)")
    row = next(r for r in json.loads(run_fko("cycle", "status", "--json").stdout)["institutions"] if r["code"] == "DGB")
    assert row["call"][0] == {"name": "Ralf Breuer", "role": "primary", "phone": "0241 94600-12"}
