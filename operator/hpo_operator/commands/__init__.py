"""Subcommands of the ``hpo`` command line, one module each."""
