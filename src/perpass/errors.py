"""Errors a user can fix. The CLI prints them as one line and exits 2 (1 for a failed smoke)."""


class UserError(Exception):
    """Bad input: a file, a name, a value. The message says what, where, and how to fix it."""

    exit_code = 2


class RouteFailed(Exception):
    """A reachable route that does not do the job (failed smoke). Exit code 1."""

    exit_code = 1
