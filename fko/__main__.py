"""`python -m fko` runs the CLI."""

from fko.flows.cli import main

main()
