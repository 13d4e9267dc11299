"""Whether mail to institutions can leave: links and sender must be reachable from outside this machine."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from usecases.settings import Settings

LOCAL_NAMES = ("localhost", "localhost.localdomain")


class UnusableSetup(Exception):
    """Mail would go out through a real relay with links or a sender nobody outside can use (German reasons)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _is_local(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def link_problems(settings: Settings) -> list[str]:
    """Why mail through the configured relay would be useless to its readers; none for the local .eml sink (no
    relay set) or when staff allowed local links on purpose (FKO_ALLOW_LOCAL_LINKS, `--allow-local`)."""
    if not settings.smtp_host or settings.allow_local_links:
        return []
    problems = []
    host = urlsplit(settings.base_url).hostname or ""
    if _is_local(host):
        problems.append(f"FKO_BASE_URL ist {settings.base_url}: Links darauf öffnen sich nur auf diesem Rechner; bitte "
                        "die öffentliche Adresse der Seite eintragen (z. B. https://fko.regionalagentur.example.org)")
    domain = settings.mail_from.rpartition("@")[2]
    if _is_local(domain) or "." not in domain:
        problems.append(f"FKO_MAIL_FROM ist {settings.mail_from}: eine solche Absenderadresse weisen viele Postfächer "
                        "ab, und Antworten kommen nicht an; bitte die Adresse der Regionalagentur eintragen")
    return problems


def ensure_mail_can_leave(settings: Settings) -> None:
    problems = link_problems(settings)
    if problems:
        raise UnusableSetup(problems)
