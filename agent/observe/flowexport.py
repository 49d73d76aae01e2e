"""Open vSwitch's own flow export on br-int, from the agent's `flowExport` configuration.

With `enable`, ovs-vswitchd samples one packet in `sampling` (IPFIX, sFlow) or reports every
flow (NetFlow) to the collector at `collectorAddress`; IPFIX records go out as packets are
sampled (no record cache). Without it, every export is switched off, also one an earlier
configuration left on the bridge: the agent owns br-int's export settings.
"""

from __future__ import annotations

import logging

from pyantrea_config.agent import FlowExportConfig, FlowExportProtocol
from pyantrea_ovsdb import FlowExport, IpfixConfig, NetflowConfig, Ovsdb, SetFlowExport, SflowConfig

log = logging.getLogger(__name__)


def flow_export(config: FlowExportConfig) -> FlowExport:
    """The bridge's export settings the configuration asks for."""
    if not config.enable:
        return FlowExport()
    targets = (str(config.collector_address),)
    if config.protocol is FlowExportProtocol.IPFIX:
        return FlowExport(ipfix=IpfixConfig(targets=targets, sampling=config.sampling))
    if config.protocol is FlowExportProtocol.NETFLOW:
        return FlowExport(netflow=NetflowConfig(targets=targets))
    return FlowExport(sflow=SflowConfig(targets=targets, sampling=config.sampling))


async def configure_flow_export(ovsdb: Ovsdb, bridge: str, config: FlowExportConfig) -> None:
    await ovsdb.execute(SetFlowExport(bridge, flow_export(config)))
    if config.enable:
        sampling = "" if config.protocol is FlowExportProtocol.NETFLOW else f", 1 packet in {config.sampling}"
        log.info("%s: %s export to %s%s", bridge, config.protocol.value, config.collector_address, sampling)
