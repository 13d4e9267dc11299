"""One piece of maintenance at a time on a data folder: backup, cleanup and erasure never overlap.

A backup copies the database first and the files after; a cleanup or an erasure that removed files in between
would leave the backup without files its database copy names. So each of them holds this lock (a file in the
data folder) while it runs; the others wait for it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "maintenance.lock"


@contextmanager
def maintenance_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data folder's maintenance lock for the block (waiting while another holder runs)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
