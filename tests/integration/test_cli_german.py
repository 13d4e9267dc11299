"""German throughout for staff (issue 24): the help of every command, wrong calls and yes/no questions, as
staff see them in a terminal. Typer's bundled click writes English of its own; cli/german.py replaces it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.main import get_command

from cli import app
from tests.support.german import english_words


def all_commands() -> list[list[str]]:
    def walk(command: object, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(sub, [*path, name])
        return found

    return walk(get_command(app), [])


COMMANDS = all_commands()
COMMAND_NAMES = {name for path in COMMANDS for name in path}


def test_the_help_of_every_command_is_german(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert len(COMMANDS) > 25 and ["doctor"] in COMMANDS and ["cycle", "open"] in COMMANDS
    for path in COMMANDS:
        result = run_fko(*path, "--help")
        assert result.exit_code == 0, (path, result.stderr)
        text = result.stdout
        for heading in ("Aufruf: fko", "Optionen", "Diese Hilfe anzeigen."):
            assert heading in text, (path, heading)
        # Subcommand names in the "Befehle" table are what staff type; the rest must be German.
        words = [w for w in english_words(text) if w not in COMMAND_NAMES]
        assert words == [], (path, words, text)


@pytest.mark.parametrize(("args", "expected"), [
    (["cycle", "open", "--year", "abc"], "Ungültiger Wert für --year: „abc“ ist keine ganze Zahl."),
    (["sheet", "build"], "Es fehlt die Option --institution / -i."),
    (["ingest"], "Es fehlt die Angabe DATEI."),
    (["cycle", "open", "--yeer", "2027"], "Unbekannte Option --yeer. Gemeint ist vielleicht: --year"),
    (["cycle", "opn"], "Unbekannter Befehl „opn“. Gemeint ist vielleicht: open."),
    (["statsu"], "Unbekannter Befehl „statsu“."),
    (["cycle", "open", "--deadline"], "Die Option --deadline braucht einen Wert."),
    (["concept", "import", "/gibt/es/nicht.xlsx", "--check"], "/gibt/es/nicht.xlsx"),
    (["render", "--out", "x", "--year", "2027", "zuviel"], "Zu viele Angaben: zuviel."),
])
def test_a_wrong_call_is_one_german_line_with_the_usage(run_fko, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    result = run_fko(*args)
    assert result.exit_code == 2, result
    assert result.stderr.startswith("Fehler: "), result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def _in_terminal(args: list[str], env: dict[str, str], cwd: Path, answer: str) -> tuple[int, str]:
    """Run `fko` in a pseudo-terminal (as staff do), answer its question once, return exit code and screen."""
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "cli", *args], stdin=child, stdout=child, stderr=child,
                               env={**env, "TERM": "dumb"}, cwd=cwd, close_fds=True)
    os.close(child)
    screen, answered = b"", False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        if not answered and b"[j/N]" in screen:
            os.write(main, answer.encode() + b"\n")
            answered = True
        if process.poll() is not None and not ready:
            break
    if process.poll() is None:  # it never asked, or hangs: stop it, the assertions say what was on screen
        time.sleep(1)
        process.kill()
    process.wait(timeout=30)
    os.close(main)
    return process.returncode, screen.decode("utf-8", "replace")


@pytest.mark.parametrize(("answer", "opened"), [("j", True), ("Ja", True), ("yes", True), ("n", False),
                                                 ("", False)])
def test_a_question_asks_j_n_and_takes_ja(run_fko, fko_env, tmp_path, answer: str, opened: bool) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    # A Sunday as deadline: staff are asked whether they mean it.
    code, screen = _in_terminal(["cycle", "open", "--year", "2027", "--deadline", "10.10.2027", "--no-send",
                                 "--force"], fko_env, tmp_path, answer)
    assert "Diese Frist trotzdem verwenden? [j/N]" in screen, screen
    assert english_words(screen) == [], screen
    status = run_fko("cycle", "status")
    if opened:
        assert code == 0, screen
        assert "Abfrage 2027" in status.stdout
    else:
        assert code == 1, screen
        assert "Abgebrochen: nichts wurde angelegt" in screen
        assert status.exit_code != 0 and "noch keine Abfrage" in status.stderr
