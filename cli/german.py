"""German for what typer and its bundled click write themselves: help headings, usage line, types, errors.

Typer 0.29 bundles its own click without gettext, so these texts cannot come from a message catalog. The few
places are set here, once, before a command line is parsed; `tests/integration/test_cli_german.py` reads the
help of every command and the errors of wrong calls and fails on English words, so a typer upgrade that moves
one of them is noticed (pyproject pins typer to 0.29.x).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import typer
import typer.rich_utils as rich_utils
from typer import _click
from typer._click import exceptions as click_errors
from typer.core import _TyperParameter

HELP_OPTION_TEXT = "Diese Hilfe anzeigen."
OPTIONS_METAVAR = "[OPTIONEN]"
SUBCOMMAND_METAVAR = "BEFEHL [ARGUMENTE]..."
USAGE_PREFIX = "Aufruf: "
# How an argument is named in the usage line, by its parameter name (the rest: the name in capitals).
ARGUMENT_NAMES = {"file": "DATEI"}

# Type names typer shows next to an option ("<int>") and in conversion errors.
TYPE_NAMES = {"int": "Zahl", "float": "Zahl", "str": "Text", "bool": "", "file": "Datei", "directory": "Ordner",
              "path": "Pfad", "date": "Datum", "datetime": "Datum"}
# pydantic's reasons for a value typer could not convert, by error type.
VALUE_REASONS = {
    "int_parsing": "ist keine ganze Zahl",
    "int_from_float": "ist keine ganze Zahl",
    "float_parsing": "ist keine Zahl",
    "bool_parsing": "ist weder ja noch nein",
    "date_parsing": "ist kein Datum",
    "date_from_datetime_parsing": "ist kein Datum",
    "string_too_long": "ist zu lang",
}
_PATH_PROBLEMS = [  # typer's own path checks: (English pattern, German sentence)
    (re.compile(r"^(\w+) (.+) does not exist\.$"), "{kind} {what} gibt es nicht."),
    (re.compile(r"^(\w+) (.+) is a file\.$"), "{what} ist eine Datei, erwartet wird ein Ordner."),
    (re.compile(r"^(\w+) (.+) is a directory\.$"), "{what} ist ein Ordner, erwartet wird eine Datei."),
    (re.compile(r"^(\w+) (.+) is not readable\.$"), "{kind} {what} darf nicht gelesen werden."),
    (re.compile(r"^(\w+) (.+) is not writable\.$"), "{kind} {what} darf nicht geschrieben werden."),
]
_KINDS = {"File": "Die Datei", "Directory": "Der Ordner", "Path": "Der Pfad"}


def install() -> None:
    """Set the German texts; harmless when called twice."""
    rich_utils.DEFAULT_STRING = "[Standard: {}]"
    rich_utils.ENVVAR_STRING = "[Umgebungsvariable: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[Pflichtangabe]"
    rich_utils.DEPRECATED_STRING = "(veraltet) "
    rich_utils.ARGUMENTS_PANEL_TITLE = "Argumente"
    rich_utils.OPTIONS_PANEL_TITLE = "Optionen"
    rich_utils.COMMANDS_PANEL_TITLE = "Befehle"
    rich_utils.ERRORS_PANEL_TITLE = "Fehler"
    rich_utils.ABORTED_TEXT = "Abgebrochen."
    rich_utils.RICH_HELP = "Hilfe: [blue]{command_path} {help_option}[/]"
    rich_utils.OptionHighlighter.highlights = [
        pattern.replace("Usage: ", USAGE_PREFIX) for pattern in rich_utils.OptionHighlighter.highlights]
    if getattr(_click.formatting.HelpFormatter.write_usage, "_german", False):
        return
    _wrap(_click.formatting.HelpFormatter, "write_usage",
          lambda original: lambda self, prog, args="", prefix=None: original(self, prog, args, prefix or USAGE_PREFIX))

    def help_option(original: Callable[..., Any]) -> Callable[..., Any]:
        def german(self: Any, ctx: Any) -> Any:
            option = original(self, ctx)
            if option is not None:
                option.help = HELP_OPTION_TEXT
            return option
        return german

    _wrap(_click.core.Command, "get_help_option", help_option)

    def display_type(original: Callable[..., Any]) -> Callable[..., Any]:
        def german(self: Any, ctx: Any) -> str | None:
            shown = original(self, ctx)
            inner = shown[1:-1] if shown and shown.startswith("<") and shown.endswith(">") else None
            if inner is None or inner not in TYPE_NAMES:
                return shown
            return f"<{TYPE_NAMES[inner]}>" if TYPE_NAMES[inner] else None
        return german

    _wrap(_TyperParameter, "display_type", display_type)


def _wrap(owner: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    wrapped = make(getattr(owner, name))
    wrapped._german = True  # type: ignore[attr-defined]
    setattr(owner, name, wrapped)


def localise(command: Any) -> None:
    """The usage line's placeholders in German, for a command and all its subcommands."""
    command.options_metavar = OPTIONS_METAVAR
    if command.help:  # docstrings are wrapped by hand; the terminal wraps paragraphs itself
        command.help = re.sub(r"(?<!\n)\n(?!\n)", " ", inspect.cleandoc(command.help))
    for param in command.params:
        if param.param_type_name == "argument" and param.metavar is None:
            param.metavar = ARGUMENT_NAMES.get(param.name, param.name.upper())
        if getattr(param, "secondary_opts", None) and param.show_default:  # --send/--no-send: name the flag
            chosen = param.opts[0] if param.default else param.secondary_opts[0]
            param.help = f"{param.help or ''} [Standard: {chosen}]".strip()
            param.show_default = False
    if isinstance(getattr(command, "commands", None), dict):
        command.subcommand_metavar = SUBCOMMAND_METAVAR
        for sub in command.commands.values():
            localise(sub)


def _hint(param: Any) -> str:
    if param is None:
        return ""
    if param.param_type_name == "argument":
        return str(param.display_name_raw).upper()
    return " / ".join(param.opts)


def _value_problem(exc: click_errors.BadParameter) -> str:
    cause = exc.__cause__
    errors = cause.errors() if cause is not None and hasattr(cause, "errors") else []
    if errors:
        error = errors[0]
        value = error.get("input")
        reason = VALUE_REASONS.get(error.get("type", ""))
        if reason is None and error.get("type") in ("enum", "literal_error"):
            expected = error.get("ctx", {}).get("expected", "")
            reason = f"ist nicht erlaubt (erlaubt: {expected.replace(' or ', ' oder ')})"
        if reason is not None:
            return f"„{value}“ {reason}."
    for pattern, sentence in _PATH_PROBLEMS:
        match = pattern.match(exc.message)
        if match:
            what = "„" + match.group(2).strip("'\"") + "“"
            return sentence.format(kind=_KINDS.get(match.group(1), "Der Pfad"), what=what)
    return exc.message


def usage_error_text(exc: click_errors.UsageError) -> str:
    """One German sentence for a wrong call (unknown option, missing value, a value of the wrong kind)."""
    if isinstance(exc, click_errors.MissingParameter):
        if exc.param is not None and exc.param.param_type_name == "argument":
            return f"Es fehlt die Angabe {_hint(exc.param)}."
        return f"Es fehlt die Option {_hint(exc.param)}."
    if isinstance(exc, click_errors.NoSuchOption):
        text = f"Unbekannte Option {exc.option_name}."
        if exc.possibilities:
            text += " Gemeint ist vielleicht: " + ", ".join(sorted(exc.possibilities)) + "."
        return text
    if isinstance(exc, click_errors.BadParameter):
        hint = _hint(exc.param) if exc.param is not None else ""
        problem = _value_problem(exc)
        return f"Ungültiger Wert für {hint}: {problem}" if hint else f"Ungültiger Wert: {problem}"
    message = exc.message
    for pattern, sentence in (
        (r"^No such command '(.+)'\. Did you mean '(.+)'\?$", "Unbekannter Befehl „{0}“. Gemeint ist vielleicht: {1}."),
        (r"^No such command '(.+)'\.$", "Unbekannter Befehl „{0}“."),
        (r"^Missing command\.$", "Es fehlt der Befehl."),
        (r"^Got unexpected extra argument\(s\) \((.+)\)$", "Zu viele Angaben: {0}."),
        (r"^Option '(.+)' requires an argument\.$", "Die Option {0} braucht einen Wert."),
        (r"^Option '(.+)' requires (\d+) arguments\.$", "Die Option {0} braucht {1} Werte."),
        (r"^Option '(.+)' does not take a value\.$", "Die Option {0} nimmt keinen Wert."),
    ):
        match = re.match(pattern, message)
        if match:
            return sentence.format(*match.groups())
    return message


def run(app: typer.Typer, *, prog_name: str, say_error: Callable[[str], None]) -> int:
    """Run the command line with German texts; returns the exit code (2 for a wrong call)."""
    install()
    command = typer.main.get_command(app)
    localise(command)
    try:
        result = command.main(prog_name=prog_name, standalone_mode=False)
    except click_errors.NoArgsIsHelpError:
        return 2  # the help was shown
    except click_errors.UsageError as exc:
        if exc.ctx is not None:
            say_error(f"{usage_error_text(exc)}\n{exc.ctx.get_usage()}\nHilfe: {exc.ctx.command_path} --help")
        else:
            say_error(usage_error_text(exc))
        return exc.exit_code
    except click_errors.ClickException as exc:
        say_error(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        say_error("Abgebrochen.")
        return 1
    return result if isinstance(result, int) else 0
