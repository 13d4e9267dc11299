"""Settings from ``FKO_*`` environment variables and the config files (DESIGN §9); built in entrypoints only.

Where they come from, later ones winning: ``/etc/fko-cycle/fko.env``, the user's ``~/.config/fko-cycle/fko.env``,
``./.env``, then the environment. ``FKO_CONFIG=FILE`` reads that one file instead of the three. A relative path
in a config file counts from that file's folder.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.text import masked, os_reason

BUNDLED_TEMPLATES = Path(__file__).resolve().parents[1] / "survey_templates"
SECRET_FILE = "secret.key"  # noqa: S105  (a file name, not a secret)
SYSTEM_CONFIG = Path("/etc/fko-cycle/fko.env")
CONFIG_NAME = "fko.env"
PATH_SETTINGS = ("data_dir", "templates_dir", "smtp_ca_file", "imap_ca_file", "pg_bin_dir")
_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def default_data_dir() -> Path:
    """Where the data lives when nothing says otherwise, the same from every working folder: the user's data
    folder (``$XDG_DATA_HOME/fko-cycle``, else ``~/.local/share/fko-cycle``; for root ``/var/lib/fko-cycle``)."""
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]) / "fko-cycle"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/fko-cycle")
    return Path.home() / ".local" / "share" / "fko-cycle"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FKO_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="database, files, documents, mail sink")
    database_url: str | None = Field(default=None, description="default: SQLite file in the data dir")
    templates_dir: Path = Field(default=BUNDLED_TEMPLATES, description="survey_templates folder to use")
    region: str | None = Field(default=None, description="region code when a database holds several")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_ca_file: Path | None = None
    smtp_concurrency: int = Field(default=5, ge=1, le=50, description="connections to the relay at once")
    mail_from: str = "fko-cycle@localhost"
    # The agency's mailbox, read for returned sheets and bounces (unset: no mail intake).
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, description="default: 993 with tls, else 143")
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_tls: Literal["none", "starttls", "tls"] = "tls"
    imap_folder: str = "INBOX"
    imap_bounce_folder: str | None = Field(default=None, description="a second folder read for bounces only")
    imap_ca_file: Path | None = None
    # Where the daily staff digest goes; unset: the region's agency address (region.toml, `agency_email`).
    staff_email: str | None = Field(default=None, description="address of the staff digest")
    base_url: str = "http://127.0.0.1:8000"
    # Mail through a relay with loopback links or an @localhost sender is refused unless this is set (tests, trials).
    allow_local_links: bool = False
    secret_key: SecretStr | None = None
    # Where pg_dump and pg_restore are (`fko backup`/`fko restore` on PostgreSQL); unset: the newest
    # /usr/lib/postgresql/*/bin, else the PATH.
    pg_bin_dir: Path | None = None
    # Retention (`fko cleanup`): days after the NEXT round's version was published that a round's raw uploads,
    # mail bodies and .eml sink files are kept. The accepted file behind each published version always stays.
    keep_uploads_days: int = Field(default=365, ge=0, description="days after the next round is published")
    keep_mail_days: int = Field(default=365, ge=0, description="days after the next round is published")
    keep_sink_days: int = Field(default=365, ge=0, description="days after the next round is published")
    # Where each setting came from ("Voreinstellung", "Umgebungsvariable", "FILE, Zeile N") and the files read.
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)
    _files: tuple[Path, ...] = PrivateAttr(default=())

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("muss mit http:// oder https:// beginnen")
        return value.rstrip("/")

    @field_validator("staff_email")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.count("@") != 1 or any(c.isspace() or c in ",;<>" for c in value):
            raise ValueError(f"„{value}“ ist keine einzelne E-Mail-Adresse")
        return value

    def origin(self, name: str) -> str:
        """Where a setting's value came from, for messages."""
        return self._origins.get(name, "Voreinstellung")

    @property
    def config_files(self) -> tuple[Path, ...]:
        """The config files that were read (lowest priority first)."""
        return self._files

    def where(self) -> str:
        """One sentence for a "not set up" message: the data folder and database looked at, and why."""
        files = ", ".join(str(path) for path in self._files) or "keine gefunden"
        database = (self.database_url and masked(self.database_url)) or str((self.data_dir / "fko.db").resolve())
        return (f"Datenordner {self.data_dir.resolve()} ({self.origin('data_dir')}), Datenbank {database}; "
                f"Einstellungsdateien: {files}")

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'fko.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def mail_sink_dir(self) -> Path:
        return self.data_dir / "mail"

    def secret(self) -> bytes:
        """The HMAC key for sheets: ``FKO_SECRET_KEY`` or the key ``fko init`` generated into the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / SECRET_FILE
        try:
            return path.read_text(encoding="ascii").strip().encode()
        except OSError as exc:
            raise SettingsError(
                f"Kein geheimer Schlüssel: FKO_SECRET_KEY setzen oder `fko init` ausführen ({path}).") from exc

    def ensure_secret(self) -> bool:
        """Generate the secret key file when no key is configured; True if one was created."""
        if self.secret_key is not None or (self.data_dir / SECRET_FILE).exists():
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / SECRET_FILE
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n", encoding="ascii")
        return True


@dataclass(frozen=True)
class _Value:
    text: str
    origin: str


def config_candidates(environ: dict[str, str] | None = None) -> list[Path]:
    """The config files looked for, lowest priority first."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("FKO_CONFIG"):
        return [Path(environ["FKO_CONFIG"])]
    user = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "fko-cycle" / CONFIG_NAME
    return [SYSTEM_CONFIG, user, Path.cwd() / ".env"]


def read_config_file(path: Path) -> dict[str, _Value]:
    """The FKO_* settings of one file (NAME=Wert per line, # comments, optional quotes and `export`)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"Die Einstellungsdatei {path} ist kein UTF-8-Text.") from exc
    except OSError as exc:
        raise SettingsError(f"Die Einstellungsdatei {path} kann nicht gelesen werden ({os_reason(exc)}).") from exc
    values: dict[str, _Value] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        where = f"{path}, Zeile {number}"
        if match is None:
            raise SettingsError(f"{where}: „{line[:60]}“ ist keine Einstellung der Form NAME=Wert.")
        key, value = match.group(1), _unquote(match.group(2), where)
        if not key.startswith("FKO_"):
            continue  # other programs' settings (e.g. PREFECT_API_URL for a service's environment)
        name = key[4:].lower()
        if name == "config" or name not in Settings.model_fields:
            known = [f"FKO_{field.upper()}" for field in Settings.model_fields]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Gemeint ist vielleicht {close[0]}." if close else ""
            raise SettingsError(f"{where}: unbekannte Einstellung {key}.{hint}")
        if name in PATH_SETTINGS and value and not Path(value).expanduser().is_absolute():
            value = str(path.parent.resolve() / value)
        values[name] = _Value(value, where)
    return values


def _unquote(value: str, where: str) -> str:
    value = value.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise SettingsError(f"{where}: das schließende {quote} fehlt.")
        rest = value[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise SettingsError(f"{where}: nach dem schließenden {quote} steht noch „{rest}“.")
        return value[1:end]
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def load_settings() -> Settings:
    """Read the settings now (config files, then the environment); a bad value becomes one SettingsError line
    naming the file and line, or the environment variable."""
    values: dict[str, _Value] = {}
    files = [path for path in config_candidates() if path.is_file()]
    if os.environ.get("FKO_CONFIG") and not files:
        raise SettingsError(f"FKO_CONFIG nennt {os.environ['FKO_CONFIG']}, diese Datei gibt es nicht.")
    for path in files:
        values.update(read_config_file(path))
    for key, text in os.environ.items():
        name = key[4:].lower() if key.startswith("FKO_") else ""
        if name in Settings.model_fields:
            values[name] = _Value(text, f"Umgebungsvariable {key}")
    try:
        settings = Settings(**{name: value.text for name, value in values.items()})  # type: ignore[arg-type]
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"])
            origin = values[name].origin if name in values else "Voreinstellung"
            parts.append(f"FKO_{name.upper()} ({origin}): {_german_reason(err)}")
        raise SettingsError("; ".join(parts)) from exc
    settings._origins = {name: value.origin for name, value in values.items()}
    settings._files = tuple(files)
    return settings


def _german_reason(error: dict[str, object]) -> str:
    kind = str(error.get("type", ""))
    given = error.get("input")
    reasons = {"int_parsing": f"„{given}“ ist keine ganze Zahl", "bool_parsing": f"„{given}“ ist weder true noch false",
               "literal_error": f"„{given}“ ist nicht erlaubt (erlaubt: "
                                f"{str((error.get('ctx') or {}).get('expected', '')).replace(' or ', ' oder ')})",
               "greater_than_equal": f"„{given}“ ist zu klein", "less_than_equal": f"„{given}“ ist zu groß"}
    if kind in reasons:
        return reasons[kind]
    message = str(error.get("msg", ""))
    return message.removeprefix("Value error, ")
