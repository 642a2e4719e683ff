"""``python -m ingrained_core`` runs the CLI."""

from .cli import main

main()
