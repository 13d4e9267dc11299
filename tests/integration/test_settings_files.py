"""One data folder (issue 24): where `fko` finds its settings, what it says when nothing is set up, the config
files' mistakes named by file, line and key, and `fko doctor` as an agency's IT runs it before the first round."""

from __future__ import annotations

from pathlib import Path

from tests.support.portal import PortalProcess
from tests.support.smtp import free_port
from usecases.settings import SYSTEM_CONFIG, config_candidates


def _env_without_data_dir(fko_env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in fko_env.items() if k != "FKO_DATA_DIR"}


def test_the_config_files_looked_for_are_system_user_and_working_folder(tmp_path: Path) -> None:
    found = config_candidates({"XDG_CONFIG_HOME": str(tmp_path / "cfg")})
    assert found[0] == SYSTEM_CONFIG == Path("/etc/fko-cycle/fko.env")
    assert found[1] == tmp_path / "cfg" / "fko-cycle" / "fko.env"
    assert found[2] == Path.cwd() / ".env"
    assert config_candidates({"FKO_CONFIG": "/srv/fko.env"}) == [Path("/srv/fko.env")]


def test_without_settings_every_folder_means_the_same_data_and_nothing_is_created(run_fko, fko_env,
                                                                                  tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = _env_without_data_dir(fko_env)
    messages = []
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        result = run_fko("cycle", "status", env=env, cwd=tmp_path / folder)
        assert result.exit_code == 2
        assert f"Nicht eingerichtet: Datenordner {tmp_path / 'data' / 'fko-cycle'} (Voreinstellung)" in result.stderr
        assert "Einstellungsdateien: keine gefunden" in result.stderr and "fko init" in result.stderr
        messages.append(result.stderr)
        assert list((tmp_path / folder).iterdir()) == []  # no second, empty database in ./var
    assert messages[0] == messages[1]


def test_a_user_config_file_points_every_command_at_one_data_folder(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config" / "fko-cycle"
    config.mkdir(parents=True)
    (config / "fko.env").write_text("# Regionalagentur\nFKO_DATA_DIR=daten   # neben dieser Datei\n"
                                    "export FKO_MAIL_FROM=\"fachkraefte@agentur.example.org\"\n", encoding="utf-8")
    env = _env_without_data_dir(fko_env)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert run_fko("init", "--demo", env=env, cwd=tmp_path / "a").exit_code == 0
    assert (config / "daten" / "fko.db").is_file() and (config / "daten" / "secret.key").is_file()
    listed = run_fko("institutions", "list", env=env, cwd=tmp_path / "b")
    assert listed.exit_code == 0 and "IHK Aachen" in listed.stdout
    # ./.env wins over the user's file, an environment variable over both.
    (tmp_path / "b" / ".env").write_text("FKO_DATA_DIR=hier\n", encoding="utf-8")
    here = run_fko("cycle", "status", env=env, cwd=tmp_path / "b")
    assert f"Datenordner {tmp_path / 'b' / 'hier'} ({tmp_path / 'b' / '.env'}, Zeile 1)" in here.stderr
    assert f"Einstellungsdateien: {config / 'fko.env'}, {tmp_path / 'b' / '.env'}" in here.stderr
    there = run_fko("cycle", "status", env={**env, "FKO_DATA_DIR": str(tmp_path / "dort")}, cwd=tmp_path / "b")
    assert f"Datenordner {tmp_path / 'dort'} (Umgebungsvariable FKO_DATA_DIR)" in there.stderr


def test_mistakes_in_a_config_file_are_named_by_file_line_and_key(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = _env_without_data_dir(fko_env)
    env_file = tmp_path / ".env"
    cases = {
        "FKO_DATA_DIR=var\nFKO_SMPT_HOST=mail.example.org\n":
            f"{env_file}, Zeile 2: unbekannte Einstellung FKO_SMPT_HOST. Gemeint ist vielleicht FKO_SMTP_HOST.",
        "\nFKO_SMTP_PORT=fünfundzwanzig\n":
            f"FKO_SMTP_PORT ({env_file}, Zeile 2): „fünfundzwanzig“ ist keine ganze Zahl",
        "FKO_BASE_URL=fko.agentur.example.org\n":
            f"FKO_BASE_URL ({env_file}, Zeile 1): muss mit http:// oder https:// beginnen",
        'FKO_MAIL_FROM="fko@agentur.example.org\n': f"{env_file}, Zeile 1: das schließende \" fehlt.",
        "FKO_SMTP_TLS=ssl\n": f"FKO_SMTP_TLS ({env_file}, Zeile 1): „ssl“ ist nicht erlaubt (erlaubt: 'none', "
                              "'starttls' oder 'tls')",
        "smtp host = mail\n": f"{env_file}, Zeile 1: „smtp host = mail“ ist keine Einstellung der Form NAME=Wert.",
    }
    for text, expected in cases.items():
        env_file.write_text(text, encoding="utf-8")
        result = run_fko("cycle", "status", env=env, cwd=tmp_path)
        assert result.exit_code == 2, (text, result)
        assert expected in result.stderr, (text, result.stderr)
    missing = run_fko("cycle", "status", env={**env, "FKO_CONFIG": str(tmp_path / "fehlt.env")}, cwd=tmp_path)
    assert missing.exit_code == 2 and f"FKO_CONFIG nennt {tmp_path / 'fehlt.env'}, diese Datei gibt es nicht" \
        in missing.stderr


def test_doctor_lists_what_blocks_a_round_and_never_a_secret(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(free_port()), "FKO_SMTP_USER": "fko",
           "FKO_SMTP_PASSWORD": "Sehr-Geheim-4711", "FKO_BASE_URL": f"http://127.0.0.1:{free_port()}",
           "FKO_DATABASE_URL": f"sqlite:///{tmp_path / 'nirgends' / 'fko.db'}"}
    env.pop("PREFECT_API_URL", None)
    result = run_fko("doctor", "--timeout", "3", env=env)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("✗ Datenbank:") and "fko init" in line for line in lines), result.stdout
    assert any(line.startswith("✗ Schlüssel:") for line in lines)
    assert any(line.startswith("✗ Mailserver:") and "Verbindung abgelehnt" in line for line in lines)
    assert any(line.startswith("✗ Seite:") and "fko portal" in line for line in lines)
    assert any(line.startswith("! Prefect:") and "fko remind" in line for line in lines)
    assert "Punkte verhindern eine Abfrage: Datenbank, Schlüssel, Mailserver, Seite." in result.stdout
    assert "Sehr-Geheim-4711" not in result.stdout + result.stderr
    # A database URL's password is masked, and a key given in the environment is never shown.
    secret_env = {**env, "FKO_DATABASE_URL": "postgresql://fko:Pg-Geheim-0815@127.0.0.1:1/fko",
                  "FKO_SECRET_KEY": "Schluessel-Geheim-42"}
    shown = run_fko("doctor", "--timeout", "3", env=secret_env)
    assert "postgresql://fko:***@127.0.0.1:1/fko" in shown.stdout
    for secret in ("Pg-Geheim-0815", "Schluessel-Geheim-42", "Sehr-Geheim-4711"):
        assert secret not in shown.stdout + shown.stderr


def test_doctor_says_ready_when_database_mail_and_page_work(run_fko, fko_env, tmp_path: Path,
                                                            smtp_server) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
           "FKO_BASE_URL": f"http://127.0.0.1:{port}", "FKO_MAIL_FROM": "fachkraefte@agentur.example.org"}
    env.pop("PREFECT_API_URL", None)
    assert run_fko("init", "--demo", env=env).exit_code == 0
    portal = PortalProcess(env, port, tmp_path / "portal.log").start()
    try:
        result = run_fko("doctor", env=env)
    finally:
        portal.stop()
    assert result.exit_code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("✓ Datenbank:") and "(aktuell)" in line for line in lines), result.stdout
    assert any(line.startswith("✓ Schlüssel:") and "Datensicherung" in line for line in lines)
    assert any(line.startswith("✓ Mailserver: 127.0.0.1") for line in lines)
    assert any(line.startswith(f"✓ Seite: http://127.0.0.1:{port} erreichbar") for line in lines)
    # Links to 127.0.0.1 are allowed here on purpose (FKO_ALLOW_LOCAL_LINKS): a warning, not a block.
    assert any(line.startswith("! Links und Absender: FKO_BASE_URL ist") for line in lines)
    assert lines[-1] == "Bereit für eine Abfrage."
