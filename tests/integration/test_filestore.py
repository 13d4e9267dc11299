"""The content-addressed file store keeps raw uploads whole and once."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from storage.filestore import FileStore, FileStoreError


def test_put_stores_by_sha256_and_reads_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    data = b"PK\x03\x04 returned workbook bytes"
    stored = store.put(data, kind="upload")
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.path == tmp_path / "files" / "upload" / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    assert store.get(stored.sha256, kind="upload") == data


def test_same_bytes_are_stored_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = store.put(b"same", kind="upload")
    second = store.put(b"same", kind="upload")
    assert first == second
    assert len([p for p in (tmp_path / "upload").rglob("*") if p.is_file()]) == 1


def test_no_temporary_files_left_after_writes(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    for n in range(5):
        store.put(f"file {n}".encode(), kind="document")
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_disk_full_while_writing_leaves_no_file(tmp_path: Path) -> None:
    # A file-size limit makes the write fail part-way, as a full disk does (works as root, too).
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from storage.filestore import FileStore, FileStoreError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            FileStore(Path({str(tmp_path)!r})).put(b"x" * 100_000, kind="upload")
        except FileStoreError as exc:
            print(exc)
            sys.exit(3)
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 3, completed.stderr
    assert "Datei kann nicht unter" in completed.stdout
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_damaged_file_is_detected(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    stored = store.put(b"original", kind="upload")
    stored.path.write_bytes(b"tampered")
    with pytest.raises(FileStoreError, match="beschädigt"):
        store.get(stored.sha256, kind="upload")


def test_temporaries_of_a_dead_writer_are_swept_but_not_a_running_ones(tmp_path: Path) -> None:
    import os
    import time

    store = FileStore(tmp_path)
    kept = store.put(b"finished", kind="upload")
    old = kept.path.parent / ".tmp-abandoned"
    old.write_bytes(b"half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    fresh = kept.path.parent / ".tmp-writing-now"
    fresh.write_bytes(b"half")
    assert store.sweep_temporaries(older_than_seconds=3600, now=time.time()) == 1
    assert not old.exists() and fresh.exists() and store.get(kept.sha256, kind="upload") == b"finished"
