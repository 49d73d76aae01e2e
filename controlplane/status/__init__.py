"""Realization status: what agents report, what the controller concludes per policy, and where
it is written.

Agents send `pyantrea_api.reports`; `realization.RealizationTracker` counts, per internal
policy, the nodes of its span that have installed its current generation; `board.StatusBoard`
turns that, with the Kubernetes policies the informer holds, into a `PolicyStatus` per
NetworkPolicy (Pending, Realizing, Realized, Failed); `writer.StatusWriter` writes those to the
NetworkPolicies' status or annotation, coalesced.
"""
