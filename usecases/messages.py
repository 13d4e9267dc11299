"""Compose the German mails to institutions and staff from the templates (one place for their context)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.dates import BERLIN, german_date, german_datetime, short_date
from core.institution import greeting_line
from mail.compose import Attachment, Composed, Envelope, Mailbox, compose
from mail.templates import MailRenderer
from storage.models import Contact, Institution, Region
from usecases.context import AppContext


@dataclass(frozen=True)
class Recipients:
    to: list[Contact]
    cc: list[Contact]

    @property
    def addresses(self) -> tuple[str, list[str]]:
        return self.to[0].email, [c.email for c in [*self.to[1:], *self.cc]]


def reachable_roles(contacts: list[Contact]) -> frozenset[str]:
    return frozenset(c.role for c in contacts if c.active and c.refused_at is None)


def pick_recipients(contacts: list[Contact], roles: tuple[str, ...], cc_roles: tuple[str, ...] = (),
                    ) -> Recipients | None:
    """Active, not refused contacts: To by the first role that has one, Cc the others. None: nobody left."""
    usable = [c for c in contacts if c.active and c.refused_at is None]
    to: list[Contact] = []
    for role in roles:
        to = [c for c in usable if c.role == role]
        if to:
            break
    if not to:
        return None
    cc = [c for c in usable if c.role in cc_roles and c not in to]
    return Recipients(to=to, cc=cc)


@functools.lru_cache(maxsize=8)
def renderer_for(templates_dir: Path) -> MailRenderer:
    """One renderer per templates folder: Jinja2 compiles each template once (and reloads it if edited)."""
    return MailRenderer(templates_dir)


def base_context(region: Region, *, year: int, deadline: dt.date, today: dt.date | None = None) -> dict[str, Any]:
    """What every mail of a round says; with ``today`` (the day it is sent) also how far the deadline is, so a
    mail never calls a past day "heute"."""
    return {
        "days_to_deadline": (deadline - today).days if today else None,
        "region_name": region.name, "agency_name": region.agency_name, "agency_email": region.agency_email,
        "agency_phone": region.agency_phone, "agency_address": region.agency_address, "year": year,
        "funding_line": region.funding_line,
        "deadline_text": german_date(deadline), "deadline_short": short_date(deadline),
    }


def institution_mail(ctx: AppContext, *, kind: str, key: str, region: Region, institution: Institution,
                     recipients: Recipients, context: dict[str, Any], now: dt.datetime,
                     attachments: list[Attachment] | None = None, cc_staff: bool = False,
                     extra_cc: list[str] | None = None) -> Composed:
    rendered = renderer_for(ctx.templates_dir).render(kind, {
        **context, "institution_name": institution.name, "institution_code": institution.code,
        "recipient_name": " und ".join(c.name for c in recipients.to),
        "greeting": greeting_line([(c.salutation, c.name) for c in recipients.to]),
    })
    envelope = Envelope(
        sender=Mailbox(ctx.settings.mail_from, region.agency_name),
        to=[Mailbox(c.email, c.name) for c in recipients.to],
        cc=[Mailbox(c.email, c.name) for c in recipients.cc] + [Mailbox(a) for a in extra_cc or []]
        + ([Mailbox(region.agency_email, region.agency_name)] if cc_staff else []),
        reply_to=Mailbox(region.agency_email, region.agency_name),
    )
    return compose(rendered, envelope, key=key, now=now.astimezone(BERLIN), attachments=attachments)


def received_text(moment: dt.datetime) -> str:
    return german_datetime(moment.astimezone(BERLIN))
