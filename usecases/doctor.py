"""`fko doctor`: whether this installation can run a round, checked part by part (settings, database, key, mail,
page, PDF programs, Prefect). Every finding is a German line; no secret is ever part of one."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from core.catalog import CatalogError
from core.ladder import PolicyError
from core.sheet_spec import SpecError
from core.text import masked
from mail.transport import MailError, SmtpConnection
from storage.database import make_engine, schema_head, schema_revision, sqlite_file
from usecases.context import AppContext
from usecases.errors import is_database_unreachable, unavailable_reason
from usecases.outbox import smtp_settings
from usecases.readiness import link_problems
from usecases.settings import SECRET_FILE, Settings, SettingsError, load_settings
from usecases.site import RegionSite, region_sites

Level = Literal["ok", "warn", "block"]


@dataclass(frozen=True)
class Finding:
    topic: str
    level: Level  # ok; warn: works, but look at it; block: a round cannot run like this
    text: str


def run_checks(*, timeout: float = 10.0) -> list[Finding]:
    """Every check, in the order staff would fix things. Settings that cannot be read stop the rest."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        return [Finding("Einstellungen", "block", str(exc))]
    findings = [_settings(settings)]
    checks: list[Callable[[Settings, float], Finding]] = [_database, _regions, _secret, _links, _smtp, _mailbox,
                                                          _page, _pdf, _prefect]
    findings += [check(settings, timeout) for check in checks]
    return findings


def _settings(settings: Settings) -> Finding:
    files = ", ".join(str(path) for path in settings.config_files) or "keine (nur Umgebungsvariablen)"
    return Finding("Einstellungen", "ok", f"gelesen aus: {files}; Datenordner {settings.data_dir.resolve()} "
                                         f"({settings.origin('data_dir')})")


def _database(settings: Settings, _timeout: float) -> Finding:
    url = masked(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    try:
        path = sqlite_file(engine)
        if path is not None and not path.exists():
            return Finding("Datenbank", "block", f"{url} gibt es nicht: `fko init` ausführen (oder FKO_DATA_DIR / "
                                                 "FKO_DATABASE_URL prüfen)")
        current, head = schema_revision(engine), schema_head()
    except Exception as exc:
        if not is_database_unreachable(exc):
            raise
        return Finding("Datenbank", "block", f"{url} nicht erreichbar ({unavailable_reason(exc)})")
    finally:
        engine.dispose()
    if current is None:
        return Finding("Datenbank", "block", f"{url} ist leer: `fko init` ausführen")
    if current != head:
        return Finding("Datenbank", "block", f"{url} hat den Stand {current}, erwartet {head}: `fko init` ausführen "
                                             "(vorher sichern)")
    return Finding("Datenbank", "ok", f"{url} erreichbar, Stand {current} (aktuell)")


def _regions(settings: Settings, _timeout: float) -> Finding:
    """The database's regions, each with its page's address and templates folder, read as a round reads them."""
    ctx = AppContext.from_settings(settings)
    try:
        if schema_revision(ctx.engine) != schema_head():
            return Finding("Regionen", "warn", "erst nach `fko init` prüfbar")
        sites = region_sites(ctx)
    except Exception as exc:
        if not is_database_unreachable(exc):
            raise
        return Finding("Regionen", "warn", "nicht geprüft: die Datenbank ist nicht erreichbar")
    finally:
        ctx.close()
    problems = []
    for site in sites:
        try:
            site.ctx.catalogs(), site.ctx.spec(), site.ctx.policy()
        except (CatalogError, SpecError, PolicyError) as exc:
            problems.append(f"{site.code}: Vorlagenordner {site.ctx.templates_dir} unbrauchbar ({exc})")
    addresses = [site.ctx.settings.base_url for site in sites]
    problems += [f"{address} ist die Adresse mehrerer Regionen: bitte base_url in deren region.toml unterscheiden"
                 for address in sorted(set(addresses)) if addresses.count(address) > 1]
    codes = [site.code for site in sites]
    if settings.region and settings.region not in codes:
        problems.append(f"FKO_REGION nennt {settings.region!r}, vorhanden: {', '.join(codes)}")

    def templates(site: RegionSite) -> str:
        return f"eigene Vorlagen in {site.ctx.templates_dir}" if site.ctx.templates_dir != ctx.templates_dir \
            else "gemeinsame Vorlagen"

    shown = "; ".join(f"{site.code} ({site.name}): Seite {site.ctx.settings.base_url}/, {templates(site)}"
                      for site in sites)
    if problems:
        return Finding("Regionen", "block", "; ".join(problems))
    return Finding("Regionen", "ok", f"{len(sites)}: {shown}" if len(sites) > 1 else shown or "noch keine")


def _secret(settings: Settings, _timeout: float) -> Finding:
    if settings.secret_key is not None:
        return Finding("Schlüssel", "ok", "FKO_SECRET_KEY ist gesetzt. Sicher aufbewahren: ohne ihn gelten die "
                                          "versandten Tabellen und Links nicht mehr")
    path = settings.data_dir / SECRET_FILE
    if not path.is_file():
        return Finding("Schlüssel", "block", f"{path} fehlt: `fko init` legt ihn an (oder FKO_SECRET_KEY setzen)")
    if path.stat().st_mode & 0o077:
        return Finding("Schlüssel", "warn", f"{path} ist für andere Benutzer lesbar: `chmod 600 {path}`. Mit der "
                                            "Datensicherung aufbewahren")
    return Finding("Schlüssel", "ok", f"{path} vorhanden. Mit der Datensicherung aufbewahren: ohne ihn gelten die "
                                      "versandten Tabellen und Links nicht mehr")


def _links(settings: Settings, _timeout: float) -> Finding:
    problems = link_problems(settings.model_copy(update={"allow_local_links": False,
                                                          "smtp_host": settings.smtp_host or "relay"}))
    if problems:
        level: Level = "warn" if settings.allow_local_links or not settings.smtp_host else "block"
        return Finding("Links und Absender", level, "; ".join(problems))
    return Finding("Links und Absender", "ok", f"Links auf {settings.base_url}, Absender {settings.mail_from}")


def _smtp(settings: Settings, timeout: float) -> Finding:
    relay = smtp_settings(settings)
    if relay is None:
        return Finding("Mailserver", "block", f"FKO_SMTP_HOST ist nicht gesetzt: E-Mails landen nur als Dateien in "
                                              f"{settings.mail_sink_dir}")
    relay = dataclasses.replace(relay, timeout=timeout, retries=1)
    where = f"{relay.host}:{relay.port} ({ {'none': 'ohne TLS', 'starttls': 'STARTTLS', 'tls': 'TLS'}[relay.tls]})"

    async def login() -> None:
        connection = SmtpConnection(relay)
        await connection.open()
        await connection.close()

    try:
        asyncio.run(login())
    except MailError as exc:
        return Finding("Mailserver", "block", f"{where}: {exc}")
    who = f", angemeldet als {relay.user}" if relay.user else ", ohne Anmeldung"
    return Finding("Mailserver", "ok", f"{where} erreichbar{who}")


def _mailbox(settings: Settings, timeout: float) -> Finding:
    """The agency's mailbox (FKO_IMAP_*): optional; without it, sheets sent by mail wait for staff."""
    from mail.imap import MailboxError, open_mailbox
    from usecases.mail_intake import FOLDERS, imap_settings

    mailbox = imap_settings(settings)
    if mailbox is None:
        return Finding("Postfach", "warn", "FKO_IMAP_HOST ist nicht gesetzt: Tabellen, die per E-Mail kommen, und "
                                           "Unzustellbar-Meldungen liest niemand automatisch (`fko ingest`, "
                                           "Eingangsordner)")
    mailbox = dataclasses.replace(mailbox, timeout=timeout)
    try:
        with open_mailbox(mailbox) as box:
            box.select(mailbox.folder)
            waiting = len(box.uids())
            for folder in sorted(set(FOLDERS.values())):
                box.ensure_folder(folder)
    except MailboxError as exc:
        return Finding("Postfach", "block", str(exc))
    tls = {"none": "ohne TLS", "starttls": "STARTTLS", "tls": "TLS"}[mailbox.tls]
    return Finding("Postfach", "ok", f"{mailbox.where} ({tls}), Ordner „{mailbox.folder}“ mit {waiting} Nachrichten; "
                                     f"Ablage in {', '.join(sorted(set(FOLDERS.values())))}")


def _page(settings: Settings, timeout: float) -> Finding:
    url = f"{settings.base_url}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (http/https, checked in settings)
            body = response.read(100).decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        return Finding("Seite", "block", f"{url} antwortet mit {exc.code}: läuft dort `fko portal`?")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Finding("Seite", "block", f"{url} nicht erreichbar ({reason}): `fko portal` starten, Proxy prüfen")
    if body != "ok":
        return Finding("Seite", "block", f"{url} antwortet, aber nicht wie die Seite von fko-cycle")
    return Finding("Seite", "ok", f"{settings.base_url} erreichbar")


def _pdf(_settings: Settings, _timeout: float) -> Finding:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if browser and office:
        return Finding("PDF", "ok", f"Chromium ({browser}) und LibreOffice ({office}) vorhanden")
    missing = [name for name, found in (("Chromium", browser), ("LibreOffice", office)) if not found]
    return Finding("PDF", "warn", f"{' und '.join(missing)} fehlt: die Dokumente entstehen ohne PDF "
                                  "(Debian: apt-get install chromium libreoffice-writer)")


def _prefect(_settings: Settings, timeout: float) -> Finding:
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if not api:
        return Finding("Prefect", "warn", "PREFECT_API_URL ist nicht gesetzt: ohne Prefect-Server täglich `fko remind` "
                                          "(cron oder systemd-Timer) laufen lassen")
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=timeout) as response:  # noqa: S310
            response.read(100)
    except (urllib.error.URLError, OSError) as exc:
        return Finding("Prefect", "block", f"{api} nicht erreichbar ({getattr(exc, 'reason', exc)})")
    return Finding("Prefect", "ok", f"{api} erreichbar")
