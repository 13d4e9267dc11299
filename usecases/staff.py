"""Staff accounts: add, set a password (directly or through a one-time link), sign in and out, sessions."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session

from core.dates import BERLIN, german_datetime
from core.staff import SESSION_HOURS, blocked_until, password_problem
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.models import StaffAccount
from storage.regions import get_region
from storage.staff import add_session, end_sessions, find_staff, list_staff, live_session, staff_by_setup
from usecases.context import AppContext

SETUP_HOURS = 72
# The same answer for an unknown name, a wrong password and a blocked name: nothing tells which names exist.
WRONG = ("Name oder Passwort stimmt nicht. Nach mehreren Fehlversuchen ist die Anmeldung eines Namens für einige "
         "Minuten gesperrt.")
# A hash to verify against when the name is unknown, so both take the same time.
_DUMMY_PASSWORD = "kein-passwort-für-niemanden"  # noqa: S105 (no account has it: a timing decoy)


ROLES = {"region": "Mitarbeitende der Region", "state": "Land (Landesübersicht aller Regionen)"}


class StaffError(Exception):
    """A staff account action that cannot be done; the message is German."""


@dataclass(frozen=True)
class StaffUser:
    id: int
    name: str
    email: str
    session_id: int
    role: str = "region"  # "state": the ministry's account, which sees only the roll-up of all regions

    @property
    def is_state(self) -> bool:
        return self.role == "state"


@dataclass(frozen=True)
class SignIn:
    user: StaffUser | None
    cookie: str = ""        # the new session's cookie value (only returned, never stored)
    message: str = ""       # German, when refused


def _hasher():  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher  # memory-hard (argon2id), imported only where passwords are handled

    return PasswordHasher()


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def add_staff(ctx: AppContext, *, name: str, email: str, password: str | None, now: dt.datetime,
              role: str = "region") -> str | None:
    """A new account. With ``password`` it can sign in at once; without, the returned one-time token (valid
    for 72 hours) opens /intern/einrichten/TOKEN where the person sets a password. ``role`` "state" makes it
    the ministry's account: it signs in on this region's staff area and sees the roll-up of all regions there."""
    require_current_schema(ctx.engine)
    name, email = name.strip(), email.strip()
    if not name or "@" not in email:
        raise StaffError("Bitte einen Namen und eine E-Mail-Adresse angeben.")
    if role not in ROLES:
        raise StaffError(f"Unbekannte Rolle „{role}“; möglich: {', '.join(ROLES)}.")
    if password is not None and (problem := password_problem(password, name=name)):
        raise StaffError(problem)
    token = None if password is not None else secrets.token_urlsafe(32)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        if find_staff(session=session, region_id=region.id or 0, name=name) is not None:
            raise StaffError(f"Es gibt schon ein Konto „{name}“.")
        session.add(StaffAccount(region_id=region.id or 0, name=name, email=email, created_at=now, role=role,
                                 password_hash=_hasher().hash(password) if password is not None else None,
                                 setup_hash=_sha256(token) if token else None,
                                 setup_expires_at=now + dt.timedelta(hours=SETUP_HOURS) if token else None))
        record_event(session=session, region_id=region.id, actor="system", action="staff.added", subject=name,
                     details={"role": role})
    return token


def new_setup_link(ctx: AppContext, *, name: str, now: dt.datetime) -> str:
    """A fresh one-time token for an existing account (a forgotten password); its sessions end."""
    token = secrets.token_urlsafe(32)
    with session_scope(ctx.engine) as session:
        account = _account(session, ctx, name)
        account.setup_hash, account.setup_expires_at = _sha256(token), now + dt.timedelta(hours=SETUP_HOURS)
        end_sessions(session=session, staff_id=account.id)
    return token


def setup_account(ctx: AppContext, *, token: str, now: dt.datetime) -> str | None:
    """The name of the account a one-time token is for, while it is valid."""
    with session_scope(ctx.engine) as session:
        account = staff_by_setup(session=session, setup_hash=_sha256(token))
        if account is None or account.setup_expires_at is None or account.setup_expires_at <= now \
                or not _of_region(session, ctx, account):
            return None
        return account.name


def set_password_by_link(ctx: AppContext, *, token: str, password: str, now: dt.datetime) -> str:
    """Sets the password of the account behind a valid one-time token; the token is then used up."""
    with session_scope(ctx.engine) as session:
        account = staff_by_setup(session=session, setup_hash=_sha256(token))
        if account is None or account.setup_expires_at is None or account.setup_expires_at <= now \
                or not _of_region(session, ctx, account):
            raise StaffError("Dieser Link ist abgelaufen oder wurde schon benutzt. Bitte einen neuen anfordern.")
        if problem := password_problem(password, name=account.name):
            raise StaffError(problem)
        account.password_hash = _hasher().hash(password)
        account.setup_hash, account.setup_expires_at = None, None
        account.failed_logins, account.blocked_until = 0, None
        end_sessions(session=session, staff_id=account.id)
        record_event(session=session, region_id=account.region_id, actor=f"staff:{account.name}",
                     action="staff.password_set", subject=account.name)
        return account.name


def queue_invitation(ctx: AppContext, *, name: str, token: str, now: dt.datetime) -> str:
    """The mail with the one-time link to the account's address, through the outbox (sent once); returns it."""
    from mail.compose import Envelope, Mailbox, compose
    from usecases.messages import renderer_for
    from usecases.outbox import queue_message

    base = ctx.settings.base_url.rstrip("/")
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        account = _account(session, ctx, name)
        until = (account.setup_expires_at or now).astimezone(BERLIN)
        rendered = renderer_for(ctx.templates_dir).render("staff_invite", {
            "region_name": region.name, "agency_name": region.agency_name, "agency_email": region.agency_email,
            "agency_phone": region.agency_phone, "agency_address": region.agency_address,
            "funding_line": region.funding_line, "staff_name": account.name,
            "setup_url": f"{base}/intern/einrichten/{token}", "sign_in_url": f"{base}/intern/anmelden",
            "valid_until": german_datetime(until)})
        key = f"staff_invite:{region.code}:{account.name}:{_sha256(token)[:16]}"
        envelope = Envelope(sender=Mailbox(ctx.settings.mail_from, region.agency_name),
                            to=[Mailbox(account.email, account.name)],
                            reply_to=Mailbox(region.agency_email, region.agency_name))
        queue_message(ctx, session, key=key, kind="staff_invite", composed=compose(rendered, envelope, key=key,
                                                                                 now=now.astimezone(BERLIN)),
                      to=account.email, cc=[], cycle_id=None, institution_id=None)
        return account.email


def remove_staff(ctx: AppContext, *, name: str) -> None:
    with session_scope(ctx.engine) as session:
        account = _account(session, ctx, name)
        account.active, account.password_hash, account.setup_hash = False, None, None
        end_sessions(session=session, staff_id=account.id)
        record_event(session=session, region_id=account.region_id, actor="system", action="staff.removed",
                     subject=name)


def staff_list(ctx: AppContext) -> list[StaffAccount]:
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        return list_staff(session=session, region_id=region.id or 0)


def sign_in(ctx: AppContext, *, name: str, password: str, now: dt.datetime) -> SignIn:
    """Checks the password; on success a new session (a fresh cookie value: no session fixation). Repeated
    failures block the name for a while; an unknown name gets the same answer as a wrong password."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        account = find_staff(session=session, region_id=region.id or 0, name=name.strip())
        usable = account is not None and account.active and account.password_hash is not None
        if account is not None and account.blocked_until is not None and account.blocked_until > now:
            return SignIn(None, message=WRONG)  # not even checked: guessing goes no faster
        if not _verified(account.password_hash if usable and account else None, password):
            if account is not None:
                account.failed_logins += 1
                account.blocked_until = blocked_until(account.failed_logins, now)
                record_event(session=session, region_id=region.id, actor="system", action="staff.sign_in_failed",
                             subject=account.name)
            return SignIn(None, message=WRONG)
        assert account is not None  # noqa: S101 (verified above)
        account.failed_logins, account.blocked_until = 0, None
        cookie = secrets.token_urlsafe(32)
        row = add_session(session=session, staff_id=account.id or 0, token_hash=_sha256(cookie), now=now,
                          expires_at=now + dt.timedelta(hours=SESSION_HOURS))
        record_event(session=session, region_id=region.id, actor=f"staff:{account.name}", action="staff.signed_in",
                     subject=account.name)
        return SignIn(StaffUser(account.id or 0, account.name, account.email, row.id or 0, account.role), cookie)


def _of_region(session: Session, ctx: AppContext, account: StaffAccount) -> bool:
    """The account belongs to the region this staff area serves (always, when it serves the only region)."""
    return not ctx.settings.region or account.region_id == get_region(session=session, code=ctx.settings.region).id


def current_user(ctx: AppContext, *, cookie: str, now: dt.datetime) -> StaffUser | None:
    if not cookie:
        return None
    with session_scope(ctx.engine) as session:
        found = live_session(session=session, token_hash=_sha256(cookie), now=now)
        if found is None:
            return None
        row, account = found
        if not _of_region(session, ctx, account):
            return None  # another region's session on this region's staff area
        return StaffUser(account.id or 0, account.name, account.email, row.id or 0, account.role)


def sign_out(ctx: AppContext, *, cookie: str) -> None:
    with session_scope(ctx.engine) as session:
        end_sessions(session=session, token_hash=_sha256(cookie))


@functools.cache
def _dummy_hash() -> str:
    return str(_hasher().hash(_DUMMY_PASSWORD))


def _verified(stored: str | None, password: str) -> bool:
    """argon2 verification; an unknown name is verified against a dummy hash, so it takes as long."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored or _dummy_hash(), password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _account(session, ctx: AppContext, name: str) -> StaffAccount:  # type: ignore[no-untyped-def]
    region = get_region(session=session, code=ctx.settings.region)
    account = find_staff(session=session, region_id=region.id or 0, name=name)
    if account is None:
        raise StaffError(f"Es gibt kein Konto „{name}“.")
    return account
