"""What a use case needs from the outside world, built once by an entrypoint from the settings."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from core.catalog import Catalogs
from core.ladder import Policy
from core.sheet_spec import SheetSpec
from storage.database import make_engine, require_current_schema, session_scope
from storage.filestore import FileStore
from storage.models import Region
from storage.regions import all_regions
from storage.template_folder import load_catalogs, load_policy, load_spec
from usecases.settings import Settings, load_settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    files: FileStore
    templates_dir: Path
    _catalogs: Catalogs | None = field(default=None, repr=False)
    _spec: SheetSpec | None = field(default=None, repr=False)
    _policy: Policy | None = field(default=None, repr=False)
    # What never changes once written (a published version's activities), kept for the context's life.
    memo: dict[tuple[object, ...], object] = field(default_factory=dict, repr=False)
    several: bool = False  # the context of one region of a database holding several

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        return cls(
            settings=settings,
            engine=make_engine(settings.effective_database_url),
            files=FileStore(settings.files_dir),
            templates_dir=settings.templates_dir,
        )

    def catalogs(self) -> Catalogs:
        """Read once per context (a process picks up edited templates when it starts anew)."""
        if self._catalogs is None:
            self._catalogs = load_catalogs(self.templates_dir)
        return self._catalogs

    def spec(self) -> SheetSpec:
        if self._spec is None:
            self._spec = load_spec(self.templates_dir)
        return self._spec

    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy(self.templates_dir)
        return self._policy

    def for_region(self, region: Region, *, several: bool) -> AppContext:
        """This context for one region: its code, its own templates folder (else this one's) and its page's
        address (its own, else FKO_BASE_URL, with /CODE appended when the database holds ``several``)."""
        base_url = region.base_url or (f"{self.settings.base_url}/{region.code}" if several else self.settings.base_url)
        settings = self.settings.model_copy(update={"region": region.code, "base_url": base_url})
        templates = Path(region.templates_dir) if region.templates_dir else self.templates_dir
        return AppContext(settings=settings, engine=self.engine, files=self.files, templates_dir=templates,
                          several=several)

    def documents_dir(self, label: str) -> Path:
        """Where a version's documents are written in the data folder: ``dokumente/<label>``, and with several
        regions ``dokumente/<region>/<label>`` (every region has a version "2026")."""
        base = self.settings.data_dir / "dokumente"
        return (base / self.settings.region if self.several and self.settings.region else base) / label

    def scoped(self) -> AppContext:
        """The context of the region the settings name (or the database's only one); unchanged when the database
        holds several and none is named (a use case that needs one then says which there are)."""
        with session_scope(self.engine) as session:
            regions = all_regions(session=session)
            region = next((r for r in regions if r.code == self.settings.region), None) if self.settings.region \
                else (regions[0] if len(regions) == 1 else None)
            return self.for_region(region, several=len(regions) > 1) if region is not None else self

    def close(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def app_context(**overrides: object) -> Iterator[AppContext]:
    """The context an entry point works with, built from the FKO_* settings now (``overrides``: what options of
    the command change; None changes nothing), on a database that is set up (else SchemaOutdated), and closed on
    the way out."""
    settings = load_settings()
    overrides = {key: value for key, value in overrides.items() if value is not None}
    ctx = AppContext.from_settings(settings.model_copy(update=overrides) if overrides else settings)
    try:
        require_current_schema(ctx.engine)
        yield ctx.scoped()
    finally:
        ctx.close()
