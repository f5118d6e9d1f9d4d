"""``python -m gis`` runs the command line."""

from gis.cli import main

main()
