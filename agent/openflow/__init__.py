"""The agent's OpenFlow side: the pipeline, its registers and cookies, flow builders, the client.

- `pipeline`: every table once, with the fixed numbers users grep for (0 Classifier ... 110
  L2ForwardingOut), and what a table does with the packets no flow matches.
- `registers`: every register bit, ct_mark bit and constant the flows share.
- `cookies`: round | category | object id, the cookie every flow carries.
- `builders/`: small pure functions, one kind of flow each, grouped by table feature.
- `features`: the flows of each object the agent owns (pipeline, gateway, tunnel, peer node, pod).
- `client`: the one OpenFlow connection of the agent, desired flows per owner, atomic bundles,
  replay after Open vSwitch restarts, stale-round cleanup after an agent restart.
"""
