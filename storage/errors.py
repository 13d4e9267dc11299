"""Errors of the storage adapter; the CLI turns them into one clear line for staff."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError


class StorageError(Exception):
    """Base of everything the storage adapter raises on purpose."""


class DatabaseError(StorageError):
    """The database cannot be reached or configured."""


class DatabaseUnreachable(DatabaseError):
    """The database server did not answer (or SQLite stayed locked); ``str(exc)`` is the driver's reason."""


class SchemaOutdated(StorageError):
    def __init__(self, current: str | None, head: str | None) -> None:
        self.current = current
        self.head = head
        super().__init__(
            "Die Datenbank ist noch nicht eingerichtet." if current is None
            else f"Die Datenbank hat den Stand {current}, erwartet wird {head}."
        )


class NotFound(StorageError):
    """A record asked for by a natural key does not exist."""


class Conflict(StorageError):
    """The change would break a rule of the data (e.g. changing a published version)."""


def is_database_unreachable(exc: BaseException) -> bool:
    """The database server cannot be reached, or (SQLite) stayed locked longer than the busy timeout."""
    return isinstance(exc, (OperationalError, InterfaceError, DatabaseUnreachable))


def is_unavailable(exc: BaseException) -> bool:
    """The database or the disk is not there for the moment (unreachable, locked, full): try again later."""
    return is_database_unreachable(exc) or isinstance(exc, OSError) or (
        isinstance(exc, StorageError) and not isinstance(exc, (NotFound, Conflict, SchemaOutdated)))


def unavailable_reason(exc: BaseException) -> str:
    """One line for the staff log: the driver's first line, never a traceback or a connection string."""
    if isinstance(exc, DatabaseUnreachable):
        return str(exc)
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"{type(cause).__name__}: {first}"[:300]
