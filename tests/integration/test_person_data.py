"""`fko person export` and `fko person erase` end to end: a contact who got mail, replied by mail with a sheet that
names her in an activity, is in a published version; her data is exported whole, then erased everywhere in the
database and the file store, while the published documents stay as adopted and the next round no longer shows her.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import make_engine
from storage.filestore import FileStore
from tests.support.factories import edit_sheet
from tests.support.imap import Dovecot, reply, sheet_of
from tests.support.smtp import free_port

LEONIE = "leonie.reiners@ihk-aachen.example.org"
NAME = "Leonie Reiners"
HER_ROW = {"B9": "Azubi-Speed-Dating Handel", "D9": "Duale Ausbildung stärken", "E9": "geplant",
           "L9": NAME, "M9": LEONIE}


@pytest.fixture
def env(mailbox_env: dict[str, str]) -> dict[str, str]:
    return mailbox_env


def ok(run_fko, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    result = run_fko(*args, env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def every_row(database: Path) -> str:
    """Every value of every table, as one lower-case text (what a search of the database would find)."""
    with sqlite3.connect(database) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = [str(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')]  # noqa: S608
    connection.close()
    return "\n".join(rows).lower()


def stored_texts(files: Path, kind: str) -> list[str]:
    """The stored files of a kind, each decoded as far as mail and documents go (quoted-printable, base64)."""
    import email
    import email.policy

    found = []
    for path in (files / kind).rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if kind == "mail":
            message = email.message_from_bytes(data, policy=email.policy.default)
            found.append(" ".join(str(part.get_content()) for part in message.walk()
                                  if part.get_content_maintype() == "text").lower())
        else:
            found.append(data.decode("utf-8", errors="replace").lower())
    return found


def publish_and_render(data_dir: Path, smtp_port: int) -> dict[str, dict[str, str]]:
    """Adopt version 2027 (as `fko publish --early` would) and keep its documents (without PDF: quicker)."""
    from usecases.context import AppContext
    from usecases.documents import render_published
    from usecases.settings import Settings
    from usecases.versions import current_drafts, publish_draft

    ctx = AppContext.from_settings(Settings(data_dir=data_dir, smtp_host="127.0.0.1", smtp_port=smtp_port))
    try:
        now = dt.datetime.now(dt.UTC)
        current_drafts(ctx, now=now)
        publish_draft(ctx, approved_by="Lenkungskreis", now=now, label="2027")
        render_published(ctx, label="2027", pdf=False)
        with ctx.engine.connect() as connection:
            documents = connection.execute(text("SELECT documents FROM concept_version WHERE label = '2027'")).scalar()
    finally:
        ctx.close()
    return json.loads(documents)["files"]  # type: ignore[no-any-return]


def test_a_person_is_exported_and_erased_everywhere_and_the_next_round_no_longer_shows_her(
        run_fko, env: dict[str, str], dovecot: Dovecot, smtp_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data_dir = Path(env["FKO_DATA_DIR"])
    ok(run_fko, env, "init", "--demo")
    ok(run_fko, env, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027")
    invitation = next(r.message() for r in smtp_server.recorder.received if LEONIE in r.recipients)
    sheet = edit_sheet(sheet_of(invitation), HER_ROW)
    dovecot.deliver(reply(invitation, sender=f"{NAME} <{LEONIE}>", subject="Unsere Rückmeldung (Reiners)",
                          attachments=[("IHK.xlsx", sheet)]))
    fetched = ok(run_fko, env, "mail", "fetch")
    assert "angenommen" in fetched.stdout
    published_files = publish_and_render(data_dir, smtp_server.port)
    document = next(sha["sha256"] for name, sha in published_files.items() if name.endswith(".html"))
    published_html = (data_dir / "files" / "document" / document[:2] / document[2:4] / document).read_bytes()
    assert NAME.encode() in published_html

    # Art. 15: everything about her in one file.
    out = tmp_path / "auskunft.json"
    result = ok(run_fko, env, "person", "export", LEONIE.upper(), "--out", str(out), "--by", "Petra Beispiel")
    assert "Auskunft zu leonie.reiners@ihk-aachen.example.org geschrieben" in result.stdout
    export = json.loads(out.read_text(encoding="utf-8"))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert export["daten_gefunden"] is True
    assert [(c["kuerzel"], c["name"], c["rolle"]) for c in export["ansprechperson"]] == \
        [("IHK", NAME, "Hauptansprechperson")]
    kinds = sorted(m["art"] for m in export["gesendete_e_mails"])
    assert kinds == ["Eingangsbestätigung", "Einladung"], kinds
    invitation_entry = next(m for m in export["gesendete_e_mails"] if m["art"] == "Einladung")
    assert "Frau Reiners" in invitation_entry["text"] or "Leonie Reiners" in invitation_entry["text"]
    assert invitation_entry["anhaenge"] and invitation_entry["stand"] == "versandt"
    assert [m["betreff"] for m in export["eingegangene_e_mails"]] == ["Unsere Rückmeldung (Reiners)"]
    (upload,) = export["eingesandte_dateien"]
    assert base64.b64decode(upload["inhalt_base64"]) == sheet and upload["ergebnis"] == "angenommen"
    assert {(a["version"], a["stand"], a["titel"]) for a in export["aktivitaeten"]} == \
        {("2027", "veröffentlicht", "Azubi-Speed-Dating Handel")}
    assert export["zwecke_und_speicherdauer"] and export["verantwortliche_stelle"][0]["stelle"]

    # Art. 17: a dry run first changes nothing.
    before = every_row(data_dir / "fko.db")
    preview = ok(run_fko, env, "person", "erase", LEONIE, "--dry-run")
    assert "Würde gelöscht" in preview.stdout and every_row(data_dir / "fko.db") == before
    without_yes = run_fko("person", "erase", LEONIE, env=env)
    assert without_yes.exit_code == 2 and "--yes" in without_yes.stderr

    erased = ok(run_fko, env, "person", "erase", LEONIE, "--yes", "--by", "Petra Beispiel")
    assert "Gelöscht (Löschung Nr. 1" in erased.stdout
    assert "Ohne aktive Hauptansprechperson: IHK" in erased.stderr
    rows = every_row(data_dir / "fko.db")
    assert LEONIE not in rows and NAME.lower() not in rows and "reiners" not in rows
    for body in stored_texts(data_dir / "files", "mail"):
        assert LEONIE not in body and NAME.lower() not in body
    # The published documents stay as adopted; the accepted file stays as the version's evidence.
    assert (data_dir / "files" / "document" / document[:2] / document[2:4] / document).read_bytes() == published_html
    assert FileStore(data_dir / "files").get(hashlib.sha256(sheet).hexdigest(), kind="upload") == sheet
    # The log keeps that it happened and by whom, without her address.
    engine = make_engine(f"sqlite:///{data_dir / 'fko.db'}")
    with engine.connect() as connection:
        events = connection.execute(text("SELECT actor, subject FROM event_log WHERE action = 'person.erased'")).all()
        messages = connection.execute(text("SELECT recipient, state, body_removed_at FROM outbound_message "
                                           "WHERE recipient = '[gelöscht]'")).all()
    engine.dispose()
    assert events == [("staff:Petra Beispiel", "Löschung Nr. 1")]
    assert len(messages) == 2 and all(m[1] == "sent" and m[2] is not None for m in messages)
    listed = ok(run_fko, env, "institutions", "list", "--json")
    ihk = next(i for i in json.loads(listed.stdout)["institutions"] if i["code"] == "IHK")
    (gone,) = [c for c in ihk["contacts"] if c["name"] == "[gelöscht]"]
    assert gone["active"] is False and gone["email"].endswith("@geloescht.invalid") and gone["role"] == "primary"

    # Again: nothing more to erase, nothing changes.
    again = ok(run_fko, env, "person", "erase", LEONIE, "--yes")
    assert "ist nichts mehr gespeichert" in again.stdout and "von Petra Beispiel" in again.stdout
    assert every_row(data_dir / "fko.db").count("person.erased") == 1
    nothing = json.loads(ok(run_fko, env, "person", "export", LEONIE).stdout)
    assert nothing["daten_gefunden"] is False

    # The next round starts from the published version: her sheet, the draft and its documents do not name her.
    ok(run_fko, env, "cycle", "open", "--year", "2028", "--deadline", "15.10.2028", "--no-send", "--force", "--yes")
    built = tmp_path / "ihk-2028.xlsx"
    ok(run_fko, env, "sheet", "build", "--institution", "IHK", "--out", str(built), "--year", "2028")
    from openpyxl import load_workbook

    cells = " ".join(str(c.value) for row in load_workbook(io.BytesIO(built.read_bytes()))["Aktivitäten"].iter_rows()
                     for c in row if c.value is not None)
    assert "Azubi-Speed-Dating Handel" in cells and NAME not in cells and LEONIE not in cells
    ok(run_fko, env, "render", "--out", str(tmp_path / "entwurf"), "--no-pdf")
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "entwurf").rglob("*.html")]
    assert any("Azubi-Speed-Dating Handel" in page for page in pages)
    assert not any(NAME in page or LEONIE in page for page in pages)


def test_erasing_a_person_whose_mail_waits_cancels_it_and_removes_the_local_copies(run_fko, fko_env) -> None:  # type: ignore[no-untyped-def]
    data_dir = Path(fko_env["FKO_DATA_DIR"])
    anna = "anna.schmitz@arbeitsagentur-aachen-dueren.example.org"
    ok(run_fko, fko_env, "init", "--demo")
    ok(run_fko, fko_env, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027", "--no-send")
    ok(run_fko, fko_env, "mail", "send", "--allow-local")  # into the local .eml sink
    # The relay is away when the notices of a new deadline go out: they wait in the outbox.
    away = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(free_port())}
    run_fko("cycle", "deadline", "--year", "2027", "22.10.2027", "--yes", env=away)
    sink = data_dir / "mail"
    mine = [p for p in sink.glob("*.eml") if anna in p.read_text(encoding="utf-8", errors="replace")]
    assert len(mine) == 1
    others = len(list(sink.glob("*.eml"))) - 1
    erased = ok(run_fko, fko_env, "person", "erase", anna, "--yes")
    assert "noch nicht versandt und gestrichen" in erased.stdout
    assert "1 Datei der lokalen E-Mail-Ablage entfernt" in erased.stdout
    assert not any(p.exists() for p in mine) and len(list(sink.glob("*.eml"))) == others
    ok(run_fko, fko_env, "mail", "send", "--allow-local")
    assert not [p for p in sink.glob("*.eml") if anna in p.read_text(encoding="utf-8", errors="replace")]
    assert anna not in every_row(data_dir / "fko.db")


def test_erasure_is_all_or_nothing_and_a_second_run_finishes_it(tmp_path: Path) -> None:
    from usecases.context import AppContext
    from usecases.cycle import open_cycle
    from usecases.person_data import erase_person
    from usecases.settings import Settings
    from usecases.setup import init_database

    anna = "anna.schmitz@arbeitsagentur-aachen-dueren.example.org"
    ctx = AppContext.from_settings(Settings(data_dir=tmp_path / "var"))
    try:
        init_database(ctx, demo=True)
        now = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
        open_cycle(ctx, year=2026, deadline=dt.date(2026, 10, 15), today=now.date(), now=now)
        database = tmp_path / "var" / "fko.db"
        before = every_row(database)
        bodies = sorted(p.name for p in (tmp_path / "var" / "files" / "mail").rglob("*") if p.is_file())
        with sqlite3.connect(database) as connection:  # the last table the erasure touches refuses the change
            connection.execute("CREATE TRIGGER refuse BEFORE UPDATE ON submission BEGIN SELECT RAISE(ABORT, 'nein'); "
                               "END")
            connection.execute("UPDATE event_log SET details = ? WHERE id = 1", (json.dumps({"to": anna}),))
            connection.execute("INSERT INTO submission (request_id, received_at, source, filename, size, outcome, "
                               "problems, changes, activities) SELECT id, '2026-09-02 08:00:00', 'portal', '', 0, "
                               "'accepted', '[]', '{}', ? FROM request WHERE id = 1",
                               (json.dumps([{"key": "AA-ACDN-0001", "email": anna}]),))
        connection.close()
        before = every_row(database)
        with pytest.raises(Exception, match="nein"):
            erase_person(ctx, address=anna, by="Petra", now=now)
        assert every_row(database) == before  # nothing half-done in the database
        assert sorted(p.name for p in (tmp_path / "var" / "files" / "mail").rglob("*") if p.is_file()) == bodies
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TRIGGER refuse")
        connection.close()
        report = erase_person(ctx, address=anna, by="Petra", now=now)
        assert report.counts["contacts"] == 1 and report.counts["snapshots"] == 1 and report.bodies_removed == 1
        assert anna not in every_row(database)
        assert erase_person(ctx, address=anna, by="Petra", now=now).found is False
    finally:
        ctx.close()
