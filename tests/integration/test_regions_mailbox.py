"""One mailbox for all regions of an installation: `fko mail fetch` without a region sends each message to the
region it belongs to (the message it answers, else the writer's institution)."""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from pathlib import Path

from tests.integration.test_regions import NAMES, REGION, rows_of
from tests.support.factories import institutions_xlsx
from tests.support.imap import Dovecot, reply, sheet_of

VERARBEITET, UNKLAR = "fko.verarbeitet", "fko.unklar"


def demo_and_koeln(run_fko, tmp_path: Path, env: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """The demo region Aachen and Köln beside it, with Köln's institutions (IHK and KDN)."""
    assert run_fko("init", "--demo", env=env).exit_code == 0
    folder = tmp_path / "koeln"
    folder.mkdir()
    (folder / "region.toml").write_text(REGION.format(code="koeln", name=NAMES["koeln"], extra=""), encoding="utf-8")
    assert run_fko("init", "--region-file", str(folder / "region.toml"), env=env).exit_code == 0
    (folder / "institutionen.xlsx").write_bytes(institutions_xlsx(rows_of("koeln")))
    assert run_fko("--region", "koeln", "institutions", "import", str(folder / "institutionen.xlsx"),
                   env=env).exit_code == 0


def invitations_by_region(smtp_server) -> dict[tuple[str, str], EmailMessage]:  # type: ignore[no-untyped-def]
    """(region, institution code) → its invitation, by the attached sheet's name (Abfrage-2027-REGION-CODE)."""
    found: dict[tuple[str, str], EmailMessage] = {}
    for received in smtp_server.recorder.received:
        message = received.message()
        for part in message.iter_attachments():
            name = (part.get_filename() or "").removesuffix(".xlsx")
            if name.count("-") >= 3:
                _, _, region, code = name.rsplit("-", 3)
                found[(region, code)] = message
    smtp_server.recorder.received.clear()
    return found


def answered(run_fko, env: dict[str, str], region: str) -> set[str]:  # type: ignore[no-untyped-def]
    result = run_fko("--region", region, "cycle", "status", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return {row["code"] for row in json.loads(result.stdout)["institutions"] if row["state"] == "answered"}


def test_regions_share_one_mailbox_and_each_reply_reaches_its_region(  # type: ignore[no-untyped-def]
        run_fko, mailbox_env: dict[str, str], dovecot: Dovecot, smtp_server, tmp_path: Path) -> None:
    env = mailbox_env
    demo_and_koeln(run_fko, tmp_path, env)
    for region in ("aachen", "koeln"):
        opened = run_fko("--region", region, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027", env=env)
        assert opened.exit_code == 0, opened.stderr
    invitations = invitations_by_region(smtp_server)
    koeln_ihk = invitations[("koeln", "IHK")]
    aachen_code, aachen_invitation = next((code, m) for (region, code), m in invitations.items() if region == "aachen")
    aachen_contact = aachen_invitation["To"].addresses[0].addr_spec

    # Köln's IHK answers its invitation; an Aachen contact writes a new mail (no reference) with its sheet;
    # a stranger writes without a sheet.
    dovecot.deliver(reply(koeln_ihk, sender=koeln_ihk["To"].addresses[0].addr_spec,
                          attachments=[("Rueckmeldung.xlsx", sheet_of(koeln_ihk))]))
    dovecot.deliver(reply(None, sender=aachen_contact, subject="Unsere Tabelle",
                          attachments=[("Tabelle.xlsx", sheet_of(aachen_invitation))]))
    dovecot.deliver(reply(None, sender="werbung@irgendwo.example.net", subject="Angebot"))
    # A colleague from a private address sends Köln's district sheet as a new mail: nothing names the region
    # but the sheet's signature, so the first region (Aachen) gets it and hands the sheet on to Köln.
    koeln_kdn = invitations[("koeln", "KDN")]
    dovecot.deliver(reply(None, sender="kollegin@privat.example.net", subject="Tabelle Kreis",
                          attachments=[("Kreis.xlsx", sheet_of(koeln_kdn))]))
    fetched = run_fko("mail", "fetch", env=env)
    assert fetched.exit_code == 0, fetched.stderr
    assert "4 Nachrichten: 3 Rückmeldung, 1 unklar." in fetched.stdout

    assert answered(run_fko, env, "koeln") == {"IHK", "KDN"}
    assert answered(run_fko, env, "aachen") == {aachen_code}
    receipts = [r.message() for r in smtp_server.recorder.received]
    koeln_receipt = next(m for m in receipts if "koeln-ihk" in str(m["To"]))
    aachen_receipt = next(m for m in receipts if aachen_contact in str(m["To"]))
    assert "Regionalagentur Köln" in str(koeln_receipt["From"]) and "ra-koeln" in str(koeln_receipt["Reply-To"])
    assert "Regionalagentur Region Aachen" in str(aachen_receipt["From"])
    assert not any("irgendwo.example.net" in str(m["To"]) for m in receipts)  # no answer to a stranger
    colleague = next(m for m in receipts if "kollegin@privat.example.net" in str(m["To"]) + str(m["Cc"]))
    assert "Regionalagentur Köln" in str(colleague["From"])
    assert dovecot.folders()[VERARBEITET] == 3 and dovecot.folders()[UNKLAR] == 1


def test_regions_share_the_drop_folder_and_each_region_takes_only_its_own_sheets(  # type: ignore[no-untyped-def]
        run_fko, fko_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    from usecases.context import app_context
    from usecases.inbox import ingest_drop_folder

    demo_and_koeln(run_fko, tmp_path)
    inbox = tmp_path / "var" / "inbox"
    inbox.mkdir()
    for region, code in (("aachen", "IHK"), ("koeln", "IHK")):
        opened = run_fko("--region", region, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027",
                         "--no-send")
        assert opened.exit_code == 0, opened.stderr
        built = run_fko("--region", region, "sheet", "build", "--institution", code, "--out",
                        str(inbox / f"{region}-{code}.xlsx"))
        assert built.exit_code == 0, built.stderr
    for key, value in fko_env.items():
        monkeypatch.setenv(key, value)
    now = dt.datetime.now(dt.UTC)
    with app_context(region="aachen") as ctx:
        first = ingest_drop_folder(ctx, year=2027, now=now)
    assert first.accepted == ["IHK: aachen-IHK.xlsx"] and not first.unknown
    assert (inbox / "koeln-IHK.xlsx").exists()  # left for Köln's run, not filed as unknown
    with app_context(region="koeln") as ctx:
        second = ingest_drop_folder(ctx, year=2027, now=now)
    assert second.accepted == ["IHK: koeln-IHK.xlsx"] and not second.unknown
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["aachen-IHK.xlsx", "koeln-IHK.xlsx"]


def test_regions_intake_runs_only_where_a_round_is_open_or_a_file_waits(  # type: ignore[no-untyped-def]
        run_fko, fko_env: dict[str, str], tmp_path: Path, monkeypatch) -> None:
    """The 10-minute intake on a database of many regions starts a run only for a region with work."""
    from usecases.context import app_context
    from usecases.inbox import regions_with_returns

    demo_and_koeln(run_fko, tmp_path)
    for key, value in fko_env.items():
        monkeypatch.setenv(key, value)
    with app_context() as ctx:
        assert regions_with_returns(ctx) == []
    opened = run_fko("--region", "koeln", "cycle", "open", "--year", "2027", "--deadline", "15.10.2027", "--no-send")
    assert opened.exit_code == 0, opened.stderr
    with app_context() as ctx:
        assert regions_with_returns(ctx) == ["koeln"]
    (tmp_path / "var" / "inbox").mkdir()
    (tmp_path / "var" / "inbox" / "Tabelle.xlsx").write_bytes(b"PK")
    with app_context() as ctx:
        assert regions_with_returns(ctx) == ["aachen", "koeln"]
