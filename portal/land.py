"""The state's page in the staff area (/intern/land/): the roll-up of all regions for an account with the role
"state", with its workbook and PDF report; a region's own staff get 403, and the state's account none of the
region's own pages (portal.staff.signed_in sends it here)."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.dates import BERLIN
from core.rollup import RollupError
from portal.staff import Staff, StaffDeps, StateAccountOnly, User, attachment_response
from usecases.pdf import PdfUnavailable
from usecases.rollup import rollup_download, rollup_of_year
from usecases.rollup import stem as rollup_stem
from usecases.staff import StaffUser


def _rollup_year(staff: StaffDeps, jahr: str) -> int:
    return int(jahr) if jahr.isdigit() and len(jahr) == 4 else staff.clock().astimezone(BERLIN).year


def _not_for_region(staff: StaffDeps, user: StaffUser) -> HTMLResponse:
    return staff.page("meldung.html.j2", "Nur für das Land", http_status=403, user=user,
                      csrf=staff.csrf_for(user.session_id), message=(
                          "Die Landesübersicht aller Regionen sehen nur Konten des Landes (Rolle „state“). Die "
                          "Mitarbeitenden einer Region sehen nur ihre eigene Region."))


def state_rollup(staff: Staff, user: User, jahr: str = "") -> HTMLResponse:
    """The roll-up of all regions, for the state's account only; a region's staff get 403."""
    if not user.is_state:
        return _not_for_region(staff, user)
    year = _rollup_year(staff, jahr)
    try:
        figures = rollup_of_year(staff.ctx, year=year, today=staff.clock().astimezone(BERLIN).date())
    except RollupError as exc:
        return staff.page("land.html.j2", f"Landesübersicht {year}", user=user, csrf=staff.csrf_for(user.session_id),
                          year=year, r=None, message=str(exc), stem=rollup_stem(year))
    return staff.page("land.html.j2", f"Landesübersicht {year}", user=user, csrf=staff.csrf_for(user.session_id),
                      year=year, r=figures, message="", stem=rollup_stem(year))


def state_rollup_file(name: str, staff: Staff, user: User) -> Response:
    """Landesuebersicht-JAHR.xlsx or .pdf, made afresh (the state's account only)."""
    if not user.is_state:
        return _not_for_region(staff, user)
    wanted = re.fullmatch(r"Landesuebersicht-(\d{4})\.(xlsx|pdf)", name)
    if wanted is None:
        raise StarletteHTTPException(status_code=404)
    try:
        data, filename = rollup_download(staff.ctx, year=int(wanted[1]), kind=wanted[2],
                                         today=staff.clock().astimezone(BERLIN).date())
    except RollupError as exc:
        return staff.page("meldung.html.j2", "Keine Landesübersicht", http_status=404, user=user,
                          csrf=staff.csrf_for(user.session_id), message=str(exc))
    except PdfUnavailable as exc:
        return staff.page("meldung.html.j2", "Kein PDF", http_status=503, user=user,
                          csrf=staff.csrf_for(user.session_id),
                          message=f"Das PDF kann hier nicht erstellt werden: {exc}")
    return attachment_response(data, filename)


async def state_account_only(request: Request, exc: Exception) -> Response:
    staff: StaffDeps = request.app.state.staff
    if request.method == "GET":
        return RedirectResponse(f"{staff.root}/intern/land/", status_code=303)
    return staff.page("meldung.html.j2", "Nur die Landesübersicht", http_status=403, message=(
        "Dieses Konto des Landes sieht nur die Landesübersicht; die Seiten der Region sind für ihre Mitarbeitenden."))


def add_state_routes(app: FastAPI) -> None:
    app.add_exception_handler(StateAccountOnly, state_account_only)
    app.add_api_route("/land/", state_rollup, methods=["GET"], response_class=HTMLResponse)
    app.add_api_route("/land/{name}", state_rollup_file, methods=["GET"])
