"""`fko concept …`: load an existing concept (import) and edit the concept's own texts in Word (texts)."""

from __future__ import annotations

import typer

from cli import concept_import_cmd, concept_texts_cmd

app = typer.Typer(help="Das Handlungskonzept: vorhandenes Konzept einlesen, Texte in Word bearbeiten.",
                  no_args_is_help=True)
app.command("import")(concept_import_cmd.import_)

texts = typer.Typer(help="Die von der Regionalagentur geschriebenen Abschnitte des Konzepts (Word-Datei).",
                    no_args_is_help=True)
texts.command("export")(concept_texts_cmd.export)
texts.command("import")(concept_texts_cmd.import_)
app.add_typer(texts, name="texts")
