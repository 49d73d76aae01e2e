"""The error `pyantctl` reports as one line, without a traceback: what a user can act on."""

from __future__ import annotations


class CliError(Exception):
    """A command cannot do what it was asked; the message says why and, if possible, what to do."""
