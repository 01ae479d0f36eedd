"""Process exit codes: the contract CI pipelines depend on (DESIGN.md section 5)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Ran to the end; no finding at or above ``--fail-on``."""
    FINDINGS = 1
    """Ran to the end; at least one finding at or above ``--fail-on``."""
    USAGE = 2
    """Usage error or bad input: unknown flag, unreadable or malformed snapshot, bad config."""
    CLUSTER_UNREACHABLE = 3
    """The cluster could not be reached or refused us (kubeconfig, network, 401)."""
    INCOMPLETE = 4
    """With ``--strict``: a kind could not be listed or an analyzer crashed."""
