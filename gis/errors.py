"""Errors a user can act on.

Anything raised as :class:`GisError` is a problem with the user's input, files or options;
the CLI prints its message as one line (no traceback) and exits with status 2. Messages name
the file, row, column or code at fault and what was expected.
"""


class GisError(Exception):
    """A problem with the user's input that they can fix; printed without a traceback."""

    exit_code = 2


class SpecError(GisError, ValueError):
    """A layer, map or rules spec (TOML) that does not follow the documented keys; the message
    names the file, the key and what is allowed."""
