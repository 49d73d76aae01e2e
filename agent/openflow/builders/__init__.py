"""Flow builders: small pure functions, each returning the flows of one kind as `Flow` values.

Nothing here sends anything or keeps state; callers pass every value a flow depends on (ports,
addresses, MACs, the cookie). Modules follow the pipeline's features: `classifier`,
`spoofguard`, `arp`, `conntrack`, `service`, `l3`, `l2`, `policy`, `metrics` and `misses`.
"""
