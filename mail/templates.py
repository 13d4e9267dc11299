"""Render the German mail templates of survey_templates/mail/ (plain text and HTML for each kind)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from core.text import squash_spaces

KINDS = ("invitation", "reminder", "reminder_deputy", "escalation", "receipt", "refusal", "no_changes",
         "deadline_moved")  # mails to institutions
STAFF_KINDS = ("staff_digest", "staff_invite")  # mails to the agency's staff
REPLY_KINDS = ("mail_unclear",)  # answers to whoever wrote to the agency's mailbox (no institution known)
ALL_KINDS = KINDS + STAFF_KINDS + REPLY_KINDS
# What staff read for each kind (outbox, test report, status).
KIND_LABELS = {"invitation": "Einladung", "reminder": "Erinnerung", "reminder_deputy": "Erinnerung an die Vertretung",
               "escalation": "Eskalation an die Leitung", "receipt": "Eingangsbestätigung",
               "refusal": "Ablehnung einer Datei", "no_changes": "Bestätigung „Keine Änderungen“",
               "deadline_moved": "Neue Frist", "staff_digest": "Tagesübersicht für das Team",
               "staff_invite": "Zugang zum internen Bereich",
               "mail_unclear": "Antwort auf eine nicht zugeordnete E-Mail"}


class MailTemplateError(Exception):
    """A template is missing or uses a value that was not given (StrictUndefined)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MailRenderer:
    def __init__(self, templates_dir: Path) -> None:
        self.environment = Environment(
            loader=FileSystemLoader(templates_dir / "mail"),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False,
                                         default=False),
            keep_trailing_newline=True,
        )

    def render(self, kind: str, context: dict[str, Any]) -> Rendered:
        if kind not in ALL_KINDS:
            raise MailTemplateError(f"unknown mail kind {kind!r}")
        try:
            subject = self.environment.get_template(f"{kind}.subject.j2").render(context)
            text = self.environment.get_template(f"{kind}.txt.j2").render(context)
            html = self.environment.get_template(f"{kind}.html.j2").render({**context, "subject": subject})
        except TemplateNotFound as exc:
            raise MailTemplateError(f"mail template missing: {exc.name}") from exc
        except Exception as exc:  # jinja2.UndefinedError and template syntax errors
            raise MailTemplateError(f"mail template {kind}: {exc}") from exc
        # A subject is one line: newlines from data must never add header lines.
        return Rendered(subject=squash_spaces(subject), text=text.strip() + "\n", html=html)
