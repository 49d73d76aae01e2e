"""br-int over OVSDB: created or adopted with tun0 and gw0, the round bumped on every start."""

from __future__ import annotations

import asyncio

import pytest

from agent.node.bridge import BridgeSettings, setup_bridge
from pyantrea_ovsdb import DatapathType, GetBridge, ListPorts, OvsdbClient, TunnelType, UnsupportedTunnelError

pytestmark = pytest.mark.ovs

GW_MAC = "0a:58:ac:10:01:01"


def settings(tunnel: TunnelType = TunnelType.VXLAN) -> BridgeSettings:
    return BridgeSettings("br-int", DatapathType.NETDEV, tunnel, "gw0", 1450)


def test_setup_creates_then_adopts_the_bridge_and_bumps_the_round(ovs):
    async def main():
        async with await OvsdbClient.connect(ovs.paths.db_remote) as ovsdb:
            first = await setup_bridge(ovsdb, settings(), GW_MAC)
            second = await setup_bridge(ovsdb, settings(TunnelType.GENEVE), GW_MAC)
            return (
                first,
                second,
                await ovsdb.execute(GetBridge("br-int")),
                await ovsdb.execute(ListPorts("br-int")),
            )

    first, second, bridge, ports = asyncio.run(main())
    assert (first.round, first.previous_round, second.round, second.previous_round) == (1, None, 2, 1)
    assert (second.tunnel_ofport, second.gateway_ofport) == (1, 2)
    assert bridge.fail_mode == "secure" and bridge.datapath_type == "netdev"
    assert "OpenFlow15" in bridge.protocols and bridge.external_ids["roundNum"] == "2"
    by_name = {p.name: p for p in ports}
    assert by_name["tun0"].type == "geneve"
    assert dict(by_name["tun0"].options) == {"key": "flow", "remote_ip": "flow"}
    assert by_name["gw0"].type == "internal" and by_name["gw0"].mac == GW_MAC


def test_stt_is_refused_on_the_userspace_datapath(ovs):
    async def main():
        async with await OvsdbClient.connect(ovs.paths.db_remote) as ovsdb:
            await setup_bridge(ovsdb, settings(TunnelType.STT), GW_MAC)

    with pytest.raises(UnsupportedTunnelError, match=r"netdev.*no STT"):
        asyncio.run(main())
