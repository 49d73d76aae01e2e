"""The agent's CNI service: the other end of the `pyantrea-cni` plugin, on a unix socket.

`CniServer` (server.py) serves the gRPC API of proto/cni/v1beta1 through `CniService`
(service.py), which validates each call and serializes calls per container; `PodNetwork`
(pods.py) does ADD, DEL and CHECK with host-local IPAM (ipam.py), the netlink edge and the
`PodDatapath`; ADD waits on the agent's `StartupGate` (gate.py). Before it serves, the server
removes what pods deleted while the agent was down left behind (cleanup.py, deciding with
stale.py over the Pods that nodepods.py lists).
"""

from agent.cniserver.gate import Gate, StartupGate
from agent.cniserver.naming import host_interface_name
from agent.cniserver.server import CniServer

__all__ = ["CniServer", "Gate", "StartupGate", "host_interface_name"]
