"""Flow `ingest-returns`: the agency's mailbox, the drop folder (var/inbox/), receipts and refusals, a fresh draft.

Returns through the page are checked and recorded at upload; this flow reads the agency's mailbox (FKO_IMAP_*:
sheets attached to replies taken in like uploads, bounces, see usecases.mail_intake), picks up files staff drop
into the inbox (filed without mail, staff answer those), sends what the outbox holds (receipts, refusals),
and rebuilds the draft. After the version is published, files that come in are kept for staff (held), not
taken into the round. A mailbox that cannot be read fails the run with one line, after everything else was
done; the next run (every 10 minutes) catches up.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from flows import dashboard
from flows.open_cycle import deliver_mail
from flows.regions import region_codes, run_name, run_per_region
from flows.runtime import moment
from usecases.context import app_context
from usecases.cycle import year_to_process
from usecases.inbox import drop_folder_year, ingest_drop_folder, regions_with_returns
from usecases.mail_intake import MailboxError, fetch_mail, imap_settings
from usecases.versions import refresh_draft


@task(name="ingest-inbox", cache_policy=NO_CACHE)
def ingest_inbox(year: int, today: dt.date | None, region: str | None = None) -> dict[str, list[str]]:
    with app_context(region=region) as ctx:
        return ingest_drop_folder(ctx, year=year, now=moment(today)).as_dict()


@task(name="read-mailbox", cache_policy=NO_CACHE)
def read_mailbox(today: dt.date | None, region: str | None = None) -> dict[str, object]:
    """Every message of the agency's mailbox dealt with once; ``error``: one German line when it failed."""
    with app_context(region=region) as ctx:
        if imap_settings(ctx.settings) is None:
            return {"configured": False}
        try:
            report = fetch_mail(ctx, now=moment(today))
        except MailboxError as exc:
            return {"configured": True, "error": str(exc), "counts": {}}
    return {"configured": True, **report.as_dict()}


@task(name="rebuild-draft", cache_policy=NO_CACHE)
def rebuild(year: int, today: dt.date | None, region: str | None = None) -> dict[str, int]:
    """The draft stays current with every return; once the year's version is published it is left alone."""
    with app_context(region=region) as ctx:
        result = refresh_draft(ctx, year=year, now=moment(today))
    if result is None:
        return {"activities": 0, "answered": 0, "published": 1}
    return {"activities": result.activities, "answered": len(result.answered), "published": 0}


def _log_mailbox(mailbox: dict[str, object]) -> None:
    logger = get_run_logger()
    if mailbox.get("busy"):
        logger.info("Postfach: ein anderer Lauf liest es gerade.")
    elif mailbox.get("configured"):
        counts = mailbox.get("counts")
        counts = counts if isinstance(counts, dict) else {}
        logger.info("Postfach: %s Rückmeldungen, %s unklar, %s unzustellbar, %s automatische Antworten.",
                    counts.get("return", 0), counts.get("unclear", 0), counts.get("bounce", 0),
                    counts.get("autoreply", 0))


def several_regions() -> bool:
    """The database holds several regions: their one mailbox is read by the run without a region."""
    return region_codes(None) is not None


@flow(name="ingest-returns", flow_run_name=run_name)
async def ingest_returns_flow(year: int | None = None, today: dt.date | None = None,
                              institution: str | None = None, region: str | None = None) -> dict[str, object] | State:
    """Triggered when the page reports a return (``institution`` of ``region``) or mail arrives, and on a
    polling schedule. Without ``region`` on a database with several regions: one run per region."""
    logger = get_run_logger()
    region = region or None  # the trigger passes "" for an event without a region
    codes = region_codes(region)
    if codes:  # the installation's one mailbox is read here, each message for its region; then each region
        mailbox = read_mailbox(today, None)
        _log_mailbox(mailbox)
        try:  # the receipts and answers to the mailbox, whoever's they are; a relay that is down stops no region
            sent = (await deliver_mail(None)).sent
        except RuntimeError as exc:
            logger.error("%s Die Läufe je Region versuchen es erneut.", exc)
            sent = 0
        with app_context() as ctx:
            busy = [code for code in regions_with_returns(ctx) if code in codes]
        if not busy:  # no region has an open round or a dropped file: no run per region (every 10 minutes)
            logger.info("Keine Region mit offener Abfrage oder Datei im Eingangsordner: keine Läufe je Region.")
            outcome: dict[str, object] | State = {"regions": {}, "sent": sent}
        else:
            outcome = await run_per_region(ingest_returns_flow, busy, {"year": year, "today": today,
                                                                       "institution": institution}, what="Eingang")
        if mailbox.get("error") and not isinstance(outcome, State):
            message = f"Postfach nicht gelesen: {mailbox['error']} Der nächste Lauf holt es nach."
            logger.error(message)
            return Failed(message=message, data={"mailbox": mailbox, **outcome})
        return outcome
    mailbox = read_mailbox(today, region) if not (region and several_regions()) else {"configured": False}
    _log_mailbox(mailbox)
    result = await _ingest(year, today, institution, region)
    messages = mailbox.get("messages")
    answered = isinstance(messages, list) and any(isinstance(m, dict) and m.get("answered") for m in messages)
    if answered and "sent" not in result:  # no open round: the answers to the mailbox go out all the same
        result["sent"] = (await deliver_mail(region)).sent
    if mailbox.get("error"):
        message = f"Postfach nicht gelesen: {mailbox['error']} Der nächste Lauf holt es nach."
        logger.error(message)
        return Failed(message=message, data={"mailbox": mailbox, **result})
    return {"mailbox": mailbox, **result} if mailbox.get("configured") else result


async def _ingest(year: int | None, today: dt.date | None, institution: str | None,
                  region: str | None) -> dict[str, object]:
    logger = get_run_logger()
    with app_context(region=region) as ctx:
        wanted, year = year, year_to_process(ctx, year)
        published = drop_folder_year(ctx) if year is None else None
    if year is None and published is not None and wanted in (None, published):
        held = ingest_inbox(published, today, region)  # the round is over: files are kept for staff, nothing else
        logger.info("Version %s ist veröffentlicht: %s Dateien aus dem Eingangsordner aufbewahrt (nicht übernommen), "
                    "%s unbekannt.", published, len(held["held"]), len(held["unknown"]))
        return {"inbox": held}
    if year is None:
        logger.info("Keine offene Abfrage%s: nichts zu tun.", f" {wanted}" if wanted else "")
        return {}
    if institution:
        logger.info("Rückmeldung gemeldet: %s", institution)
    inbox = ingest_inbox(year, today, region)
    sent = await deliver_mail(region)
    draft = rebuild(year, today, region)
    logger.info("Eingang: %s angenommen, %s abgelehnt, %s aufbewahrt, %s unbekannt; %s E-Mails; %s",
                len(inbox["accepted"]), len(inbox["refused"]), len(inbox["held"]), len(inbox["unknown"]), sent.sent,
                f"Version {year} ist veröffentlicht, der Entwurf bleibt unverändert" if draft["published"]
                else f"Entwurf mit {draft['activities']} Aktivitäten")
    with app_context(region=region) as ctx:
        await dashboard.publish_status(ctx, year=year, region=region)
    return {"inbox": inbox, "sent": sent.sent, "draft": draft}
