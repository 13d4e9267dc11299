"""The FastAPI app institutions reach through their personal link (DESIGN §1 step 2, §10)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from core.dates import german_date, german_datetime
from core.filetype import Limits
from portal.guard import Guard, cross_site, csrf_token, csrf_valid
from storage.database import session_scope
from storage.errors import is_unavailable, unavailable_reason
from storage.regions import get_region
from usecases.context import AppContext
from usecases.outbox import deliver_pending
from usecases.return_view import submission_view
from usecases.returns import (
    CycleClosed,
    LinkInvalid,
    LinkView,
    accept_return,
    confirm_no_changes,
    resolve_link,
    sheet_for_request,
)

BERLIN = ZoneInfo("Europe/Berlin")
UNAVAILABLE = ("Ihre Eingabe konnte gerade nicht gespeichert werden; es wurde nichts verbucht. Bitte versuchen Sie "
               "es in einigen Minuten noch einmal. Wenn es dann wieder nicht klappt, schreiben Sie uns bitte.")
FAILED = ("Auf unserer Seite ist ein Fehler aufgetreten; es wurde nichts verbucht. Bitte versuchen Sie es später "
          "noch einmal oder schreiben Sie uns.")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger("portal")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def safe_filename(name: str | None) -> str:
    """Only the last path part, no control characters: the name is shown, never used as a path."""
    base = PurePosixPath(PureWindowsPath(name or "").name).name
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:200] or "Tabelle"


def create_app(ctx: AppContext, *, clock: Callable[[], dt.datetime] = utc_now, send_mail: bool = True,
               limits: Limits | None = None, on_return: Callable[[str, str], None] | None = None) -> Guard:
    """The page as an ASGI app: FastAPI routes wrapped in the security guard.

    ``on_return(institution_code, outcome)`` is told about every return (the orchestration uses it to
    start processing at once); its failures never reach the institution.
    """
    limits = limits or Limits()
    portal_dir = ctx.templates_dir / "portal"
    pages = Environment(loader=FileSystemLoader(portal_dir), autoescape=True, undefined=StrictUndefined)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
    site = {"agency_name": region.agency_name, "agency_email": region.agency_email,
            "agency_phone": region.agency_phone, "agency_address": region.agency_address,
            "region_name": region.name, "max_mb": limits.max_file_bytes // (1024 * 1024)}
    secret = ctx.settings.secret()
    labels = {c.key: c.header for c in ctx.spec().columns}
    mail_lock = asyncio.Lock()

    def page(template: str, title: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = pages.get_template(template).render(**site, title=title, **values)
        return HTMLResponse(html, status_code=status)

    def neutral() -> HTMLResponse:
        return page("neutral.html.j2", "Link nicht gültig", status=404)

    def link_values(link: LinkView, token: str) -> dict[str, Any]:
        answered = link.answered_at.astimezone(BERLIN) if link.answered_at else None
        return {"link": link, "institution_name": link.institution_name, "base_path": f"/r/{token}",
                "deadline_text": german_date(link.deadline),
                "answered_text": german_datetime(answered) if answered else "",
                "csrf": csrf_token(secret, link.request_id, time.time())}

    def too_large() -> bytes:
        return page("error.html.j2", "Datei zu groß", message=(
            f"Die Datei ist zu groß; erlaubt sind höchstens {site['max_mb']} MB. Bitte Bilder und leere Blätter "
            "entfernen und erneut hochladen."), base_path="").body

    async def report_return(code: str, outcome: str) -> None:
        if on_return is None:
            return
        try:
            await run_in_threadpool(on_return, code, outcome)
        except Exception:  # the return is recorded; the polling schedule picks it up
            log.exception("could not report the return of %s", code)

    async def send_pending() -> None:
        if not send_mail:
            return
        async with mail_lock:
            try:
                await deliver_pending(ctx)
            except Exception:  # mail trouble must never break the page; the outbox keeps the messages
                log.exception("sending queued mail failed; `fko mail send` will retry")

    app = FastAPI(title="fko-cycle", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=portal_dir / "static"), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        """Unknown addresses and wrong methods get a German page, not FastAPI's JSON."""
        if exc.status_code == 404:
            return page("error.html.j2", "Seite nicht gefunden", status=404, base_path="", message=(
                "Diese Seite gibt es nicht. Bitte verwenden Sie den persönlichen Link aus Ihrer E-Mail."))
        return page("error.html.j2", "Anfrage nicht möglich", status=exc.status_code, base_path="", message=(
            "Diese Anfrage kann die Seite nicht ausführen. Bitte verwenden Sie den persönlichen Link aus Ihrer "
            "E-Mail und die Schaltflächen auf der Seite."))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, exc: RequestValidationError) -> HTMLResponse:
        return neutral()  # e.g. /rueckmeldung/abc: an address this page never gives out

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> HTMLResponse:
        """Never a bare "Internal Server Error": the database or disk away is a 503 with a German page.
        (The guard around the app writes the log line for staff.)"""
        if is_unavailable(exc):
            return page("error.html.j2", "Vorübergehend nicht möglich", status=503, message=UNAVAILABLE,
                        base_path="")
        return page("error.html.j2", "Ein Fehler ist aufgetreten", status=500, message=FAILED, base_path="")

    def resolve(token: str) -> LinkView | None:
        try:
            return resolve_link(ctx, token, now=clock())
        except LinkInvalid:
            return None

    def form_refused(link: LinkView, token: str, message: str, status: int = 400) -> HTMLResponse:
        return page("error.html.j2", "Das hat nicht geklappt", status=status, message=message,
                    base_path=f"/r/{token}", **{k: v for k, v in link_values(link, token).items()
                                                if k not in ("base_path",)})

    @app.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        return page("home.html.j2", "Abfrage zum Handlungskonzept")

    @app.get("/healthz", response_class=PlainTextResponse)
    def health() -> str:
        return "ok"

    def open_link(token: str, closed_status: int = 200) -> LinkView | HTMLResponse:
        """The link, or the page instead of it: neutral for an unknown link, closed after the late period."""
        link = resolve(token)
        if link is None:
            return neutral()
        if not link.open:
            return page("closed.html.j2", "Die Frist ist abgelaufen", status=closed_status, **link_values(link, token))
        return link

    @app.get("/r/{token}", response_class=HTMLResponse)
    def landing(token: str) -> HTMLResponse:
        link = open_link(token)
        if isinstance(link, HTMLResponse):
            return link
        return page("link.html.j2", f"Ihre Rückmeldung {link.year}", **link_values(link, token))

    @app.get("/r/{token}/tabelle")
    def download(token: str) -> Response:
        link = open_link(token)
        if isinstance(link, HTMLResponse):
            return link
        data, filename = sheet_for_request(ctx, request_id=link.request_id, now=clock())
        return Response(data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{filename}"'})

    async def posted_link(token: str, request: Request) -> LinkView | Response:
        """The link behind a posted form, or the page that refuses the form (unknown link, closed, foreign)."""
        link = await run_in_threadpool(open_link, token, 409)
        if isinstance(link, HTMLResponse):
            return link
        if cross_site({k.lower(): v for k, v in request.headers.items()}):
            return form_refused(link, token, "Das Formular wurde von einer fremden Seite abgeschickt und daher "
                                             "nicht angenommen.", status=403)
        return link

    @app.post("/r/{token}/hochladen")
    async def upload(token: str, request: Request) -> Response:
        link = await posted_link(token, request)
        if isinstance(link, Response):
            return link
        try:
            form = await request.form(max_files=2, max_fields=10)
        except (StarletteHTTPException, ClientDisconnect):  # a broken or foreign multipart body
            return form_refused(link, token, "Die Datei ist nicht vollständig angekommen, oder es waren mehrere. "
                                             "Bitte genau eine Datei auswählen und erneut hochladen.")
        try:
            if not csrf_valid(secret, link.request_id, str(form.get("csrf", "")), time.time()):
                return form_refused(link, token, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und "
                                                 "wählen Sie die Datei noch einmal aus.", status=403)
            files = [f for f in form.getlist("datei") if isinstance(f, UploadFile)]
            if len(files) != 1:
                return form_refused(link, token, "Bitte genau eine Datei auswählen und hochladen.")
            data = await files[0].read(limits.max_file_bytes + 1)
            filename = safe_filename(files[0].filename)
        finally:
            await form.close()
        try:
            result = await run_in_threadpool(accept_return, ctx, request_id=link.request_id, data=data,
                                             filename=filename, source="portal", now=clock(), limits=limits)
        except CycleClosed:
            return page("closed.html.j2", "Die Frist ist abgelaufen", status=409, **link_values(link, token))
        except LinkInvalid:
            return neutral()
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.error("return of %s (%d bytes, %s, sha256 %s) NOT recorded: %s. Nothing was half-written; if the "
                      "raw file could be stored it is under files/upload/; the institution was asked to upload again "
                      "in a few minutes.", link.institution_code, len(data), filename,
                      hashlib.sha256(data).hexdigest(), unavailable_reason(exc))
            return form_refused(link, token, UNAVAILABLE, status=503)
        asyncio.get_running_loop().create_task(send_pending())
        asyncio.get_running_loop().create_task(report_return(result.institution_code, result.outcome))
        return RedirectResponse(f"/r/{token}/rueckmeldung/{result.submission_id}", status_code=303)

    @app.get("/r/{token}/rueckmeldung/{submission_id}", response_class=HTMLResponse)
    def result_page(token: str, submission_id: int) -> HTMLResponse:
        link = resolve(token)
        if link is None:
            return neutral()
        try:
            view = submission_view(ctx, request_id=link.request_id, submission_id=submission_id)
        except LinkInvalid:
            return neutral()
        values = link_values(link, token)
        received = german_datetime(view.received_at.astimezone(BERLIN))
        if view.outcome == "no_changes":
            return page("no_changes.html.j2", "Keine Änderungen – bestätigt", received_text=received, **values)
        if view.outcome == "refused" or view.diff is None:
            return page("result.html.j2", "Bitte korrigieren", status=200, accepted=False, filename=view.filename,
                        problems=view.problems, **values)
        diff = view.diff
        changed = [{"key": c.new.key, "title": c.new.title,
                    "fields": [{"label": labels.get(f.field, f.field), "old": f.old, "new": f.new} for f in c.fields]}
                   for c in diff.changed]
        return page("result.html.j2", "Rückmeldung angenommen", accepted=True, filename=view.filename,
                    received_text=received, base_label=view.base_label, counts=diff.counts(), new=diff.new,
                    changed=changed, ended=diff.ended, missing=diff.missing, **values)

    @app.post("/r/{token}/keine-aenderungen")
    async def no_changes(token: str, request: Request) -> Response:
        link = await posted_link(token, request)
        if isinstance(link, Response):
            return link
        form = await request.form(max_files=0, max_fields=5)
        if not csrf_valid(secret, link.request_id, str(form.get("csrf", "")), time.time()):
            return form_refused(link, token, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.",
                                status=403)
        try:
            result = await run_in_threadpool(confirm_no_changes, ctx, request_id=link.request_id, now=clock())
        except CycleClosed:
            return page("closed.html.j2", "Die Frist ist abgelaufen", status=409, **link_values(link, token))
        asyncio.get_running_loop().create_task(send_pending())
        asyncio.get_running_loop().create_task(report_return(result.institution_code, result.outcome))
        return RedirectResponse(f"/r/{token}/rueckmeldung/{result.submission_id}", status_code=303)

    # Uploads: the file cap plus room for the multipart envelope and the form fields.
    return Guard(app, max_body_bytes=limits.max_file_bytes + 256 * 1024, too_large=too_large)
