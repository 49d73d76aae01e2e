"""`pyantctl lab soak`: seeded churn and faults on a running lab, then convergence checks.

churn      the pure, seeded plan of changes (policies, pods, Deployments, labels, Services,
           ClusterNetworkPolicies)
expected   an independent evaluation of reachability (NetworkPolicy v1, ClusterNetworkPolicy
           tiers, ClusterIP Services), from the objects
flowcheck  flow and group dumps made comparable (counters, rounds, conjunction and group ids
           factored out)
faults     the faults the soak injects, behind one small interface
inspect    what a node holds: flows, groups, OVS pod ports, host veths, host-local addresses
resources  the agents' and the controller's memory and descriptors sampled, and their trend
run        the soak itself: churn, probes, faults, convergence, checks, summary
"""
