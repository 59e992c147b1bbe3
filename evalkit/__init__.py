"""evalkit: machine-translation evaluation for historical Chinese → English.

The stages (ingest → translate → score → judge → report) live in one package each;
see DESIGN.md for the data contracts between them.
"""

__version__ = "0.1.0"
