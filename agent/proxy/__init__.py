"""AntreaProxy: Services and EndpointSlices turned into OVS groups and flows on each node.

`model` (typed Services and EndpointSlices, from Kubernetes JSON), `endpoints` (which endpoints
serve, as kube-proxy chooses them), `groupids` (group ids allocated and reused), `state` (the
pure, incremental computation: changes in, minimal flow and group changes out) are pure;
`proxier` is the agent's edge (informers, coalescing, the FlowClient, packet-ins).
"""
