"""`python -m cli` runs the `fko` command."""

from cli import main

main()
