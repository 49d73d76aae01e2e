"""`pyantctl lab soak`: seeded churn and faults on a running lab, then convergence checks.

churn      the pure, seeded plan of changes (policies, pods, Deployments, labels)
expected   an independent evaluation of NetworkPolicy v1 reachability, from the objects
flowcheck  flow dumps made comparable (counters, rounds and conjunction ids factored out)
faults     the faults the soak injects, behind one small interface
inspect    what a node holds: flows, OVS pod ports, host veths, host-local addresses
run        the soak itself: churn, probes, faults, convergence, checks, summary
"""
