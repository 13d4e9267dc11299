"""What staff do on the Prefect dashboard, end to end, against a real `prefect server start` protected by its
basic-auth string (as in production), with the deployments served by `fko serve` and the page run as
`fko portal`, each a process of its own:

- an upload on the institutions' page emits the return event, the `ingest-returns` trigger starts a run,
  the run rebuilds the draft;
- `publish-concept` started from its deployment is suspended waiting for the approval form; the test answers
  the form through the API from this process (as the dashboard does): a rejection leaves the draft and shows
  the comment, an approval publishes, a second approval publishes nothing and says so;
- no artifact links to a ``file://`` path: documents are linked into the staff area over HTTP.

One round for the module (starting the server and the processes costs about a minute); the tests run in
file order: the upload, the rejection, the approval (publishing ends the round).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.demo_run import prefect_env, serve_deployments, start_prefect_server, stop_process, wait_for_deployments
from core.dates import BERLIN
from flows.deployments import DEPLOYMENTS
from storage.concepts import find_version, list_activities
from storage.database import session_scope
from storage.regions import get_region
from tests.support.factories import edit_sheet
from tests.support.portal import PortalProcess, csrf_of, links_from_mail, main_text
from tests.support.smtp import free_port
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.outbox import deliver_pending
from usecases.settings import Settings
from usecases.setup import init_database
from usecases.versions import version_status

TODAY = dt.datetime.now(BERLIN).date()
YEAR = TODAY.year
NEW_TITLE = "Azubi-Werkstatt Energiewende"
BOUND = 180.0  # seconds any one wait may take on a loaded machine


@dataclass
class Served:
    api_url: str
    auth: str
    ctx: AppContext
    portal: PortalProcess
    links: dict[str, str]
    base_url: str
    logs: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(self.auth.encode()).decode()}

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The REST API as the dashboard calls it (with the basic-auth header). Prefect's server answers 503
        while its SQLite database is busy (seen under a loaded test run); the dashboard would retry, so do we,
        a few times."""
        for attempt in range(5):
            response = httpx.request(method, f"{self.api_url}{path}", headers=self.headers, timeout=30, **kwargs)
            if response.status_code != 503 or attempt == 4:
                return response
            time.sleep(1 + attempt)
        return response

    def log_tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.logs.glob("*.log"))


def until(what: str, check: Callable[[], Any], served: Served, timeout: float = BOUND) -> Any:
    """Poll ``check`` until it returns something truthy; fail (with the processes' logs) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}\n{served.log_tail()}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("dashboard")
    logs = root / "logs"
    logs.mkdir()
    auth = f"fko-admin:{secrets.token_urlsafe(18)}"
    home = root / "prefect"
    # The scheduler is off: no half-hourly ingest run gets in the way; triggers and automations stay on.
    server, api_url = start_prefect_server(home, lambda _: None, env={
        "PREFECT_SERVER_API_AUTH_STRING": auth, "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"})
    processes = [server]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = root / "var"
    fko = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
    env = prefect_env(home, **{k: v for k, v in fko.items() if not k.startswith("PREFECT_")},
                      PREFECT_API_URL=api_url, PREFECT_API_AUTH_STRING=auth, PREFECT_RUNNER_POLL_FREQUENCY="1",
                      FKO_DATA_DIR=str(data_dir), FKO_BASE_URL=base_url, FKO_ALLOW_LOCAL_LINKS="true",
                      XDG_CONFIG_HOME=str(root / "config"))
    ctx = AppContext.from_settings(Settings(data_dir=data_dir, base_url=base_url, allow_local_links=True))
    try:
        init_database(ctx, demo=True)
        now = dt.datetime.now(dt.UTC)
        open_cycle(ctx, year=YEAR, deadline=TODAY + dt.timedelta(weeks=6), today=TODAY, now=now)
        asyncio.run(deliver_pending(ctx))  # the invitations into the .eml sink: the personal links
        mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                 for p in sorted(ctx.settings.mail_sink_dir.glob("*.eml"))]
        links = links_from_mail(mails, base_url)
        runner = serve_deployments(env, logs / "serve.log")
        processes.append(runner)
        portal = PortalProcess(env, port, logs / "portal.log").start()
        wait_for_deployments(api_url, [d.name for d in DEPLOYMENTS], auth=auth, timeout=BOUND, runner=runner)
        yield Served(api_url, auth, ctx, portal, links, base_url, logs)
        portal.stop()
    finally:
        for process in reversed(processes):
            stop_process(process)
        (logs / "server.log").write_bytes((home / "server.log").read_bytes())
        ctx.close()


def draft_titles(ctx: AppContext) -> set[str]:
    with session_scope(ctx.engine) as session:
        region = get_region(session=session)
        version = find_version(session=session, region_id=region.id or 0, label=str(YEAR))
        return {a.title for a in list_activities(session=session, version_id=version.id or 0)}


def deployment_id(served: Served, name: str) -> str:
    response = served.api("GET", f"/deployments/name/{name}/{name}")
    response.raise_for_status()
    return str(response.json()["id"])


def flow_runs(served: Served, deployment: str) -> list[dict[str, Any]]:
    response = served.api("POST", "/flow_runs/filter", json={
        "deployments": {"id": {"any_": [deployment_id(served, deployment)]}}, "sort": "EXPECTED_START_TIME_ASC"})
    response.raise_for_status()
    return list(response.json())


def flow_run(served: Served, run_id: str) -> dict[str, Any]:
    response = served.api("GET", f"/flow_runs/{run_id}")
    response.raise_for_status()
    return dict(response.json())


def finished(served: Served, run_id: str) -> dict[str, Any] | None:
    run = flow_run(served, run_id)
    return run if run["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else None


def latest_artifact(served: Served, key: str) -> dict[str, Any]:
    response = served.api("GET", f"/artifacts/{key}/latest")
    response.raise_for_status()
    return dict(response.json())


def start_publishing(served: Served) -> str:
    """A run of the `publish-concept` deployment (as "Run" on the dashboard), until it waits for the form."""
    response = served.api("POST", f"/deployments/{deployment_id(served, 'publish-concept')}/create_flow_run",
                          json={"parameters": {"year": YEAR, "early": True, "pdf": False}})
    response.raise_for_status()
    run_id = str(response.json()["id"])
    until("publish-concept suspended, waiting for the approval form",
          lambda: flow_run(served, run_id)["state_type"] == "PAUSED" or finished(served, run_id), served)
    run = flow_run(served, run_id)
    assert run["state_type"] == "PAUSED", run["state"]
    assert run["state"]["state_details"]["run_input_keyset"], "the run waits for a form"
    return run_id


def test_the_server_wants_its_auth_string(served: Served) -> None:
    assert httpx.get(f"{served.api_url}/health", timeout=10).status_code == 200  # probes stay open
    assert httpx.post(f"{served.api_url}/flow_runs/filter", json={}, timeout=10).status_code == 401
    wrong = {"Authorization": "Basic " + base64.b64encode(b"fko-admin:falsch").decode()}
    assert httpx.post(f"{served.api_url}/flow_runs/filter", json={}, headers=wrong, timeout=10).status_code == 401
    assert served.api("POST", "/flow_runs/filter", json={}).status_code == 200

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    async def names() -> set[str]:
        async with get_client() as client:
            return {d.name for d in await client.read_deployments()}

    with temporary_settings(updates={PREFECT_API_URL: served.api_url, PREFECT_API_AUTH_STRING: served.auth}):
        assert {d.name for d in DEPLOYMENTS} <= asyncio.run(names())


def test_an_upload_on_the_page_triggers_ingest_and_the_draft_has_it(served: Served) -> None:
    assert NEW_TITLE not in draft_titles(served.ctx)
    link = served.links["IHK"]
    with httpx.Client(timeout=60, follow_redirects=True) as http:
        sheet = http.get(f"{link}/tabelle").content
        changed = edit_sheet(sheet, {"B9": NEW_TITLE, "D9": "Duale Ausbildung stärken", "E9": "geplant"})
        page = http.post(f"{link}/hochladen", data={"csrf": csrf_of(http.get(link).text)},
                         files={"datei": ("ihk.xlsx", changed)})
    assert "wurde angenommen" in page.text, main_text(page.text)

    def triggered() -> dict[str, Any] | None:
        runs = [r for r in flow_runs(served, "ingest-returns") if r["parameters"].get("institution") == "IHK"]
        return finished(served, runs[0]["id"]) if runs else None

    run = until("an ingest-returns run triggered by the upload has finished", triggered, served)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert NEW_TITLE in draft_titles(served.ctx)


def test_a_rejection_on_the_dashboard_leaves_the_draft_and_shows_the_comment(served: Served) -> None:
    run_id = start_publishing(served)
    waiting = latest_artifact(served, f"fko-approval-{YEAR}")
    assert f"Version {YEAR}" in waiting["data"] and "Zur Freigabe" in waiting["description"]

    # What the dashboard's form would send; a name of blanks is refused by the server, the run keeps waiting.
    refused = served.api("POST", f"/flow_runs/{run_id}/resume",
                         json={"run_input": {"decision": "ablehnen", "name": "   ", "comment": "x"}})
    assert refused.json()["status"] == "REJECT"
    assert flow_run(served, run_id)["state_type"] == "PAUSED"
    comment = "Bitte die Zeile der IHK zur Energiewende mit dem Jobcenter abstimmen."
    resumed = served.api("POST", f"/flow_runs/{run_id}/resume",
                         json={"run_input": {"decision": "ablehnen", "name": "Herr Muster", "comment": comment}})
    assert resumed.json()["status"] == "ACCEPT", resumed.text

    run = until("the rejected run has finished", lambda: finished(served, run_id), served)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert version_status(served.ctx, label=str(YEAR)) == "draft"
    assert NEW_TITLE in draft_titles(served.ctx)
    shown = latest_artifact(served, f"fko-approval-{YEAR}")
    assert comment in shown["data"] and "Herr Muster" in shown["data"] and "Nicht freigegeben" in shown["data"]
    assert "nicht freigegeben" in shown["description"]
    from usecases.approval import approval_view  # the staff area shows the same rejection with the draft

    assert "Herr Muster" in approval_view(served.ctx, now=dt.datetime.now(dt.UTC)).rejected


def test_an_approval_from_a_second_process_publishes_once(served: Served) -> None:
    first, second = start_publishing(served), start_publishing(served)

    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: served.api_url, PREFECT_API_AUTH_STRING: served.auth}):
        resume_flow_run(first, run_input={"decision": "freigeben", "name": "Frau Beispiel"})  # type: ignore[arg-type]
        run = until("the approved run has finished", lambda: finished(served, first), served)
        assert run["state_type"] == "COMPLETED", run["state"]
        assert version_status(served.ctx, label=str(YEAR)) == "published"
        with session_scope(served.ctx.engine) as session:
            version = find_version(session=session, region_id=get_region(session=session).id or 0, label=str(YEAR))
            assert version.approved_by == "Frau Beispiel"

        # The other run waited for the same draft: its approval publishes nothing, and says so.
        resume_flow_run(second, run_input={"decision": "freigeben", "name": "Herr Zweit"})  # type: ignore[arg-type]
        run = until("the second approved run has finished", lambda: finished(served, second), served)
        assert run["state_type"] == "COMPLETED", run["state"]
        with pytest.raises(NotPausedError):  # the dashboard has nothing to resume any more
            resume_flow_run(first, run_input={"decision": "freigeben", "name": "Herr Dritt"})  # type: ignore[arg-type]
    with session_scope(served.ctx.engine) as session:
        version = find_version(session=session, region_id=get_region(session=session).id or 0, label=str(YEAR))
        assert (version.status, version.approved_by) == ("published", "Frau Beispiel")
    said = latest_artifact(served, f"fko-approval-{YEAR}")
    assert "bereits veröffentlicht" in said["data"], said


def test_no_artifact_links_to_a_file_path(served: Served) -> None:
    response = served.api("POST", "/artifacts/filter", json={"limit": 200})
    response.raise_for_status()
    artifacts = response.json()
    assert artifacts
    assert not [a["key"] for a in artifacts if "file:" in f"{a.get('data')}{a.get('description')}"]
    links = [a for a in artifacts if (a["key"] or "").startswith("fko-doc-")]  # link artifacts (as Markdown)
    keys = {a["key"] for a in links}
    assert {f"fko-doc-handlungskonzept-{YEAR}-docx", f"fko-doc-handlungskonzept-{YEAR}-html"} <= keys
    for artifact in links:
        assert f"]({served.base_url}/intern/dokumente/{YEAR}/" in artifact["data"], artifact
