"""Which region a message in the agency's mailbox belongs to, when all regions of an installation share it.

With one region, or a region chosen (`fko --region CODE mail fetch` with that region's own mailbox settings),
every message is that region's. On a database with several regions and none chosen, the mailbox is the
installation's one, and each message goes to the region
1. of our message it answers (In-Reply-To/References: the invitation, a reminder, a receipt);
2. else of the institutions whose contact wrote it, when that is one region only;
3. else the first region of the installation (the one set up first), whose staff see it as unclear mail.
A sheet that still turns out to be another region's (its signed ``_meta``) is taken in by that region.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.inbound_mail import InboundMail
from storage.cycles import cycle_of_year
from storage.database import session_scope
from storage.intake import intake_in_any_region, intake_of, regions_of_address, regions_of_messages
from storage.models import Region
from storage.regions import all_regions, get_region
from usecases.context import AppContext
from usecases.ingest import latest_round_year


@dataclass
class Round:
    """The region a message is dealt with for, and its latest round (none: sheets wait in the mailbox)."""

    region: Region
    year: int | None
    cycle_id: int | None
    deadline: dt.date | None


def round_of(ctx: AppContext) -> Round:
    year = latest_round_year(ctx)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        session.expunge(region)
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year) if year else None
        return Round(region, year, cycle.id if cycle else None, cycle.deadline if cycle else None)


@dataclass
class Router:
    """Gives each message its region's context and round (built once per region per fetch)."""

    ctx: AppContext
    regions: list[Region]          # empty: one region, every message is the context's own
    _rounds: dict[int, tuple[AppContext, Round]] = field(default_factory=dict)

    @classmethod
    def for_context(cls, ctx: AppContext) -> Router:
        with session_scope(ctx.engine) as session:
            regions = all_regions(session=session)
            for region in regions:
                session.expunge(region)
        shared = ctx.settings.region is None and len(regions) > 1
        return cls(ctx, regions if shared else [])

    @property
    def shared(self) -> bool:
        return bool(self.regions)

    def _of(self, region_id: int | None) -> tuple[AppContext, Round]:
        if not self.shared:
            key = 0
            if key not in self._rounds:
                self._rounds[key] = (self.ctx, round_of(self.ctx))
            return self._rounds[key]
        region = next((r for r in self.regions if r.id == region_id), self.regions[0])
        if region.id not in self._rounds:
            scoped = self.ctx.for_region(region, several=True)
            self._rounds[region.id or 0] = (scoped, round_of(scoped))
        return self._rounds[region.id or 0]

    def route(self, mail: InboundMail) -> tuple[AppContext, Round]:
        """The context and round a message is dealt with in."""
        if not self.shared:
            return self._of(None)
        with session_scope(self.ctx.engine) as session:
            answered = regions_of_messages(session=session, message_ids=set(mail.references))
            if len(answered) == 1:
                return self._of(answered.pop())
            writers = regions_of_address(session=session, address=mail.sender)
            if len(writers) == 1:
                return self._of(writers.pop())
        return self._of(None)

    def by_code(self, code: str) -> tuple[AppContext, Round] | None:
        """Another region of a shared mailbox by its code (a sheet signed for it); None without sharing."""
        region = next((r for r in self.regions if r.code == code), None)
        return self._of(region.id) if region is not None else None

    def known(self, folder: str, uidvalidity: int, uid: int) -> tuple[AppContext, int, str, str, str, str] | None:
        """A message recorded before (context, region id, target folder, sender, subject, kind), if any."""
        ctx, state = self._of(None)
        with session_scope(self.ctx.engine) as session:
            record = intake_in_any_region(session=session, folder=folder, uidvalidity=uidvalidity, uid=uid) \
                if self.shared else intake_of(session=session, region_id=state.region.id or 0, folder=folder,
                                              uidvalidity=uidvalidity, uid=uid)
            if record is None:
                return None
            if self.shared:
                ctx, state = self._of(record.region_id)
            return ctx, record.region_id, record.target, record.sender, record.subject, record.kind
