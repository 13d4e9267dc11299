"""Whether the database is set up and on the schema this code expects, before an entry point works on it."""

from __future__ import annotations

from storage.database import require_current_schema
from usecases.context import AppContext


def check_schema(ctx: AppContext) -> None:
    """Raise SchemaOutdated (none yet, or older) or the unreachable error; return quietly when current."""
    require_current_schema(ctx.engine)
