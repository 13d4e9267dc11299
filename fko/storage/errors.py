"""Errors of the storage adapter; the CLI turns them into one clear line for staff."""

from __future__ import annotations


class StorageError(Exception):
    """Base of everything the storage adapter raises on purpose."""


class DatabaseError(StorageError):
    """The database cannot be reached or configured."""


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
