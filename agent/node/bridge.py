"""br-int over OVSDB: the bridge, tun0 and gw0, and the flow round in the bridge's external_ids.

The bridge runs on the configured datapath with fail_mode=secure and OpenFlow 1.5; tun0 is a
flow-based tunnel port (remote_ip=flow, key=flow) with OpenFlow port 1, gw0 an internal port
with port 2, the configured MTU and the gateway MAC (pinned, so an Open vSwitch restart that
recreates the device keeps it). Everything is created or adopted in one transaction, so a
restarted agent finds its bridge as it left it. The round number is read and bumped in that
same step, before any flow is installed: a later restart never reuses a round whose flows may
still be installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.openflow.cookies import next_round
from pyantrea_ovsdb import (
    AddBridge,
    AddInternalPort,
    AddTunnelPort,
    DatapathType,
    FailMode,
    GetBridge,
    Ovsdb,
    TunnelType,
)

TUNNEL_PORT = "tun0"
TUNNEL_OFPORT = 1
GATEWAY_OFPORT = 2
ROUND_KEY = "roundNum"


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    bridge: str
    datapath_type: DatapathType
    tunnel_type: TunnelType
    gateway: str
    mtu: int


@dataclass(frozen=True, slots=True)
class BridgeState:
    """What setting up the bridge found or made."""

    round: int
    previous_round: int | None
    tunnel_ofport: int
    gateway_ofport: int


async def setup_bridge(ovsdb: Ovsdb, settings: BridgeSettings, gateway_mac: str) -> BridgeState:
    """Create or adopt br-int with tun0 and gw0 and start the next flow round."""
    existing = await ovsdb.execute(GetBridge(settings.bridge))
    previous = _round(existing.external_ids.get(ROUND_KEY)) if existing is not None else None
    current = next_round(previous)
    await ovsdb.transact(
        AddBridge(
            settings.bridge,
            datapath_type=settings.datapath_type,
            fail_mode=FailMode.SECURE,
            external_ids={ROUND_KEY: str(current)},
        ),
        AddTunnelPort(settings.bridge, TUNNEL_PORT, settings.tunnel_type, ofport_request=TUNNEL_OFPORT),
        AddInternalPort(
            settings.bridge,
            settings.gateway,
            mtu=settings.mtu,
            mac=gateway_mac,
            ofport_request=GATEWAY_OFPORT,
        ),
    )
    return BridgeState(
        round=current,
        previous_round=previous,
        tunnel_ofport=await ovsdb.wait_for_ofport(TUNNEL_PORT),
        gateway_ofport=await ovsdb.wait_for_ofport(settings.gateway),
    )


def _round(text: str | None) -> int | None:
    return int(text) if text is not None and text.isdigit() else None
