"""The production set-up of the README (issue 24): the shipped systemd units, checked by systemd itself and run
with the example settings, the page behind the shipped nginx example with TLS, and the daily reminder unit."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALLED_FKO = "/opt/fko-cycle/bin/fko"
FKO = str(Path(sys.executable).parent / "fko")


def install_units(folder: Path, env_file: Path, port: int) -> list[Path]:
    """The units as an agency installs them, with this machine's paths where the README's install puts them."""
    units = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text(encoding="utf-8").replace(INSTALLED_FKO, FKO)
        text = text.replace("/etc/fko-cycle/fko.env", str(env_file)).replace("--port 8000", f"--port {port}")
        (folder / unit.name).write_text(text, encoding="utf-8")
        units.append(folder / unit.name)
    return units


def example_settings(folder: Path, base_url: str) -> Path:
    """deploy/fko.env.example with this test's data folder and address (everything else as shipped)."""
    text = (DEPLOY / "fko.env.example").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^FKO_DATA_DIR=.*$", f"FKO_DATA_DIR={folder / 'data'}", text)
    text = re.sub(r"(?m)^FKO_BASE_URL=.*$", f"FKO_BASE_URL={base_url}", text)
    env_file = folder / "fko.env"
    env_file.write_text(text, encoding="utf-8")
    return env_file


def exec_starts(unit: Path) -> list[list[str]]:
    return [line.split("=", 1)[1].split() for line in unit.read_text(encoding="utf-8").splitlines()
            if line.startswith("ExecStart=")]


def test_systemd_accepts_the_shipped_units(tmp_path: Path) -> None:
    units = install_units(tmp_path, example_settings(tmp_path, "https://fko.example.org"), 8000)
    assert {u.name for u in units} == {"fko-portal.service", "fko-serve.service", "fko-remind.service",
                                       "fko-remind.timer", "fko-mail.service", "fko-mail.timer",
                                       "fko-backup.service", "fko-backup.timer"}
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *map(str, units)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    # A unit with a typo is refused by the same check (so the check above means something).
    broken = tmp_path / "broken.service"
    broken.write_text(units[0].read_text(encoding="utf-8").replace(FKO, "/opt/fko-cycl/bin/fko"), encoding="utf-8")
    assert subprocess.run(["systemd-analyze", "verify", "--man=no", str(broken)], capture_output=True,
                          timeout=60).returncode != 0


def nginx_config(folder: Path, http_port: int, https_port: int, page_port: int, cert: Path, key: Path) -> Path:
    site = (DEPLOY / "nginx" / "fko-cycle.conf").read_text(encoding="utf-8")
    site = re.sub(r"(?m)^\s*listen \[::\].*\n", "", site)  # no IPv6 on every test machine
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{page_port}")
    site = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", site)
    (folder / "fko-cycle.conf").write_text(site, encoding="utf-8")
    temp = folder / "nginx-temp"
    temp.mkdir()
    main = folder / "nginx.conf"
    # The test's own main config around the shipped site (workers as root: the test folders are private to root).
    main.write_text(f"""user root;
pid {folder / 'nginx.pid'};
error_log {folder / 'nginx-error.log'};
events {{}}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder / 'fko-cycle.conf'};
}}
""", encoding="utf-8")
    return main


def _wait_for(url: str, **options: object) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=2, **options)  # type: ignore[arg-type]
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_page_unit_behind_the_nginx_example_answers_over_https(tmp_path: Path, fko_env: dict[str, str]) -> None:
    page_port, http_port, https_port = free_port(), free_port(), free_port()
    base_url = f"https://127.0.0.1:{https_port}"
    env_file = example_settings(tmp_path, base_url)
    units = {u.name: u for u in install_units(tmp_path, env_file, page_port)}
    # As the unit runs it: only its EnvironmentFile (read by fko itself here through FKO_CONFIG), no FKO_* else.
    env = {k: v for k, v in fko_env.items() if not k.startswith("FKO_")} | {"FKO_CONFIG": str(env_file)}
    init = subprocess.run([FKO, "init", "--demo"], env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "data" / "fko.db").is_file()

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    trusted = ssl.create_default_context(cafile=str(cert))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    config = nginx_config(tmp_path, http_port, https_port, page_port, cert, key)
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

    [portal_command] = exec_starts(units["fko-portal.service"])
    portal = subprocess.Popen(portal_command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(f"http://127.0.0.1:{page_port}/healthz").text == "ok"
        health = _wait_for(f"{base_url}/healthz", verify=trusted)
        assert (health.status_code, health.text) == (200, "ok")
        home = httpx.get(f"{base_url}/", verify=trusted, timeout=10)
        assert home.status_code == 200 and "Region Aachen" in home.text
        plain = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=10)
        assert plain.status_code == 301 and plain.headers["location"].startswith("https://")
        # An upload above the page's limit gets the page's German answer, not the proxy's.
        big = httpx.post(f"{base_url}/r/unbekannt/hochladen", verify=trusted, timeout=30,
                         files={"datei": ("gross.xlsx", b"0" * (12 * 1024 * 1024))})
        assert big.status_code == 413 and "Die Datei ist zu groß" in big.text, (big.status_code, big.text[:300])
        # fko doctor, run with the same settings, finds the page at its public address.
        doctor = subprocess.run([FKO, "doctor", "--timeout", "5"], env={**env, "SSL_CERT_FILE": str(cert)},
                                capture_output=True, text=True, timeout=120)
        assert f"✓ Seite: {base_url} erreichbar" in doctor.stdout, doctor.stdout
    finally:
        proxy.terminate()
        portal.terminate()
        proxy.wait(timeout=10)
        portal.wait(timeout=10)


def test_the_daily_reminder_unit_runs_and_no_round_counts_as_success(tmp_path: Path, fko_env: dict[str, str]) -> None:
    env_file = example_settings(tmp_path, "https://fko.example.org")
    units = {u.name: u for u in install_units(tmp_path, env_file, free_port())}
    env = {k: v for k, v in fko_env.items() if not k.startswith("FKO_")} | {"FKO_CONFIG": str(env_file)}
    assert subprocess.run([FKO, "init", "--demo"], env=env, capture_output=True, timeout=120).returncode == 0
    unit = units["fko-remind.service"].read_text(encoding="utf-8")
    allowed = {0} | {int(code) for code in re.findall(r"(?m)^SuccessExitStatus=(.+)$", unit)[0].split()}
    commands = exec_starts(units["fko-remind.service"])
    assert [c[1:] for c in commands] == [["remind"], ["mail", "send"]]
    remind = subprocess.run(commands[0], env=env, capture_output=True, text=True, timeout=120)
    assert remind.returncode == 3 and remind.returncode in allowed, remind.stderr  # no round open yet
    assert "keine" in (remind.stdout + remind.stderr).lower()
    send = subprocess.run(commands[1], env=env, capture_output=True, text=True, timeout=120)
    assert send.returncode in allowed and "Keine E-Mails zu versenden." in send.stdout
    timer = units["fko-remind.timer"].read_text(encoding="utf-8")
    assert "OnCalendar=*-*-* 07:00:00 Europe/Berlin" in timer and "Persistent=true" in timer
    # The mailbox unit runs `fko mail fetch`; without FKO_IMAP_HOST it says what to set (exit 2, no traceback).
    assert [c[1:] for c in exec_starts(units["fko-mail.service"])] == [["mail", "fetch"]]
    fetch = subprocess.run(exec_starts(units["fko-mail.service"])[0], env=env, capture_output=True, text=True,
                           timeout=120)
    assert fetch.returncode == 2 and "Kein Postfach eingestellt: FKO_IMAP_HOST" in fetch.stderr
    mail_timer = units["fko-mail.timer"].read_text(encoding="utf-8")
    assert "OnCalendar=*:0/10" in mail_timer and "Persistent=true" in mail_timer
