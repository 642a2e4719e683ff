"""``python -m ingrained_core`` runs the CLI."""

from ingrained_core.cli import main

main()
