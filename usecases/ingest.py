"""A return that came without a personal link (`fko ingest`, the drop folder): whose file is it, then record it.

A staff mistake must never reach an institution (issue 23): a file that is not the named institution's
signed sheet of this round is not filed at all (nothing stored, recorded or sent) and staff are told where
it belongs; mail goes out only when staff ask for it (``notify``).
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from core.filetype import FileRefused, Limits
from core.grid import Grid, GridError
from core.problem import Problem
from core.sheet_check import Expected, check_meta
from core.sheet_meta import SheetMeta
from storage.cycles import cycle_of_year, newest_cycle, round_published
from storage.database import session_scope
from storage.errors import NotFound
from storage.institutions import get_institution
from storage.models import Institution, Region
from storage.regions import get_region
from storage.requests import request_for
from usecases.context import AppContext
from usecases.returns import ReturnResult, accept_return
from usecases.sandbox import read_grid_isolated


class NotIngestible(Exception):
    """Staff named what does not exist (institution, round, invitation); ``str(exc)`` says what, in German."""


class Misfiled(Exception):
    """The file is not the named institution's sheet of this round, or no sheet of ours at all: nothing was
    stored, recorded or sent. ``str(exc)`` says whose it is (German); ``institution``/``year``: the signed
    owner and round, if the file names them; ``retry``: the options of `fko ingest` that would file it where
    it belongs (None: there is no such place here), ``retry_effect`` what that would do (German); ``region``:
    the signed region when it is another one."""

    def __init__(self, message: str, *, institution: str | None = None, year: int | None = None,
                 retry: list[str] | None = None, retry_effect: str = "", problems: list[Problem] | None = None,
                 advice: str = "", region: str | None = None) -> None:
        super().__init__(message)
        self.region = region
        self.institution, self.year, self.retry, self.retry_effect = institution, year, retry, retry_effect
        self.advice = advice  # German: what staff can do if the file is what they think it is
        self.problems = problems or []


def latest_round_year(ctx: AppContext) -> int | None:
    """The round a returned file goes to when staff name none: the newest one that is running or whose
    version was published (a file then is kept for staff, not taken in); None when there is none."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = newest_cycle(session=session, region_id=region.id or 0)
        return cycle.year if cycle is not None and cycle.state in ("open", "published") else None


def _label(session: Session, region: Region, code: str) -> str:
    try:
        return f"{code} ({get_institution(session=session, region_id=region.id or 0, code=code).name})"
    except NotFound:
        return code


def _misfiled(session: Session, region: Region, meta: SheetMeta, *, filename: str, year: int,
              named: Institution | None) -> Misfiled | None:
    """Why a signed sheet does not belong where staff (or the default year) put it; None when it does."""
    if meta.region != region.code:
        return Misfiled(f"„{filename}“ ist eine Tabelle der Region „{meta.region}“, nicht von {region.name}.",
                        institution=meta.institution, year=meta.cycle_year, region=meta.region)
    other_owner = named is not None and meta.institution != named.code
    if not other_owner and meta.cycle_year == year:
        return None
    owner = _label(session, region, meta.institution)
    if other_owner and named is not None:
        wanted = f"die von {named.code}" + (f" für die Abfrage {year}" if meta.cycle_year != year else "")
        message = f"„{filename}“ ist die Tabelle von {owner} für die Abfrage {meta.cycle_year}, nicht {wanted}."
    else:
        message = f"„{filename}“ ist die Tabelle von {owner} aus der Abfrage {meta.cycle_year}, nicht aus der " \
                  f"Abfrage {year}."
    home = cycle_of_year(session=session, region_id=region.id or 0, year=meta.cycle_year)
    if home is None:
        return Misfiled(f"{message} Eine Abfrage {meta.cycle_year} gibt es hier nicht.",
                        institution=meta.institution, year=meta.cycle_year)
    effect = (f"als nach der Veröffentlichung eingegangen aufbewahrt (Version {meta.cycle_year} ist "
              "veröffentlicht)" if round_published(session, home) else f"bei {meta.institution} abgelegt")
    return Misfiled(message, institution=meta.institution, year=meta.cycle_year,
                    retry=[] if meta.cycle_year == year else ["--year", str(meta.cycle_year)], retry_effect=effect)


def ingest_file(ctx: AppContext, *, data: bytes, filename: str, source: str, year: int, now: dt.datetime,
                institution_code: str | None = None, limits: Limits | None = None, notify: bool = False,
                dry_run: bool = False, also_to: str = "") -> ReturnResult:
    """Record a returned file for its institution: ``institution_code`` or the one the signed ``_meta`` sheet
    names; like an upload, also after the deadline (staff accept late returns), held once the version is
    published. Raises ``Misfiled`` when the file is signed for another institution, round or region, or (with
    ``institution_code`` but without ``notify``) carries no signature at all: a staff mistake sends nothing.
    ``notify``: the institution gets the receipt or the refusal (``also_to``: and the sender of a mailed
    sheet); ``dry_run``: decide only.
    """
    grid: Grid | None = None
    unreadable: list[Problem] = []
    try:
        grid = read_grid_isolated(data, templates_dir=ctx.templates_dir, limits=limits or Limits())
    except (FileRefused, GridError) as exc:
        unreadable = [Problem(None, None, str(exc))]
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        named: Institution | None = None
        if institution_code:
            try:
                named = get_institution(session=session, region_id=region.id or 0, code=institution_code.upper())
            except NotFound:
                raise NotIngestible(f"Es gibt keine Institution mit dem Kürzel „{institution_code}“.") from None
        meta, problems = (check_meta(grid, ctx.spec(), Expected(region.code, year, ctx.settings.secret()))
                          if grid is not None else (None, unreadable))
        if meta is not None:
            wrong = _misfiled(session, region, meta, filename=filename, year=year, named=named)
            if wrong is not None:
                raise wrong
        elif named is None:
            raise Misfiled(f"„{filename}“ nennt keine Institution: {problems[0].message}", problems=problems,
                           advice="Ist es die Rückmeldung einer Institution, speichert `--institution KÜRZEL "
                                  "--notify` sie dort als abgelehnt, und die Institution erhält die Liste der "
                                  "Probleme.")
        elif not notify:
            raise Misfiled(f"„{filename}“ ist nicht als Tabelle von {named.code} zu erkennen: {problems[0].message}",
                           problems=problems, advice=f"Ist es doch die Rückmeldung von {named.code}, speichert "
                           f"`--notify` sie als abgelehnt, und {named.code} erhält die Liste der Probleme.")
        code = named.code if named is not None else meta.institution if meta is not None else ""
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
        if cycle is None:
            raise NotIngestible(f"Es gibt keine Abfrage {year}. `fko cycle open --year {year}` eröffnet sie.")
        try:
            institution = named or get_institution(session=session, region_id=region.id or 0, code=code)
        except NotFound:
            raise NotIngestible(f"Die Datei nennt die Institution „{code}“, die es hier nicht gibt.") from None
        request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0)
        if request is None:
            raise NotIngestible(f"{institution.code} ist in der Abfrage {year} nicht eingeladen.")
        request_id = request.id or 0
    return accept_return(ctx, request_id=request_id, data=data, filename=filename, source=source, now=now,
                         enforce_deadline=False, limits=limits, grid=grid, notify=notify, dry_run=dry_run,
                         also_to=also_to)
