"""The node's own networking: br-int with tun0 and gw0, the uplink bridge, peer nodes.

- `local`: this node and its peers as values, read from Node objects.
- `bridge`: br-int, the tunnel port and the gateway port over OVSDB, and the flow round.
- `gateway`: gw0's address and state in the node's namespace.
- `uplink`: the userspace datapath's uplink bridge (br-phy) holding the node's address.
- `peers`: peer nodes from the Node informer: their tunnel and ARP flows, their routes.
"""
