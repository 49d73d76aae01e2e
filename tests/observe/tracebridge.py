"""The bridge the trace tests run `ofproto/trace` on: br-int with tun0 (ofport 1, flow-based
VXLAN), gw0 (2) and two pod ports p3 and p4, as an agent's node has them."""

from __future__ import annotations

from pyantrea_testing.ovs import OvsInstance


def add_trace_bridge(ovs: OvsInstance) -> None:
    ovs.add_bridge("br-int")
    ovs.vsctl(
        "add-port", "br-int", "tun0", "--", "set", "Interface", "tun0", "type=vxlan",
        "options:remote_ip=flow", "options:key=flow", "ofport_request=1",
    )  # fmt: skip
    for name, ofport in (("gw0", 2), ("p3", 3), ("p4", 4)):
        ovs.vsctl(
            "add-port", "br-int", name, "--", "set", "Interface", name, "type=internal",
            f"ofport_request={ofport}",
        )  # fmt: skip
