"""What an agent reports about the policies it enforces: values shared by agent and controller."""

from __future__ import annotations

from controlplane.compute.values import value


@value
class Realization:
    """One policy on one node: the generation installed, or the one that failed and why."""

    policy_name: str
    """The internal policy's name (the Kubernetes policy's UID)."""
    generation: int
    error: str | None


@value
class StatusReport:
    """One node's report: every realization (`full`) or the changes since the last report."""

    node_name: str
    full: bool
    realizations: tuple[Realization, ...]
    forgotten: tuple[str, ...]
    """Policies the node no longer enforces."""
