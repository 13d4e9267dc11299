"""`fko demo`: the whole yearly round under a real Prefect server, institutions played through the page."""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from core.dates import BERLIN
from core.demo import DemoAnswer
from core.sheet_spec import SheetSpec
from core.text import counted
from usecases.context import AppContext
from usecases.demo_round import answered_sheet, demo_answers
from usecases.settings import Settings


@dataclass
class DemoSummary:
    dashboard: str
    documents: list[Path] = field(default_factory=list)
    change_report: Path | None = None
    mails: int = 0
    answered: int = 0
    institutions: int = 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_prefect_server(home: Path, say: Callable[[str], None]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_UI_ENABLED": "true"}
    env.pop("PREFECT_API_URL", None)
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",  # noqa: S603 (our interpreter, fixed argv)
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    say(f"Prefect-Server startet ({url}) …")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Prefect-Server beendet; siehe {home / 'server.log'}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"Prefect-Server nicht bereit; siehe {home / 'server.log'}")


class _Portal:
    def __init__(self, ctx: AppContext, port: int) -> None:
        from portal.app import create_app

        config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, access_log=False, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Portal:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _links(mail_dir: Path, base_url: str) -> dict[str, str]:
    links: dict[str, str] = {}
    for path in mail_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        attachment = next(iter(message.iter_attachments()), None)  # type: ignore[attr-defined]
        body = message.get_body(("plain",))  # type: ignore[attr-defined]
        if attachment is None or body is None:
            continue
        code = re.search(r"-([A-Z][A-Z0-9-]*)\.xlsx$", attachment.get_filename() or "")
        link = re.search(re.escape(base_url) + r"/r/[A-Za-z0-9_-]+", body.get_content())
        if code and link:
            links[code.group(1)] = link[0]
    return links


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    return match.group(1) if match else ""


def play_institutions(links: dict[str, str], answers: list[DemoAnswer], *, spec: SheetSpec, year: int,
                      say: Callable[[str], None]) -> int:
    """What contact persons do (survey_templates/demo/answers.toml, in the order of their days): open the link
    from their mail, download, edit, upload (one with mistakes first); or click "Keine Änderungen". Institutions
    not in the answers stay silent."""
    answered = 0
    with httpx.Client(timeout=120, follow_redirects=True) as http:
        for answer in answers:
            code = answer.institution_code
            link = links[code]
            if answer.kind == "no_changes":
                page = http.post(f"{link}/keine-aenderungen", data={"csrf": _csrf(http.get(link).text)})
                answered += int("bestätigt" in page.text)
                say(f"  {code}: „Keine Änderungen“ geklickt")
                continue
            sheet = http.get(f"{link}/tabelle").content
            if answer.mistakes:
                wrong = answered_sheet(sheet, answer, spec=spec, year=year, mistakes=True)
                page = http.post(f"{link}/hochladen", data={"csrf": _csrf(http.get(link).text)},
                                 files={"datei": (f"{code}.xlsx", wrong)})
                problems = page.text.count("<li><strong>Zelle")
                say(f"  {code}: Tabelle mit Fehlern hochgeladen → abgelehnt, "
                    f"{counted(problems, 'Problem', 'Probleme')} je Zelle genannt")
            changed = answered_sheet(sheet, answer, spec=spec, year=year)
            page = http.post(f"{link}/hochladen", data={"csrf": _csrf(http.get(link).text)},
                             files={"datei": (f"{code}.xlsx", changed)})
            ok = "wurde angenommen" in page.text
            answered += int(ok)
            say(f"  {code}: Tabelle hochgeladen → {'angenommen' if ok else 'abgelehnt'} ("
                f"{counted(len(answer.changes), 'Zeile', 'Zeilen')} geändert, {len(answer.new)} neu, "
                f"{counted(len(answer.removed), 'Zeile', 'Zeilen')} entfernt)")
    return answered


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def run_demo(settings: Settings, say: Callable[[str], None]) -> DemoSummary:
    home = settings.data_dir / "prefect"
    server, api_url = start_prefect_server(home, say)
    # Stopped at exit, after Prefect (imported below, so its exit handlers run first) has sent the last logs.
    atexit.register(_stop, server)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    os.environ.update({"PREFECT_API_URL": api_url, "PREFECT_HOME": str(home), "FKO_BASE_URL": base_url,
                       "FKO_DATA_DIR": str(settings.data_dir)})
    os.environ.pop("FKO_SMTP_HOST", None)  # the demo's mail goes to the .eml sink
    from flows.escalate_reminders import escalate_reminders_flow
    from flows.ingest_returns import ingest_returns_flow
    from flows.open_cycle import open_cycle_flow
    from flows.publish_concept import publish_concept_flow
    from usecases.status import cycle_status

    ctx = AppContext.from_settings(Settings(data_dir=settings.data_dir, base_url=base_url))
    try:
        today = dt.datetime.now(BERLIN).date()
        deadline = today + dt.timedelta(weeks=6)
        with _Portal(ctx, port):
            say(f"Seite für die Institutionen: {base_url}")
            opened = asyncio.run(open_cycle_flow(year=today.year, deadline=deadline, today=today))
            say(f"Flow open-cycle: {opened['invitations']} Einladungen versandt (Frist {deadline:%d.%m.%Y}).")
            links = _links(settings.mail_sink_dir, base_url)
            answered = play_institutions(links, demo_answers(ctx), spec=ctx.spec(), year=today.year, say=say)
            say(f"{counted(answered, 'Institution hat', 'Institutionen haben')} über die Seite geantwortet, "
                f"{len(links) - answered} nicht.")
            time.sleep(1)  # receipts go out in the background of the page
            asyncio.run(ingest_returns_flow(year=today.year, today=today))
            for offset, step in ((-7, "Erinnerung"), (0, "Erinnerung mit Vertretung"), (7, "Eskalation"),
                                 (14, "Telefonaufgaben")):
                day = deadline + dt.timedelta(days=offset)
                result = asyncio.run(escalate_reminders_flow(today=day))
                planned = counted(result["planned"], "Institution", "Institutionen")
                say(f"Flow escalate-reminders am {day:%d.%m.%Y} ({step}): {planned}")
            published = asyncio.run(publish_concept_flow(year=today.year, today=deadline + dt.timedelta(days=22),
                                                         approved_by="Demo (Regionalagentur)"))
            say(f"Flow publish-concept: Version {published['published']} freigegeben und veröffentlicht.")
        status = cycle_status(ctx, year=today.year)
        documents = sorted((settings.data_dir / "dokumente" / str(today.year)).rglob("*.*"))
        summary = DemoSummary(dashboard=api_url.removesuffix("/api"), documents=documents,
                              change_report=next((p for p in documents if p.name.startswith("Aenderungen-")
                                                  and p.suffix == ".html"), None),
                              mails=len(list(settings.mail_sink_dir.glob("*.eml"))),
                              answered=int(status.totals["answered"]), institutions=len(status.rows))
        return summary
    finally:
        ctx.close()
