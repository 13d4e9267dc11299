"""The yearly round through the real Prefect flows (Prefect's test harness: a real, temporary server).

Smaller than the demo: the demo region, a few answers, one reminder run, approval and publishing. Asserts
the published version, the mails a real SMTP server received, the dashboard artifacts, that re-running
every flow changes nothing, and that `prefect deploy --all` accepts prefect.yaml.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from flows.deployments import DEPLOYMENTS
from storage.concepts import find_version, list_activities
from storage.database import session_scope
from storage.models import OutboundMessage
from storage.regions import get_region
from tests.integration.test_reminder_walk import request_id
from tests.support.factories import edit_sheet
from usecases.context import AppContext
from usecases.returns import accept_return, confirm_no_changes, sheet_for_request
from usecases.settings import load_settings
from usecases.setup import init_database

ROOT = Path(__file__).parents[2]
OPENED = dt.date(2026, 9, 1)
DEADLINE = dt.date(2026, 10, 15)


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[str]:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def env(tmp_path: Path, smtp_server, monkeypatch: pytest.MonkeyPatch) -> AppContext:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FKO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("FKO_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("FKO_ALLOW_LOCAL_LINKS", "true")
    monkeypatch.setenv("FKO_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("FKO_MAIL_FROM", "noreply@regionalagentur.example.org")
    monkeypatch.setenv("FKO_BASE_URL", "https://fko.example.org")
    ctx = AppContext.from_settings(load_settings())
    init_database(ctx, demo=True)
    return ctx


def subjects(server) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m["Subject"]) for m in server.recorder.messages()]


def test_prefect_yaml_and_serve_list_the_same_deployments() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    in_yaml = {d["name"]: (d["entrypoint"], (d.get("schedules") or [{}])[0].get("cron"),
                           (d.get("schedules") or [{}])[0].get("timezone")) for d in config["deployments"]}
    in_code = {d.name: (d.entrypoint, d.cron, "Europe/Berlin" if d.cron else None) for d in DEPLOYMENTS}
    assert in_yaml == in_code
    trigger = next(d for d in config["deployments"] if d["name"] == "ingest-returns")["triggers"][0]
    assert trigger["expect"] == ["fko.return.received"]
    # The page's event names institution and region: both reach the run's parameters, in both lists.
    spec = next(d for d in DEPLOYMENTS if d.name == "ingest-returns")
    assert trigger["parameters"] == (spec.trigger or {})["parameters"] == {
        "institution": "{{ event.payload.institution }}", "region": "{{ event.payload.region }}"}
    assert all("secret" not in str(d).lower() and "password" not in str(d).lower() for d in config["deployments"])


def test_the_round_through_the_flows(prefect_server: str, env: AppContext, smtp_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client

    from flows.close_cycle import close_cycle_flow
    from flows.escalate_reminders import escalate_reminders_flow
    from flows.ingest_returns import ingest_returns_flow
    from flows.open_cycle import open_cycle_flow
    from flows.publish_concept import publish_concept_flow
    from flows.regenerate_concept import regenerate_concept_flow

    opened = asyncio.run(open_cycle_flow(year=2026, deadline=DEADLINE, today=OPENED))
    assert (opened["invitations"], opened["sent"]) == (22, 22)

    # The institutions: IHK uploads a changed sheet on the page, VUV clicks "Keine Änderungen",
    # HWK's sheet arrives by mail and staff drop it into the inbox.
    ihk = request_id(env, "IHK")
    sheet, _ = sheet_for_request(env, request_id=ihk, now=dt.datetime(2026, 9, 3, 9, tzinfo=dt.UTC))
    accept_return(env, request_id=ihk, now=dt.datetime(2026, 9, 3, 9, tzinfo=dt.UTC), filename="ihk.xlsx",
                  source="portal", data=edit_sheet(sheet, {"B9": "Azubi-Werkstatt Energiewende",
                                                           "D9": "Duale Ausbildung stärken", "E9": "geplant"}))
    confirm_no_changes(env, request_id=request_id(env, "VUV"), now=dt.datetime(2026, 9, 4, 9, tzinfo=dt.UTC))
    hwk_sheet, name = sheet_for_request(env, request_id=request_id(env, "HWK"),
                                        now=dt.datetime(2026, 9, 5, tzinfo=dt.UTC))
    inbox = tmp_path / "var" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / name).write_bytes(edit_sheet(hwk_sheet, {"E2": "abgeschlossen"}))
    ingested = asyncio.run(ingest_returns_flow(today=dt.date(2026, 9, 6)))
    assert ingested["inbox"]["accepted"] == [f"HWK: {name}"]
    assert (inbox / "done" / name).is_file()

    reminded = asyncio.run(escalate_reminders_flow(today=dt.date(2026, 10, 8)))
    # 19 reminders, and the staff digest of what came in since the round opened (three answers).
    assert reminded["planned"] == 19 and reminded["digest"] == 1 and reminded["sent"] == 20

    waiting = asyncio.run(publish_concept_flow(year=2026, today=dt.date(2026, 11, 2), approved_by="Frau Beispiel"))
    assert waiting["published"] is None and waiting["open_until"] == "2026-11-05"  # the late window still runs
    published = asyncio.run(publish_concept_flow(year=2026, today=dt.date(2026, 11, 6), approved_by="Frau Beispiel"))
    assert published == {"published": "2026", "approved_by": "Frau Beispiel"}
    closed = asyncio.run(close_cycle_flow(year=2026, today=dt.date(2026, 11, 7)))
    assert closed["closed"] is True and closed["totals"]["answered"] == 3

    with session_scope(env.engine) as session:
        region = get_region(session=session)
        version = find_version(session=session, region_id=region.id or 0, label="2026")
        activities = {a.key: a for a in list_activities(session=session, version_id=version.id or 0)}
        assert (version.status, version.approved_by) == ("published", "Frau Beispiel")
    assert activities["IHK-0007"].title == "Azubi-Werkstatt Energiewende"
    assert activities["HWK-0001"].status == "abgeschlossen"
    assert len(activities) == 79

    received = subjects(smtp_server)
    assert sum(s.startswith("Abfrage 2026 zum Handlungskonzept") for s in received) == 22
    assert sum(s.startswith("Eingangsbestätigung") for s in received) == 1  # HWK's mailed sheet: filed without mail
    assert sum(s.startswith("Bestätigt: keine Änderungen") for s in received) == 1
    assert sum(s.startswith("Erinnerung:") for s in received) == 19
    assert sum(s.startswith("Tagesübersicht 08.10.2026") for s in received) == 1

    async def read_artifacts() -> list[tuple[str, str]]:
        async with get_client() as client:
            artifacts = await client.read_artifacts(limit=200)
            return [(a.key or "", f"{a.data} {a.description}") for a in artifacts]

    artifacts = asyncio.run(read_artifacts())
    keys = {key for key, _ in artifacts if key}
    # Documents are linked into the staff area over HTTP, never as file paths a browser will not open.
    assert [key for key, text in artifacts if "file:" in text] == []
    assert all("](https://fko.example.org/intern/dokumente/2026/" in text for key, text in artifacts
               if key.startswith("fko-doc-"))
    assert {"fko-response-table-2026", "fko-response-rate-2026", "fko-change-report-2026", "fko-approval-2026",
            "fko-next-opening"} <= keys
    assert any(k.startswith("fko-doc-handlungskonzept-2026") for k in keys)

    # Re-running every flow changes nothing: no mail, no new version, no new submission.
    with session_scope(env.engine) as session:
        messages_before = len(session.exec(select(OutboundMessage)).all())
    asyncio.run(open_cycle_flow(year=2026, deadline=DEADLINE, today=OPENED))
    asyncio.run(ingest_returns_flow(year=2026, today=dt.date(2026, 11, 4)))
    asyncio.run(escalate_reminders_flow(today=dt.date(2026, 11, 4)))
    asyncio.run(regenerate_concept_flow(year=2026, today=dt.date(2026, 11, 4)))
    assert asyncio.run(publish_concept_flow(year=2026, approved_by="x"))["already"] is True
    assert asyncio.run(close_cycle_flow(year=2026))["closed"] is False
    with session_scope(env.engine) as session:
        assert len(session.exec(select(OutboundMessage)).all()) == messages_before
    assert len(smtp_server.recorder.received) == len(received)


def test_prefect_deploy_accepts_prefect_yaml(prefect_server: str) -> None:
    prefect = [sys.executable, "-m", "prefect"]
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "COLUMNS": "250"}
    subprocess.run([*prefect, "work-pool", "create", "fko-process", "--type", "process"], cwd=ROOT, env=env,
                   check=False, capture_output=True, timeout=120)
    deployed = subprocess.run([*prefect, "--no-prompt", "deploy", "--all"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    listed = subprocess.run([*prefect, "deployment", "ls"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    for spec in DEPLOYMENTS:
        assert spec.name in listed.stdout


def test_fko_serve_builds_every_deployment_with_its_schedule_and_trigger() -> None:
    from flows.serve import build_deployments

    deployments = {d.name: d for d in build_deployments()}
    assert set(deployments) == {spec.name for spec in DEPLOYMENTS}
    yearly = deployments["yearly-opening"].schedules[0].schedule
    assert (yearly.cron, yearly.timezone) == ("0 9 1 9 *", "Europe/Berlin")
    (trigger,) = deployments["ingest-returns"].triggers
    assert trigger.expect == {"fko.return.received"}
    assert deployments["publish-concept"].schedules in (None, [])


def test_ingest_returns_reads_the_mailbox_and_a_mailbox_that_is_down_fails_the_run_with_one_line(  # type: ignore[no-untyped-def]
        prefect_server: str, env: AppContext, smtp_server, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.ingest_returns import ingest_returns_flow
    from flows.open_cycle import open_cycle_flow
    from tests.support.imap import PASSWORD, USER, Dovecot, reply, sheet_of

    mailbox = Dovecot()  # its port is chosen; the server is not running yet
    for name, value in (("HOST", "127.0.0.1"), ("PORT", str(mailbox.port)), ("USER", USER),
                        ("PASSWORD", PASSWORD), ("TLS", "none")):
        monkeypatch.setenv(f"FKO_IMAP_{name}", value)
    asyncio.run(open_cycle_flow(year=2026, deadline=DEADLINE, today=OPENED))
    invitation = next(m for m in smtp_server.recorder.messages() if str(m["To"]).endswith("@ihk-aachen.example.org>")
                      and any(p.get_filename() for p in m.iter_attachments()))
    smtp_server.recorder.received.clear()

    down = asyncio.run(ingest_returns_flow(today=dt.date(2026, 9, 6), return_state=True))
    assert down.is_failed()
    assert down.message == (f"Postfach nicht gelesen: Das Postfach 127.0.0.1:{mailbox.port} ist nicht erreichbar "
                            "([Errno 111] Connection refused). Der nächste Lauf holt es nach.")

    mailbox.start()
    try:
        mailbox.deliver(reply(invitation, sender="leonie.reiners@ihk-aachen.example.org",
                              attachments=[("Rückmeldung.xlsx", sheet_of(invitation))]))
        caught_up = asyncio.run(ingest_returns_flow(today=dt.date(2026, 9, 7)))
        assert caught_up["mailbox"]["counts"]["return"] == 1  # type: ignore[index]
        assert mailbox.folders()["fko.verarbeitet"] == 1
    finally:
        mailbox.stop()
    assert [s for s in subjects(smtp_server) if s.startswith("Eingangsbestätigung")] == [
        "Eingangsbestätigung: Rückmeldung IHK Aachen zum Handlungskonzept Region Aachen 2026"]
