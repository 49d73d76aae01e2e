"""The lab's kubelet role: for the pods bound to one node, what kubelet and a container runtime do.

For each pod: a network namespace (the sandbox), the node's CNI plugins exec'd exactly as a
runtime does (`pyantrea-cni` with the CNI environment and the node's conflist), a server in the
namespace that answers on every declared container port (lab.podserver), and the pod's status
(podIP, hostIP, phase, conditions, container states). Deleting the pod stops its server and runs
CNI DEL. The Node's Ready condition follows the agent's readiness. Run as `python -m lab.kubelet`.
"""
