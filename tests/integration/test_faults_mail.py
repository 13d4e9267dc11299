"""Mail faults with real processes: `fko` killed mid-batch, the relay down, refusing or dropping.

Each test runs the real command line against the real test SMTP server and counts what arrived:
no message lost, none twice (the one window no SMTP client can close is measured, not hidden).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import demo
from tests.support.smtp import SmtpServer, free_port

INVITATIONS = demo.INSTITUTIONS


def message_ids(server: SmtpServer) -> collections.Counter[str]:
    return collections.Counter(str(m["Message-ID"]) for m in server.recorder.messages())


@pytest.fixture
def mail_env(fko_env: dict[str, str], smtp_server: SmtpServer, run_fko) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Demo region, cycle 2026 opened without sending: an invitation per institution waits in the outbox."""
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port)}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    opened = run_fko("cycle", "open", "--year", "2026", "--deadline", "15.10.2099", "--no-send", env=env)
    assert opened.exit_code == 0, opened.stderr
    return env


def start_sender(env: dict[str, str], tmp_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cli", "mail", "send"], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_until(condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def outbox(run_fko, env: dict[str, str]) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    result = run_fko("mail", "outbox", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_sender_killed_mid_batch_then_rerun_sends_each_invitation_once(mail_env, smtp_server, run_fko,  # type: ignore[no-untyped-def]
                                                                        tmp_path: Path) -> None:
    # The relay holds its answer from the 8th recipient on; once all five connections wait there,
    # every message the relay accepted has been committed as sent. Then the sender is killed.
    smtp_server.recorder.faults.stall_from_rcpt = 8
    sender = start_sender(mail_env, tmp_path)
    wait_until(lambda: smtp_server.recorder.stalled >= 5)
    accepted_before = len(smtp_server.recorder.received)
    sender.send_signal(signal.SIGKILL)
    sender.wait(timeout=10)
    smtp_server.recorder.release.set()
    smtp_server.recorder.faults.stall_from_rcpt = None
    states = collections.Counter(m["state"] for m in outbox(run_fko, mail_env))
    assert states["sent"] == accepted_before and states["sending"] == INVITATIONS - accepted_before

    rerun = run_fko("mail", "send", env=mail_env)  # at once: the dead sender's claims are released
    assert rerun.exit_code == 0, rerun.stderr
    assert f"{INVITATIONS - accepted_before} E-Mails versandt" in rerun.stdout
    ids = message_ids(smtp_server)
    assert len(ids) == INVITATIONS and set(ids.values()) == {1}  # none lost, none twice
    assert {m["state"] for m in outbox(run_fko, mail_env)} == {"sent"}


def test_the_crash_window_after_the_relay_accepted_resends_one_message_with_the_same_id(  # type: ignore[no-untyped-def]
        mail_env, smtp_server, run_fko, tmp_path: Path) -> None:
    # Killed after the relay stored message 5 but before the sender heard "250": the sender cannot know,
    # so the re-run sends it again. Exactly that one, under the same Message-ID (mail programs collapse it).
    env = {**mail_env, "FKO_SMTP_CONCURRENCY": "1"}
    sender = start_sender(env, tmp_path)

    def kill_at_fifth(count: int) -> None:
        if count == 5:
            os.kill(sender.pid, signal.SIGKILL)
            sender.wait(timeout=10)

    smtp_server.recorder.faults.after_data = kill_at_fifth
    sender.wait(timeout=60)
    assert sender.returncode == -signal.SIGKILL
    smtp_server.recorder.faults.after_data = None
    fifth = str(smtp_server.recorder.messages()[4]["Message-ID"])

    rerun = run_fko("mail", "send", env=env)
    assert rerun.exit_code == 0, rerun.stderr
    ids = message_ids(smtp_server)
    assert len(ids) == INVITATIONS  # none lost
    assert {k: v for k, v in ids.items() if v > 1} == {fifth: 2}


def test_relay_down_at_start_is_reported_and_a_later_run_sends_everything_once(  # type: ignore[no-untyped-def]
        mail_env, run_fko, tmp_path: Path) -> None:
    port = free_port()
    env = {**mail_env, "FKO_SMTP_PORT": str(port)}
    down = run_fko("mail", "send", env=env)
    assert down.exit_code == 1 and "Traceback" not in down.stderr
    assert f"{INVITATIONS} E-Mails vorerst nicht versandt" in down.stderr
    assert "`fko mail send` versucht es erneut" in down.stderr
    assert {m["state"] for m in outbox(run_fko, env)} == {"failed"}

    server = SmtpServer(port=port).start()
    try:
        up = run_fko("mail", "send", env=env)
        assert up.exit_code == 0, up.stderr
        ids = message_ids(server)
        assert len(ids) == INVITATIONS and set(ids.values()) == {1}
    finally:
        server.stop()


def test_connection_dropped_mid_batch_is_reported_and_resumed(mail_env, smtp_server, run_fko) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.faults.drop_after = 9  # then "421 closing connection" and the line drops
    first = run_fko("mail", "send", env=mail_env)
    assert first.exit_code == 1 and "Traceback" not in first.stderr
    accepted = len(smtp_server.recorder.received)  # 9, or a few more: five connections race for the drop
    assert 9 <= accepted < INVITATIONS
    assert f"{accepted} E-Mails versandt" in first.stdout
    assert f"{INVITATIONS - accepted} E-Mails vorerst nicht versandt (Verbindung zum Mailserver abgebrochen" in (
        first.stderr)
    smtp_server.recorder.faults.drop_after = None
    second = run_fko("mail", "send", env=mail_env)
    assert second.exit_code == 0 and f"{INVITATIONS - accepted} E-Mails versandt" in second.stdout
    ids = message_ids(smtp_server)
    assert len(ids) == INVITATIONS and set(ids.values()) == {1}


def test_refused_address_is_named_for_staff_and_never_tried_again(mail_env, smtp_server, run_fko) -> None:  # type: ignore[no-untyped-def]
    refused = "leonie.reiners@ihk-aachen.example.org"
    smtp_server.recorder.faults.reject = {refused}
    result = run_fko("mail", "send", env=mail_env)
    assert f"Adresse abgelehnt, keine weiteren E-Mails dorthin: {refused}" in result.stderr
    assert "Traceback" not in result.stderr
    smtp_server.recorder.faults.reject = set()
    again = run_fko("mail", "send", env=mail_env)
    assert "Keine E-Mails zu versenden." in again.stdout
    delivered_to = [a for r in smtp_server.recorder.received for a in r.recipients]
    assert refused not in delivered_to and len(message_ids(smtp_server)) == INVITATIONS


def test_cycle_open_killed_while_preparing_then_rerun_invites_each_institution_once(  # type: ignore[no-untyped-def]
        fko_env: dict[str, str], smtp_server, run_fko, tmp_path: Path) -> None:
    from sqlmodel import func, select

    from storage.database import make_engine, session_scope
    from storage.models import OutboundMessage

    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port)}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'fko.db'}")

    def queued() -> int:
        with session_scope(engine) as session:
            return int(session.exec(select(func.count()).select_from(OutboundMessage)).one())

    opening = subprocess.Popen([sys.executable, "-m", "cli", "cycle", "open", "--year", "2026", "--deadline",
                                "15.10.2099"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until(lambda: queued() >= 5)
    opening.send_signal(signal.SIGKILL)
    opening.wait(timeout=10)
    partial = queued()
    assert 5 <= partial < INVITATIONS  # killed halfway: what was queued stays queued, whole

    rerun = run_fko("cycle", "open", "--year", "2026", env=env)
    assert rerun.exit_code == 0, rerun.stderr
    assert "war bereits eröffnet" in rerun.stdout and f"{INVITATIONS - partial} Einladungen vorbereitet" in rerun.stdout
    assert queued() == INVITATIONS
    engine.dispose()
    ids = message_ids(smtp_server)
    assert len(ids) == INVITATIONS and set(ids.values()) == {1}


@pytest.mark.postgres
def test_database_gone_while_sending_the_next_run_sends_nothing_twice(  # type: ignore[no-untyped-def]
        fko_env, smtp_server, own_postgres, run_fko, tmp_path: Path) -> None:
    # The database stops while the relay takes message 5: from then on the sender cannot write "sent" down.
    # What the relay accepted waits in a file on disk; once the database is back, the next sender commits it
    # before it claims anything (before, the messages stayed claimed by the dead sender and went out again).
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
           "FKO_DATABASE_URL": own_postgres.create_database(), "FKO_SMTP_CONCURRENCY": "2"}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    assert run_fko("cycle", "open", "--year", "2026", "--deadline", "15.10.2099", "--no-send", env=env).exit_code == 0

    def stop_database_at_fifth(count: int) -> None:
        if count == 5:
            own_postgres.pause()

    smtp_server.recorder.faults.after_data = stop_database_at_fifth
    gone = run_fko("mail", "send", env=env)
    smtp_server.recorder.faults.after_data = None
    assert gone.exit_code == 3 and "Traceback" not in gone.stderr, gone.stderr
    assert "Die Datenbank ist nicht erreichbar oder gesperrt" in gone.stderr
    assert "nichts wird doppelt versandt" in gone.stderr
    sent_while_gone = len(smtp_server.recorder.received)
    assert sent_while_gone > 5  # the sender went on: the relay was there

    own_postgres.resume()
    again = run_fko("mail", "send", env=env)
    assert again.exit_code == 0, again.stderr
    ids = message_ids(smtp_server)
    assert len(ids) == INVITATIONS and set(ids.values()) == {1}, ids  # none lost, none twice
    states = outbox(run_fko, env)
    assert {m["state"] for m in states} == {"sent"}
    assert not list((tmp_path / "var" / "mail-unrecorded").glob("*.jsonl"))
