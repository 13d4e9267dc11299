"""Entrypoints: Prefect flows and the `fko` CLI. Nothing imports this package."""
