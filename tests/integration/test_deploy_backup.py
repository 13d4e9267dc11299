"""The shipped backup unit (deploy/systemd/fko-backup.service): its commands, run as systemd would with the example
settings, write a backup that `fko restore --check` accepts, prune old ones and apply the retention periods."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.integration.test_deploy import FKO, example_settings, exec_starts, install_units
from tests.support.smtp import free_port

BACKUPS = "/var/backups/fko-cycle"


def test_the_nightly_backup_unit_backs_up_prunes_and_cleans_up(tmp_path: Path, fko_env: dict[str, str]) -> None:
    env_file = example_settings(tmp_path, "https://fko.example.org")
    units = {u.name: u for u in install_units(tmp_path, env_file, free_port())}
    backups = tmp_path / "backups"
    backups.mkdir()
    unit = units["fko-backup.service"].read_text(encoding="utf-8")
    assert f"ReadWritePaths=/var/lib/fko-cycle {BACKUPS}" in unit and "UMask=0077" in unit
    commands = [[part.replace(BACKUPS, str(backups)) for part in command]
                for command in exec_starts(units["fko-backup.service"])]
    assert [c[1:3] for c in commands] == [["backup", "--out"], [str(backups), "-maxdepth"], ["cleanup"]]
    env = {k: v for k, v in fko_env.items() if not k.startswith("FKO_")} | {"FKO_CONFIG": str(env_file)}
    assert subprocess.run([FKO, "init", "--demo"], env=env, capture_output=True, timeout=120).returncode == 0
    old = backups / "fko-sicherung-2020-01-01-023000.tar.gz"
    old.write_bytes(b"alt")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    for command in commands:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    (archive,) = backups.glob("fko-sicherung-*.tar.gz")
    assert archive != old and oct(archive.stat().st_mode & 0o777) == "0o600"
    check = subprocess.run([FKO, "restore", str(archive), "--check"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 0 and "vollständig und unversehrt" in check.stdout
    timer = units["fko-backup.timer"].read_text(encoding="utf-8")
    assert "OnCalendar=*-*-* 02:30:00 Europe/Berlin" in timer and "Persistent=true" in timer
