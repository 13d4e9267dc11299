"""`fko demo`: the whole yearly round under a real Prefect server, institutions played through the page."""

from __future__ import annotations

import asyncio
import atexit
import base64
import datetime as dt
import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.demo import DemoAnswer
    from core.sheet_spec import SheetSpec
    from usecases.context import AppContext
    from usecases.settings import Settings


PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class DemoSummary:
    dashboard: str
    staff_area: str = ""
    documents: list[Path] = field(default_factory=list)
    change_report: Path | None = None
    mails: int = 0
    answered: int = 0
    institutions: int = 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port(preferred: int) -> int:
    """``preferred`` when it is free on 127.0.0.1 (so the addresses stay the same from run to run), else any."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: a closed one's port is free
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return _free_port()
    return preferred


def prefect_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of our Prefect processes: offline, this ``PREFECT_HOME``."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            **extra}


def start_prefect_server(home: Path, say: Callable[[str], None], *, port: int | None = None,
                         env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`prefect server start` on 127.0.0.1 (dashboard and API); its log in ``home/server.log``. ``env``: extra
    settings, e.g. ``PREFECT_SERVER_API_AUTH_STRING`` (the API then wants basic auth, the dashboard asks)."""
    import httpx
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}/api"
    # The dashboard asks its API at PREFECT_UI_API_URL (default port 4200): on any other port it must be told.
    env = prefect_env(home, PREFECT_UI_ENABLED="true", PREFECT_UI_API_URL=url, **(env or {}))
    home.mkdir(parents=True, exist_ok=True)
    with (home / "server.log").open("ab") as log:
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",  # noqa: S603 (our interpreter, fixed argv)
                                   "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
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
    stop_process(server)
    raise RuntimeError(f"Prefect-Server nicht bereit; siehe {home / 'server.log'}")


def serve_deployments(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`fko serve` in a process of its own: the deployments (schedules, the return trigger) appear on the
    dashboard's Deployments page and their runs are carried out. ``env`` needs ``PREFECT_API_URL``."""
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "cli", "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=PROJECT)  # the entrypoints are relative to it


def wait_for_deployments(api_url: str, names: list[str], *, auth: str | None = None, timeout: float = 120,
                         runner: subprocess.Popen[bytes] | None = None) -> None:
    """Until every deployment in ``names`` is registered (bounded; at once if ``runner`` has ended)."""
    import httpx
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = httpx.post(f"{api_url}/deployments/filter", json={"limit": 200}, headers=headers, timeout=5)
            if found.status_code == 200 and set(names) <= {d["name"] for d in found.json()}:
                return
        except httpx.HTTPError:
            pass
        if runner is not None and runner.poll() is not None:
            raise RuntimeError(f"fko serve hat sich beendet (Status {runner.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Deployments nach {timeout:.0f} s nicht angemeldet: {', '.join(names)}")
        time.sleep(0.5)


class _Portal:
    def __init__(self, ctx: AppContext, port: int) -> None:
        import uvicorn

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
    import httpx

    from core.text import counted
    from usecases.demo_round import answered_sheet
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


def stop_process(server: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill after 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


DASHBOARD_PORT, PORTAL_PORT = 4200, 8000  # the usual ones; others when these are taken
ADDRESSES = "demo-adressen.json"  # in the data folder: where the demo served the page (its links point there)


def run_demo(settings: Settings, say: Callable[[str], None]) -> DemoSummary:
    from core.dates import BERLIN
    from core.text import counted
    from usecases.context import AppContext
    from usecases.demo_round import demo_answers
    from usecases.settings import Settings
    home = settings.data_dir / "prefect"
    server, api_url = start_prefect_server(home, say, port=_port(DASHBOARD_PORT))
    # Stopped at exit, after Prefect (imported below, so its exit handlers run first) has sent the last logs.
    atexit.register(stop_process, server)
    port = _port(PORTAL_PORT)
    base_url = f"http://127.0.0.1:{port}"
    (settings.data_dir / ADDRESSES).write_text(json.dumps({"base_url": base_url}), encoding="utf-8")
    os.environ.update({"PREFECT_API_URL": api_url, "PREFECT_HOME": str(home), "FKO_BASE_URL": base_url,
                       "FKO_DATA_DIR": str(settings.data_dir)})
    os.environ.pop("FKO_SMTP_HOST", None)  # the demo's mail goes to the .eml sink
    # The deployments are served while the demo runs: their schedules and the return trigger are on the
    # Deployments page (the demo itself runs the flows directly, on the dates it plays).
    runner = serve_deployments(prefect_env(home, PREFECT_API_URL=api_url), home / "serve.log")
    atexit.register(stop_process, runner)  # registered last: stopped before the server
    say("Deployments werden bedient (fko serve): Zeitpläne und Auslöser auf der Seite „Deployments“.")
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
        summary = DemoSummary(dashboard=api_url.removesuffix("/api"), staff_area=f"{base_url}/intern/",
                              documents=documents,
                              change_report=next((p for p in documents if p.name.startswith("Aenderungen-")
                                                  and p.suffix == ".html"), None),
                              mails=len(list(settings.mail_sink_dir.glob("*.eml"))),
                              answered=int(status.totals["answered"]), institutions=len(status.rows))
        return summary
    finally:
        ctx.close()


def demo_base_url(data_dir: Path) -> str:
    """The address the demo served the page at: its mails and artifacts link there."""
    try:
        return str(json.loads((data_dir / ADDRESSES).read_text(encoding="utf-8"))["base_url"])
    except (OSError, ValueError, KeyError):
        return f"http://127.0.0.1:{PORTAL_PORT}"


def run_dashboard(settings: Settings, say: Callable[[str], None]) -> int:
    """`make dashboard`: the Prefect server with the deployments served and `fko portal` (the institutions'
    page and the staff area) on the kept demo data, until Ctrl+C stops all three."""
    if not (settings.data_dir / "prefect").is_dir():
        say(f"In {settings.data_dir} liegen keine Demo-Daten: erst `make demo`.")
        return 2
    home = settings.data_dir / "prefect"
    base_url = demo_base_url(settings.data_dir)
    portal_port = int(base_url.rsplit(":", 1)[1])
    if _port(portal_port) != portal_port:
        say(f"Port {portal_port} ist belegt: die Links der Demo zeigen auf {base_url}. Den anderen Dienst "
            "beenden und erneut `make dashboard`.")
        return 2
    processes: list[subprocess.Popen[bytes]] = []

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    # Ctrl+C, and a plain `kill` too, stop all three (also where the shell started us with SIGINT ignored).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        server, api_url = start_prefect_server(home, say, port=_port(DASHBOARD_PORT))
        processes.append(server)
        env = prefect_env(home, PREFECT_API_URL=api_url, FKO_DATA_DIR=str(settings.data_dir), FKO_BASE_URL=base_url)
        env.pop("FKO_SMTP_HOST", None)  # mail of the demo data goes to the .eml sink
        processes.append(serve_deployments(env, home / "serve.log"))
        with (settings.data_dir / "portal.log").open("ab") as log:
            processes.append(subprocess.Popen([sys.executable, "-m", "cli", "portal", "--port", str(portal_port)],  # noqa: S603
                                              env=env, stdout=log, stderr=subprocess.STDOUT))
        dashboard = api_url.removesuffix("/api")
        say("")
        say(f"Prefect-Dashboard: {dashboard} (Läufe, Rückmeldetabelle, Änderungsbericht, Dokumente, Freigabe; "
            "Zeitpläne unter „Deployments“)")
        say(f"Mitarbeiterbereich: {base_url}/intern/ (Konto: FKO_DATA_DIR={settings.data_dir} .venv/bin/fko staff "
            "add NAME --email ADRESSE --link)")
        say(f"Seite für die Institutionen: {base_url}/ (persönliche Links in den E-Mails unter "
            f"{settings.mail_sink_dir})")
        say("Beenden mit Strg+C.")
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        say("Ein Dienst hat sich beendet; siehe die Protokolle in "
            f"{home / 'server.log'}, {home / 'serve.log'}, {settings.data_dir / 'portal.log'}.")
        return 1
    except KeyboardInterrupt:
        say("")
        say("Beendet.")
        return 0
    finally:
        for process in reversed(processes):
            stop_process(process)


def main(argv: list[str]) -> int:
    """`python -m cli.demo_run dashboard` (make dashboard), on ``FKO_DATA_DIR`` (the kept demo data)."""
    from cli.output import say
    from usecases.settings import load_settings

    if argv != ["dashboard"]:
        say("Aufruf: python -m cli.demo_run dashboard")
        return 2
    return run_dashboard(load_settings(), say)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
