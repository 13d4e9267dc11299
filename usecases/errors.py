"""The errors entry points show to staff and institutions: the storage adapter's, passed on unchanged.

Entry points (cli/, portal/, flows/) import them from here, never from storage/ (DESIGN §3).
"""

from __future__ import annotations

from storage.errors import (
    Conflict,
    NotFound,
    SchemaOutdated,
    StorageError,
    is_database_unreachable,
    is_unavailable,
    unavailable_reason,
)

__all__ = ["Conflict", "NotFound", "SchemaOutdated", "StorageError", "is_database_unreachable", "is_unavailable",
           "unavailable_reason"]
