"""What a use case needs from the outside world, built once by an entrypoint from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from fko.core.catalog import Catalogs, load_catalogs
from fko.settings import Settings
from fko.storage.database import make_engine
from fko.storage.filestore import FileStore


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    files: FileStore
    templates_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        return cls(
            settings=settings,
            engine=make_engine(settings.effective_database_url),
            files=FileStore(settings.files_dir),
            templates_dir=settings.templates_dir,
        )

    def catalogs(self) -> Catalogs:
        return load_catalogs(self.templates_dir)

    def close(self) -> None:
        self.engine.dispose()
