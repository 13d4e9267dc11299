"""The FastAPI app institutions reach through their personal link (DESIGN §1 step 2, §10): routes only."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from core.filetype import Limits
from portal.guard import Guard, cross_site, csrf_token, csrf_valid
from portal.staff import create_staff_app
from portal.views import Page, entries_values, link_values, result_page
from usecases.context import AppContext
from usecases.errors import is_unavailable, unavailable_reason
from usecases.outbox import deliver_pending
from usecases.return_view import current_entries, submission_view
from usecases.returns import (
    CycleClosed,
    LinkInvalid,
    LinkReplaced,
    LinkView,
    ReturnResult,
    RoundPublished,
    accept_return,
    confirm_no_changes,
    resolve_link,
    sheet_for_request,
)
from usecases.sandbox import start_readers, stop_readers
from usecases.site import SiteInfo, site_info

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


@dataclass
class PortalDeps:
    """Everything the routes need, built once by ``create_app`` and kept in ``app.state.portal``."""

    ctx: AppContext
    page: Page
    clock: Callable[[], dt.datetime]
    limits: Limits
    secret: bytes
    labels: dict[str, str]
    send_mail: bool
    on_return: Callable[[str, str], None] | None
    site: SiteInfo
    root: str = ""  # the region's path prefix when one page serves several regions ("" otherwise)
    mail_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def link_values(self, link: LinkView, token: str) -> dict[str, Any]:
        return link_values(link, token, csrf_token(self.secret, link.request_id, self.clock().timestamp()), self.root)

    def csrf_valid(self, link: LinkView, token: str) -> bool:
        return csrf_valid(self.secret, link.request_id, token, self.clock().timestamp())

    def resolve(self, token: str) -> LinkView | None:
        try:
            return resolve_link(self.ctx, token, now=self.clock())
        except LinkInvalid:
            return None

    def open_link(self, token: str, closed_status: int = 200, keep_after_publish: bool = False,
                  ) -> LinkView | HTMLResponse:
        """The link, or the page instead of it: neutral for an unknown link, "replaced" for one staff renewed,
        closed after the late period,
        "adopted" once the round's version is published (``keep_after_publish``: an upload that still comes
        then goes on, to be kept for staff)."""
        try:
            link = resolve_link(self.ctx, token, now=self.clock())
        except LinkReplaced:
            return self.page.replaced()  # says a newer link was sent, nothing more
        except LinkInvalid:
            return self.page.neutral()
        if link.published and not keep_after_publish:
            return self.page.published(self.link_values(link, token), status=closed_status)
        if not link.open and not link.published:
            return self.page.closed(self.link_values(link, token), status=closed_status)
        return link

    def form_refused(self, link: LinkView, token: str, message: str, status: int = 400) -> HTMLResponse:
        values = {k: v for k, v in self.link_values(link, token).items() if k != "base_path"}
        return self.page.error("Das hat nicht geklappt", message, status=status, base_path=f"{self.root}/r/{token}",
                               **values)


def deps_of(request: Request) -> PortalDeps:
    deps: PortalDeps = request.app.state.portal
    return deps


async def portal_deps(request: Request) -> PortalDeps:
    """As a dependency (async, so that FastAPI does not send it to the thread pool)."""
    return deps_of(request)


Portal = Annotated[PortalDeps, Depends(portal_deps)]


async def http_error(request: Request, exc: Exception) -> HTMLResponse:
    """Unknown addresses and wrong methods get a German page, not FastAPI's JSON."""
    page = deps_of(request).page
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    if status == 404:
        return page.error("Seite nicht gefunden", status=404, message=(
            "Diese Seite gibt es nicht. Bitte verwenden Sie den persönlichen Link aus Ihrer E-Mail."))
    return page.error("Anfrage nicht möglich", status=status, message=(
        "Diese Anfrage kann die Seite nicht ausführen. Bitte verwenden Sie den persönlichen Link aus Ihrer "
        "E-Mail und die Schaltflächen auf der Seite."))


async def malformed(request: Request, exc: Exception) -> HTMLResponse:
    return deps_of(request).page.neutral()  # e.g. /rueckmeldung/abc: an address this page never gives out


async def failed(request: Request, exc: Exception) -> HTMLResponse:
    """Never a bare "Internal Server Error": the database or disk away is a 503 with a German page.
    (The guard around the app writes the log line for staff.)"""
    page = deps_of(request).page
    if is_unavailable(exc):
        return page.error("Vorübergehend nicht möglich", UNAVAILABLE, status=503)
    return page.error("Ein Fehler ist aufgetreten", FAILED, status=500)


def home(portal: Portal) -> HTMLResponse:
    return portal.page.render("home.html.j2", "Abfrage zum Handlungskonzept")


def health() -> str:
    return "ok"


def logo(portal: Portal) -> Response:
    """The region's logo from its settings (checked when set: PNG, or SVG without scripts)."""
    site = portal.site
    if site.logo is None:
        raise StarletteHTTPException(status_code=404)
    return Response(site.logo, media_type=site.logo_type,
                    headers={"Cache-Control": "public, max-age=3600"})


def landing(token: str, portal: Portal) -> HTMLResponse:
    link = portal.open_link(token)
    if isinstance(link, HTMLResponse):
        return link
    entries = current_entries(portal.ctx, request_id=link.request_id)
    return portal.page.render("link.html.j2", f"Ihre Rückmeldung {link.year}", **portal.link_values(link, token),
                              **entries_values(entries))


def download(token: str, portal: Portal) -> Response:
    link = portal.open_link(token)
    if isinstance(link, HTMLResponse):
        return link
    data, filename = sheet_for_request(portal.ctx, request_id=link.request_id, now=portal.clock())
    return Response(data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{filename}"'})


def result(token: str, submission_id: int, portal: Portal) -> HTMLResponse:
    link = portal.resolve(token)
    if link is None:
        return portal.page.neutral()
    try:
        view = submission_view(portal.ctx, request_id=link.request_id, submission_id=submission_id)
    except LinkInvalid:
        return portal.page.neutral()
    return result_page(portal.page, view, portal.link_values(link, token), portal.labels)


async def posted_link(portal: PortalDeps, token: str, request: Request,
                      keep_after_publish: bool = False) -> LinkView | Response:
    """The link behind a posted form, or the page that refuses the form (unknown link, closed, foreign)."""
    link = await run_in_threadpool(portal.open_link, token, 409, keep_after_publish)
    if isinstance(link, HTMLResponse):
        return link
    if cross_site({k.lower(): v for k, v in request.headers.items()}):
        return portal.form_refused(link, token, "Das Formular wurde von einer fremden Seite abgeschickt und daher "
                                                "nicht angenommen.", status=403)
    return link


async def uploaded_file(portal: PortalDeps, link: LinkView, token: str,
                        request: Request) -> tuple[bytes, str] | Response:
    """The one file of the upload form and its shown name, or the page that refuses the form."""
    try:
        form = await request.form(max_files=2, max_fields=10)
    except (StarletteHTTPException, ClientDisconnect):  # a broken or foreign multipart body
        return portal.form_refused(link, token, "Die Datei ist nicht vollständig angekommen, oder es waren mehrere. "
                                                "Bitte genau eine Datei auswählen und erneut hochladen.")
    try:
        if not portal.csrf_valid(link, str(form.get("csrf", ""))):
            return portal.form_refused(link, token, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu und "
                                                    "wählen Sie die Datei noch einmal aus.", status=403)
        files = [f for f in form.getlist("datei") if isinstance(f, UploadFile)]
        if len(files) != 1:
            return portal.form_refused(link, token, "Bitte genau eine Datei auswählen und hochladen.")
        return await files[0].read(portal.limits.max_file_bytes + 1), safe_filename(files[0].filename)
    finally:
        await form.close()


async def upload(token: str, request: Request, portal: Portal) -> Response:
    link = await posted_link(portal, token, request, keep_after_publish=True)
    if isinstance(link, Response):
        return link
    received = await uploaded_file(portal, link, token, request)
    if isinstance(received, Response):
        return received
    data, filename = received
    try:
        outcome = await run_in_threadpool(accept_return, portal.ctx, request_id=link.request_id, data=data,
                                          filename=filename, source="portal", now=portal.clock(), limits=portal.limits)
    except CycleClosed:
        return portal.page.closed(portal.link_values(link, token), status=409)
    except LinkInvalid:
        return portal.page.neutral()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.error("return of %s (%d bytes, %s, sha256 %s) NOT recorded: %s. Nothing was half-written; if the "
                  "raw file could be stored it is under files/upload/; the institution was asked to upload again "
                  "in a few minutes.", link.institution_code, len(data), filename,
                  hashlib.sha256(data).hexdigest(), unavailable_reason(exc))
        return portal.form_refused(link, token, UNAVAILABLE, status=503)
    return returned(portal, token, outcome)


async def no_changes(token: str, request: Request, portal: Portal) -> Response:
    link = await posted_link(portal, token, request)
    if isinstance(link, Response):
        return link
    form = await request.form(max_files=0, max_fields=5)
    if not portal.csrf_valid(link, str(form.get("csrf", ""))):
        return portal.form_refused(link, token, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.",
                                   status=403)
    try:
        outcome = await run_in_threadpool(confirm_no_changes, portal.ctx, request_id=link.request_id,
                                          now=portal.clock())
    except RoundPublished:
        return portal.page.published(portal.link_values(link, token), status=409)
    except CycleClosed:
        return portal.page.closed(portal.link_values(link, token), status=409)
    return returned(portal, token, outcome)


def returned(portal: PortalDeps, token: str, outcome: ReturnResult) -> Response:
    """After a recorded return: receipts go out and the orchestration hears of it, while the browser moves on.
    (A file kept after publication sends no mail and starts nothing.)"""
    if outcome.outcome != "held":
        asyncio.get_running_loop().create_task(send_pending(portal))
        asyncio.get_running_loop().create_task(report_return(portal, outcome.institution_code, outcome.outcome))
    return RedirectResponse(f"{portal.root}/r/{token}/rueckmeldung/{outcome.submission_id}", status_code=303)


async def report_return(portal: PortalDeps, code: str, outcome: str) -> None:
    if portal.on_return is None:
        return
    try:
        await run_in_threadpool(portal.on_return, code, outcome)
    except Exception:  # the return is recorded; the polling schedule picks it up
        log.exception("could not report the return of %s", code)


async def send_pending(portal: PortalDeps) -> None:
    if not portal.send_mail:
        return
    async with portal.mail_lock:
        try:
            await deliver_pending(portal.ctx)
        except Exception:  # mail trouble must never break the page; the outbox keeps the messages
            log.exception("sending queued mail failed; `fko mail send` will retry")


@contextlib.asynccontextmanager
async def workbook_readers(app: FastAPI) -> AsyncIterator[None]:
    """The upload readers start with the page (the first upload does not wait for one) and stop with it."""
    await run_in_threadpool(start_readers)
    try:
        yield
    finally:
        await run_in_threadpool(stop_readers)


def create_app(ctx: AppContext, *, clock: Callable[[], dt.datetime] = utc_now, send_mail: bool = True,
               limits: Limits | None = None, on_return: Callable[[str, str], None] | None = None,
               root: str = "", readers: bool = True) -> Guard:
    """The page of one region as an ASGI app: FastAPI routes wrapped in the security guard.

    ``root`` is the path prefix the region is served under when one page serves several regions (portal.regions
    strips it before the request arrives; links and redirects put it back). ``readers``: the app starts and
    stops the upload readers itself (False when the several-region page does it once for all).

    ``on_return(institution_code, outcome)`` is told about every return (the orchestration uses it to
    start processing at once); its failures never reach the institution.
    """
    limits = limits or Limits()
    portal_dir = ctx.templates_dir / "portal"
    site = site_info(ctx)
    portal = PortalDeps(ctx=ctx, page=Page.load(portal_dir, site, limits, root), clock=clock, limits=limits,
                        secret=ctx.settings.secret(), labels=ctx.spec().field_labels(),
                        send_mail=send_mail, on_return=on_return, site=site, root=root)
    app = FastAPI(title="fko-cycle", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=workbook_readers if readers else None)
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=portal_dir / "static"), name="static")
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(Exception, failed)
    app.add_api_route("/", home, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/logo", logo, methods=["GET"])
    app.add_api_route("/healthz", health, methods=["GET"], response_class=PlainTextResponse)
    app.add_api_route("/r/{token}", landing, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/r/{token}/tabelle", download, methods=["GET"])
    app.add_api_route("/r/{token}/hochladen", upload, methods=["POST"])
    app.add_api_route("/r/{token}/rueckmeldung/{submission_id}", result, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/r/{token}/keine-aenderungen", no_changes, methods=["POST"])
    app.mount("/intern", create_staff_app(ctx, site, clock=clock, send_mail=send_mail, root=root))
    # Uploads: the file cap plus room for the multipart envelope and the form fields.
    return Guard(app, max_body_bytes=limits.max_file_bytes + 256 * 1024, too_large=portal.page.too_large)
