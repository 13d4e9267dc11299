"""Adapter: the project database (SQLModel tables, migrations, repository functions) and the file store."""
