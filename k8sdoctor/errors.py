"""Errors meant for the user: each carries one clear line and the exit code it ends the run with.

Anything else that escapes is a bug; the CLI reports it as such without a traceback full of locals.
"""

from __future__ import annotations

from k8sdoctor.exitcodes import ExitCode


class UserFacingError(Exception):
    """An error whose message is shown to the user as is, ending the run with ``exit_code``."""

    exit_code: ExitCode = ExitCode.USAGE


class BadInputError(UserFacingError):
    """Malformed or unreadable input: a snapshot, a config file, an option value."""

    exit_code = ExitCode.USAGE


class ClusterUnreachableError(UserFacingError):
    """The cluster could not be reached, or refused our credentials."""

    exit_code = ExitCode.CLUSTER_UNREACHABLE
