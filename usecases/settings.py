"""Settings from ``FKO_*`` environment variables and ``.env`` (DESIGN §9); built in entrypoints only."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_TEMPLATES = Path(__file__).resolve().parents[1] / "survey_templates"
SECRET_FILE = "secret.key"  # noqa: S105  (a file name, not a secret)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FKO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="database file, uploads, documents, mail sink")
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
    base_url: str = "http://127.0.0.1:8000"
    # Mail through a relay with loopback links or an @localhost sender is refused unless this is set (tests, trials).
    allow_local_links: bool = False
    secret_key: SecretStr | None = None

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

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


def load_settings() -> Settings:
    """Read the settings now (env vars, then ``.env``); a bad value becomes one SettingsError line."""
    try:
        return Settings()
    except ValidationError as exc:
        parts = [f"FKO_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("; ".join(parts)) from exc
