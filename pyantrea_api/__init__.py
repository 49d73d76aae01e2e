"""The controlplane API, shared by the controller and its agents (Antrea's `pkg/apis/controlplane`).

What crosses the wire between them, as typed values, and their conversion to and from proto:

- `objects`: internal NetworkPolicies, AddressGroups, AppliedToGroups, group patches and the
  values they are made of; `ipnet` (packed addresses and networks) and `values` (the `value`
  record decorator) underneath.
- `events`: a watch event as one node receives it.
- `reports`: what an agent reports: realizations and its heartbeat (`AgentInfo`).
- `rulenames`: how users name the rules of a policy.
- `server`: the TLS name of the controller's API server.
- `trace`: what the controller asks an agent to trace (`POST /api/v1/trace` of the agent).
- `convert`: every value above to and from its `proto.controlplane.v1beta1` message.

Both sides depend on this package; it depends on nothing of theirs and does no I/O.
"""
