"""Words that must not reach staff from the `fko` command: typer/click's own English, internal names of mail kinds,
states and fields. `run_fko` checks every output against it, and the help of every command is read in full."""

from __future__ import annotations

import re

ENGLISH = re.compile(
    r"\b(Usage|Options|Arguments|Commands|Error|Invalid value|Missing (?:option|argument|parameter)|required|"
    r"default|Aborted|Show this message|No such (?:option|command|file)|does not exist|Try '|Did you mean|"
    r"Got unexpected|is not a valid|Input should|unable to parse|"
    r"invitation|reminder_deputy|reminder|escalation|receipt|refusal|no_changes|deadline_moved|"
    r"pending|sending|cancelled|draft|published|primary|deputy|"
    r"field_of_action|target_groups|partners|start|end|status|title|description|contact_email|"
    r"Traceback|Exception|None|True|False|\[y/N\]|\[Y/n\])\b")
# Where an English word is right: options and commands staff type, addresses, file names, code spans.
_ALLOWED = re.compile(r"--[\w-]+|`[^`]*`|\S+@\S+|https?://\S+|(?:[\w.-]*/)+[\w.-]*|\bfko(?: [a-z][\w-]*)+|"
                      r"\b[\w-]+\.(?:xlsx|xlsm|xls|ods|csv|docx|html|md|pdf|eml|toml|env|key|db)\b|"
                      r"\b[A-Z]+_[A-Z_]+\b")


def english_words(text: str) -> list[str]:
    """The English words staff would read in ``text`` (after leaving out options, paths, addresses, code)."""
    return sorted({match.group(0) for match in ENGLISH.finditer(_ALLOWED.sub(" ", text))})
