"""The staff area under /intern/ (mounted into the page's app): sign-in, the round, uploads, documents. Routes only.

A separate FastAPI app in the same process: one address and one nginx location for the agency, but no route,
dependency or cookie shared with the institutions' links (a personal link's token never opens anything here).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.dates import BERLIN, german_date, short_date
from core.staff import SESSION_HOURS
from portal.guard import cross_site, csrf_token, csrf_valid
from usecases.approval import ApprovalRefused, approval_view, approve, reject
from usecases.context import AppContext
from usecases.documents import render_published
from usecases.outbox import deliver_pending
from usecases.site import SiteInfo
from usecases.staff import StaffError, StaffUser, current_user, set_password_by_link, setup_account, sign_in, sign_out
from usecases.staff_area import (
    NotFound,
    UploadRemoved,
    answer_by_phone,
    document,
    institution_history,
    phone_task_done,
    raw_upload,
    send_new_link,
    version_files,
    versions_with_documents,
)
from usecases.status import STATE_LABELS, NoCycle, call_text, cycle_status

COOKIE = "fko_intern"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
FILTERS = [("alle", "alle"), ("offen", "ohne Rückmeldung"), ("beantwortet", "beantwortet"),
           ("abgelehnt", "Upload abgelehnt"), ("telefon", "Telefonaufgabe offen")]
ROLE_LABELS = {"primary": "Hauptansprechperson", "deputy": "Vertretung", "head": "Leitung"}
log = logging.getLogger("portal.staff")


@dataclass
class StaffDeps:
    ctx: AppContext
    templates: Environment
    site: dict[str, Any]
    secret: bytes
    clock: Callable[[], dt.datetime]
    send_mail: bool
    root: str = ""  # the region's path prefix when one page serves several regions ("" otherwise)

    def page(self, template: str, title: str, http_status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("user", None)
        values.setdefault("csrf", "")
        values.setdefault("notice", "")
        html = self.templates.get_template(template).render(**self.site, title=title, **values)
        return HTMLResponse(html, status_code=http_status, headers={"Cache-Control": "no-store"})

    def csrf_for(self, session_id: int) -> str:
        return csrf_token(self.secret, session_id, self.clock().timestamp())

    def csrf_ok(self, session_id: int, token: str) -> bool:
        return csrf_valid(self.secret, session_id, token, self.clock().timestamp())


async def staff_deps(request: Request) -> StaffDeps:
    deps: StaffDeps = request.app.state.staff
    return deps


Staff = Annotated[StaffDeps, Depends(staff_deps)]


class SignInNeeded(Exception):
    """No valid session: a GET goes to the sign-in page, anything else is refused."""


class StateAccountOnly(Exception):
    """The state's account asked for one of the region's own pages: it sees only the roll-up."""


def _state_page(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/intern/land/") or path.rstrip("/") == "/intern/abmelden"


async def signed_in(request: Request, staff: Staff) -> StaffUser:
    user = await run_in_threadpool(current_user, staff.ctx, cookie=request.cookies.get(COOKIE, ""), now=staff.clock())
    if user is None:
        raise SignInNeeded
    if user.is_state and not _state_page(request):
        raise StateAccountOnly
    return user


User = Annotated[StaffUser, Depends(signed_in)]


async def checked_form(request: Request, staff: StaffDeps, user: StaffUser | None) -> dict[str, str]:
    """The posted form, after the CSRF checks (own site, a token this area gave to this very session)."""
    if cross_site({k.lower(): v for k, v in request.headers.items()}):
        raise StarletteHTTPException(status_code=403, detail="fremde Seite")
    form = await request.form(max_files=0, max_fields=10)
    values = {k: str(v) for k, v in form.items()}
    if not staff.csrf_ok(user.session_id if user else 0, values.get("csrf", "")):
        raise StarletteHTTPException(status_code=403, detail="Formular abgelaufen")
    return values


def _secure(request: Request) -> bool:
    """Secure cookies everywhere but on this machine's own address (tests, the demo): behind the proxy the
    host is the public name, served over HTTPS."""
    return (request.url.hostname or "") not in LOOPBACK


# ------------------------------------------------------------------------------------------------ sign-in
def _back_to(target: str) -> str:
    """Where to go after signing in: only a page of this area (never another site: no open redirect)."""
    return target if target.startswith("/intern/") and "//" not in target and "\\" not in target else "/intern/"


def sign_in_form(staff: Staff, zurueck: str = "/intern/") -> HTMLResponse:
    return staff.page("anmelden.html.j2", "Anmelden", csrf=staff.csrf_for(0), name="", message="",
                      zurueck=_back_to(zurueck))


async def sign_in_post(request: Request, staff: Staff) -> Response:
    form = await checked_form(request, staff, None)
    result = await run_in_threadpool(sign_in, staff.ctx, name=form.get("name", ""),
                                     password=form.get("passwort", ""), now=staff.clock())
    if result.user is None:
        return staff.page("anmelden.html.j2", "Anmelden", http_status=401, csrf=staff.csrf_for(0),
                          name=form.get("name", ""), message=result.message,
                          zurueck=_back_to(form.get("zurueck", "")))
    response = RedirectResponse(staff.root + _back_to(form.get("zurueck", "")), status_code=303)
    # Lax, not Strict: a link in the daily digest (opened from a mail program) must find the session; forms
    # are protected by their CSRF tokens, and Lax sends no cookie with another site's POST anyway.
    response.set_cookie(COOKIE, result.cookie, max_age=SESSION_HOURS * 3600, path=f"{staff.root}/intern", httponly=True,
                        samesite="lax", secure=_secure(request))
    return response


async def sign_out_post(request: Request, staff: Staff, user: User) -> Response:
    await checked_form(request, staff, user)
    await run_in_threadpool(sign_out, staff.ctx, cookie=request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{staff.root}/intern/anmelden", status_code=303)
    response.delete_cookie(COOKIE, path=f"{staff.root}/intern")
    return response


def setup_form(token: str, staff: Staff) -> HTMLResponse:
    name = setup_account(staff.ctx, token=token, now=staff.clock())
    return staff.page("einrichten.html.j2", "Passwort festlegen", http_status=200 if name else 404, name=name or "",
                      token=token, csrf=staff.csrf_for(0), message="")


async def setup_post(token: str, request: Request, staff: Staff) -> Response:
    form = await checked_form(request, staff, None)
    name = setup_account(staff.ctx, token=token, now=staff.clock())
    if form.get("passwort", "") != form.get("wiederholung", ""):
        return staff.page("einrichten.html.j2", "Passwort festlegen", http_status=400, name=name or "", token=token,
                          csrf=staff.csrf_for(0), message="Die beiden Eingaben stimmen nicht überein.")
    try:
        await run_in_threadpool(set_password_by_link, staff.ctx, token=token, password=form.get("passwort", ""),
                                now=staff.clock())
    except StaffError as exc:
        return staff.page("einrichten.html.j2", "Passwort festlegen", http_status=400, name=name or "", token=token,
                          csrf=staff.csrf_for(0), message=str(exc))
    return staff.page("meldung.html.j2", "Passwort gespeichert",
                      message="Das Passwort ist gespeichert. Sie können sich jetzt anmelden.")


# ------------------------------------------------------------------------------------------------ the round
def overview(staff: Staff, user: User, zeigen: str = "alle") -> HTMLResponse:
    shown = zeigen if zeigen in dict(FILTERS) else "alle"
    try:
        status = cycle_status(staff.ctx)
    except NoCycle:
        return staff.page("uebersicht.html.j2", "Abfrage", user=user, csrf=staff.csrf_for(user.session_id),
                          status=None)
    keep: dict[str, Callable[[Any], bool]] = {
        "alle": lambda r: True, "offen": lambda r: not r.answer, "beantwortet": lambda r: bool(r.answer),
        "abgelehnt": lambda r: r.state == "refused" and not r.answer, "telefon": lambda r: r.open_phone_task}
    rows = [_row(r) for r in status.rows if keep[shown](r)]
    return staff.page("uebersicht.html.j2", f"Abfrage {status.year}", user=user, csrf=staff.csrf_for(user.session_id),
                      status=status, rows=rows, filters=FILTERS, shown=shown, filter_label=dict(FILTERS)[shown],
                      deadline=german_date(status.deadline, weekday=False),
                      state_label={"open": "läuft", "published": "veröffentlicht", "closed": "geschlossen"}.get(
                          status.state, status.state))


def _row(r: Any) -> dict[str, Any]:
    state = ({"accepted": "Tabelle angenommen", "no_changes": "keine Änderungen"}.get(r.answer, "beantwortet")
             if r.answer else STATE_LABELS.get(r.state, r.state))
    last_at = short_date(r.last_action_at.astimezone(BERLIN).date()) if r.last_action_at else ""
    return {"code": r.code, "name": r.name, "state_text": state, "reminders": r.reminders, "escalated": r.escalated,
            "last_action": r.last_action, "last_at": last_at,
            "open_phone_task": r.open_phone_task, "phone_done": r.phone_done, "call": call_text(r.call, ROLE_LABELS)}


def institution(code: str, staff: Staff, user: User, notice: str = "") -> HTMLResponse:
    history = institution_history(staff.ctx, code=code)
    try:
        row = next((_row(r) for r in cycle_status(staff.ctx).rows if r.code == history.code), None)
    except NoCycle:
        row = None
    return staff.page("institution.html.j2", history.name, user=user, csrf=staff.csrf_for(user.session_id),
                      inst=history, year=history.year, row=row or {"state_text": "nicht befragt",
                                                                   "open_phone_task": False, "call": ""},
                      submissions=history.submissions, history=history.events, mails=history.mails,
                      notice={"link": "Ein neuer Link ist unterwegs; der alte gilt nicht mehr.",
                              "telefon": "Als Rückmeldung erfasst: keine Änderungen (per Telefon).",
                              "erledigt": "Die Telefonaufgabe ist als erledigt vermerkt."}.get(notice, ""))


async def staff_action(code: str, request: Request, staff: Staff, user: User) -> Response:
    await checked_form(request, staff, user)
    action = request.url.path.rsplit("/", 1)[-1]
    steps: dict[str, tuple[Callable[..., None], str]] = {
        "neuer-link": (send_new_link, "link"), "telefonisch-keine-aenderungen": (answer_by_phone, "telefon"),
        "telefonat-erledigt": (phone_task_done, "erledigt")}
    step, notice = steps[action]
    kwargs: dict[str, Any] = {"code": code, "staff": user.name}
    if step is not phone_task_done:
        kwargs["now"] = staff.clock()
    try:
        await run_in_threadpool(step, staff.ctx, **kwargs)
    except NotFound:
        raise
    except Exception as exc:  # the round ended, mail cannot leave, …: one German line, nothing half-done
        log.warning("staff action %s for %s by %s refused: %s", action, code, user.name, exc)
        return staff.page("meldung.html.j2", "Nicht möglich", http_status=409, user=user,
                          csrf=staff.csrf_for(user.session_id), message=_refusal(exc))
    if staff.send_mail and step is not phone_task_done:
        asyncio.get_running_loop().create_task(_send(staff))
    return RedirectResponse(f"{staff.root}/intern/institutionen/{quote(code)}?notice={notice}", status_code=303)


def _refusal(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "RoundEnded":
        return "Die Abfrage ist beendet oder ihre Version veröffentlicht; das geht jetzt nicht mehr."
    if name in ("MailCannotLeave", "LinksUnusable"):
        return f"Die E-Mail kann so nicht versandt werden: {exc}"
    return f"Das ging nicht: {exc}"


async def _send(staff: StaffDeps) -> None:
    try:
        await deliver_pending(staff.ctx)
    except Exception:  # the outbox keeps the message; `fko mail send` retries
        log.exception("sending queued mail failed")


def upload_file(submission_id: int, staff: Staff, user: User) -> Response:
    try:
        data, name = raw_upload(staff.ctx, submission_id=submission_id)
    except UploadRemoved as exc:
        return staff.page("meldung.html.j2", "Datei gelöscht", http_status=410, user=user, message=str(exc))
    return attachment_response(data, name)


# ------------------------------------------------------------------------------------------------ approval
def approval_form(staff: Staff, user: User, notice: str = "") -> HTMLResponse:
    view = approval_view(staff.ctx, now=staff.clock())
    return staff.page("freigabe.html.j2", "Freigabe", user=user, csrf=staff.csrf_for(user.session_id), view=view,
                      message="", notice={"abgelehnt": "Abgelehnt; der Entwurf bleibt, die Anmerkung ist vermerkt."
                                          }.get(notice, ""))


async def approval_post(request: Request, staff: Staff, user: User) -> Response:
    form = await checked_form(request, staff, user)
    label = form.get("version", "")
    if form.get("entscheidung") == "ablehnen":
        await run_in_threadpool(reject, staff.ctx, label=label, staff=user.name, comment=form.get("anmerkung", ""))
        return RedirectResponse(f"{staff.root}/intern/freigabe?notice=abgelehnt", status_code=303)
    try:
        published = await run_in_threadpool(approve, staff.ctx, label=label, staff=user.name, now=staff.clock(),
                                            early=form.get("vorzeitig") == "ja")
    except ApprovalRefused as exc:
        view = await run_in_threadpool(approval_view, staff.ctx, now=staff.clock())
        return staff.page("freigabe.html.j2", "Freigabe", http_status=409, user=user,
                          csrf=staff.csrf_for(user.session_id), view=view, message=str(exc))
    asyncio.get_running_loop().create_task(_render_published(staff, published))
    return staff.page("meldung.html.j2", f"Version {published} veröffentlicht", user=user,
                      csrf=staff.csrf_for(user.session_id), message=(
                          f"Version {published} ist veröffentlicht, freigegeben von {user.name}. Ihre Dokumente "
                          "werden jetzt neu erstellt (einige Minuten) und stehen dann unter Dokumente."))


async def _render_published(staff: StaffDeps, label: str) -> None:
    try:
        await run_in_threadpool(render_published, staff.ctx, label=label)
    except Exception:  # published is published; `fko render --version` makes the documents again
        log.exception("documents of the published version %s could not be rendered", label)


# ------------------------------------------------------------------------------------------------ documents
def documents(staff: Staff, user: User) -> HTMLResponse:
    versions = [{"label": v.label, "status": v.status, "files": len(v.files)}
                for v in versions_with_documents(staff.ctx)]
    return staff.page("dokumente.html.j2", "Dokumente", user=user, csrf=staff.csrf_for(user.session_id),
                      versions=versions)


def version(label: str, staff: Staff, user: User) -> HTMLResponse:
    found = version_files(staff.ctx, label=label)
    files = [(name, f"{int(str(entry.get('size', 0))) // 1024 + 1} KB") for name, entry in found.files.items()]
    return staff.page("version.html.j2", f"Version {label}", user=user, csrf=staff.csrf_for(user.session_id),
                      label=label, status=found.status, files=files)


def document_file(label: str, name: str, staff: Staff, user: User) -> Response:
    data, filename = document(staff.ctx, label=label, name=name)
    return attachment_response(data, filename)


MEDIA = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8", ".md": "text/markdown; charset=utf-8",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def attachment_response(data: bytes, name: str) -> Response:
    """Always as an attachment (an HTML document is not run in the staff area's origin)."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return Response(data, media_type=MEDIA.get(suffix, "application/octet-stream"), headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
        "ETag": hashlib.sha256(data).hexdigest()[:32]})


# ------------------------------------------------------------------------------------------------ errors
async def needs_sign_in(request: Request, exc: Exception) -> Response:
    staff: StaffDeps = request.app.state.staff
    if request.method == "GET":
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = _back_to(wanted)
        back = f"?zurueck={quote(target)}" if target != "/intern/" else ""
        return RedirectResponse(f"{staff.root}/intern/anmelden{back}", status_code=303)
    return staff.page("meldung.html.j2", "Bitte anmelden", http_status=403,
                      message="Diese Aktion braucht eine Anmeldung im internen Bereich.")


async def http_error(request: Request, exc: Exception) -> HTMLResponse:
    staff: StaffDeps = request.app.state.staff
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    if status == 403:
        return staff.page("meldung.html.j2", "Nicht angenommen", http_status=403, message=(
            "Das Formular ist abgelaufen oder kam von einer fremden Seite; nichts wurde geändert. Bitte die Seite "
            "neu laden und noch einmal versuchen."))
    return staff.page("meldung.html.j2", "Nicht gefunden" if status == 404 else "Nicht möglich", http_status=status,
                      message="Diese Seite gibt es im internen Bereich nicht." if status == 404 else
                      "Diese Anfrage ist hier nicht möglich.")


async def failed(request: Request, exc: Exception) -> HTMLResponse:
    """Never a bare "Internal Server Error" (the guard around the app writes the log line)."""
    staff: StaffDeps = request.app.state.staff
    return staff.page("meldung.html.j2", "Ein Fehler ist aufgetreten", http_status=500, message=(
        "Auf unserer Seite ist ein Fehler aufgetreten; nichts wurde geändert. Die Einzelheiten stehen im Protokoll "
        "des Dienstes (journalctl -u fko-portal)."))


async def not_found(request: Request, exc: Exception) -> HTMLResponse:
    return await http_error(request, StarletteHTTPException(status_code=404))


def create_staff_app(ctx: AppContext, site: SiteInfo, *, clock: Callable[[], dt.datetime],
                     send_mail: bool, root: str = "") -> FastAPI:
    from portal.land import add_state_routes  # it builds on this module's dependencies
    templates = Environment(loader=FileSystemLoader(ctx.templates_dir / "staff"), autoescape=True,
                            undefined=StrictUndefined)
    secret = hashlib.sha256(b"fko staff area\x1f" + ctx.settings.secret()).digest()  # apart from the links' CSRF
    app = FastAPI(title="fko-cycle intern", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.staff = StaffDeps(ctx=ctx, templates=templates, secret=secret, clock=clock, send_mail=send_mail,
                                site={"agency_name": site.agency_name, "region_name": site.region_name, "root": root},
                                root=root)
    app.add_exception_handler(SignInNeeded, needs_sign_in)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, not_found)
    app.add_exception_handler(Exception, failed)
    app.add_api_route("/anmelden", sign_in_form, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/anmelden", sign_in_post, methods=["POST"])
    app.add_api_route("/abmelden", sign_out_post, methods=["POST"])
    app.add_api_route("/einrichten/{token}", setup_form, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/einrichten/{token}", setup_post, methods=["POST"])
    app.add_api_route("/", overview, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/institutionen/{code}", institution, methods=["GET"], response_class=HTMLResponse)
    for action in ("neuer-link", "telefonisch-keine-aenderungen", "telefonat-erledigt"):
        app.add_api_route(f"/institutionen/{{code}}/{action}", staff_action, methods=["POST"])
    app.add_api_route("/dateien/{submission_id}", upload_file, methods=["GET"])
    app.add_api_route("/freigabe", approval_form, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/freigabe", approval_post, methods=["POST"])
    app.add_api_route("/dokumente/", documents, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/dokumente/{label}/", version, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/dokumente/{label}/{name:path}", document_file, methods=["GET"])
    add_state_routes(app)
    return app
