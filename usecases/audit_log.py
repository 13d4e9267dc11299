"""The audit log staff read (`fko log`): who did what when, every mail, upload, decision, link renewal, approval
and erasure, in German (core.audit_text), for the region or one institution, from a day on."""

from __future__ import annotations

import datetime as dt

from core.audit_text import AuditLine, actor_label, describe_event, describe_mail, event_institution
from core.dates import BERLIN
from mail.templates import KIND_LABELS
from storage.audit_log import events_since, messages_since
from storage.database import require_current_schema, session_scope
from storage.institutions import get_institution
from storage.regions import get_region
from usecases.context import AppContext

SENDER = "fko-cycle (Versand)"


def audit_log(ctx: AppContext, *, institution: str | None = None, since: dt.date | None = None
              ) -> tuple[str, list[AuditLine]]:
    """The region's name and its log, oldest first; only what concerns ``institution`` (a code) when given,
    from the start of ``since`` (Europe/Berlin) on. NotFound for an unknown region or institution."""
    require_current_schema(ctx.engine)
    start = dt.datetime.combine(since, dt.time(0), BERLIN).astimezone(dt.UTC) if since else None
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        code = get_institution(session=session, region_id=region.id or 0, code=institution).code \
            if institution else None
        lines = [AuditLine(at=e.at, who=actor_label(e.actor), what=describe_event(e.action, e.subject, e.details),
                           institution=event_institution(e.action, e.actor, e.subject, e.details), action=e.action)
                 for e in events_since(session=session, region_id=region.id or 0, since=start, several=ctx.several)]
        for message, owner in messages_since(session=session, region_id=region.id or 0, since=start,
                                             region_code=region.code if ctx.several else None):
            at = message.sent_at or message.created_at
            if start is not None and at < start:
                continue
            lines.append(AuditLine(at=at, who=SENDER, institution=owner, action=f"mail.{message.kind}",
                                   what=describe_mail(KIND_LABELS.get(message.kind, message.kind), message.recipient,
                                                      message.cc, message.state, message.last_error)))
        name = region.name
    if code is not None:
        lines = [line for line in lines if line.institution == code]
    return name, sorted(lines, key=lambda line: line.at)
