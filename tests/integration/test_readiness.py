"""Invitations through a real relay never carry links to this machine or a sender @localhost, unless staff say so
(issue 24): `fko cycle open` refuses before anything is queued, and queued mail waits instead of going out."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from core.dates import BERLIN
from tests.support import demo
from usecases.readiness import _is_local

TODAY = dt.datetime.now(BERLIN).date()


def deadline() -> str:
    day = TODAY + dt.timedelta(days=40)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return f"{day:%d.%m.%Y}"


@pytest.fixture
def relay_env(fko_env: dict[str, str], smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """As an agency configures it on day one: a real relay, FKO_BASE_URL and FKO_MAIL_FROM left at their defaults."""
    env = {k: v for k, v in fko_env.items() if k != "FKO_ALLOW_LOCAL_LINKS"}
    return env | {"FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port)}


def test_local_links_through_a_relay_are_refused_before_anything_is_queued(run_fko, relay_env, smtp_server) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo", env=relay_env).exit_code == 0
    result = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", deadline(), env=relay_env)
    assert result.exit_code == 2
    assert "Nicht versandt" in result.stderr and "FKO_BASE_URL ist http://127.0.0.1:8000" in result.stderr
    assert "FKO_MAIL_FROM ist fko-cycle@localhost" in result.stderr and "--allow-local" in result.stderr
    assert "Traceback" not in result.stderr
    assert smtp_server.recorder.received == []
    assert json.loads(run_fko("mail", "outbox", "--json", env=relay_env).stdout) == []
    assert run_fko("cycle", "status", env=relay_env).exit_code == 2  # no round was opened


def test_public_address_and_sender_go_out(run_fko, relay_env, smtp_server) -> None:  # type: ignore[no-untyped-def]
    env = relay_env | {"FKO_BASE_URL": "https://fko.regionalagentur.example.org",
                       "FKO_MAIL_FROM": "fachkraefte@regionalagentur.example.org"}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    result = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", deadline(), env=env)
    assert result.exit_code == 0, result.stderr
    assert len(smtp_server.recorder.received) == demo.INSTITUTIONS
    body = smtp_server.recorder.received[0].message().get_body(("plain",)).get_content()
    assert "https://fko.regionalagentur.example.org/r/" in body and "127.0.0.1" not in body


def test_allow_local_sends_on_purpose_and_the_sink_needs_nothing(run_fko, relay_env, fko_env, smtp_server) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo", env=relay_env).exit_code == 0
    result = run_fko("cycle", "open", "--year", str(TODAY.year), "--deadline", deadline(), "--allow-local",
                     env=relay_env)
    assert result.exit_code == 0, result.stderr
    assert len(smtp_server.recorder.received) == demo.INSTITUTIONS
    link = run_fko("cycle", "new-link", "-i", "IHK", "--year", str(TODAY.year), env=relay_env)
    assert link.exit_code == 2 and "FKO_BASE_URL" in link.stderr  # each command is asked again
    sink_env = {k: v for k, v in fko_env.items() if k != "FKO_ALLOW_LOCAL_LINKS"}
    renewed = run_fko("cycle", "new-link", "-i", "IHK", "--year", str(TODAY.year), env=sink_env)
    assert renewed.exit_code == 0, renewed.stderr  # no relay: the .eml sink on this machine, as in the demo


@pytest.mark.parametrize(("host", "local"), [("localhost", True), ("127.0.0.5", True), ("::1", True),
                                             ("0.0.0.0", True), ("fko.localhost", True),  # noqa: S104
                                             ("fko.example.org", False), ("192.0.2.10", False)])
def test_what_counts_as_this_machine(host: str, local: bool) -> None:
    assert _is_local(host) is local
