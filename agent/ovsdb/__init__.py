"""The agent's OVSDB edge: bridges, ports and switch settings over python-ovs.

Operations are lazy command values (`agent.ovsdb.bridge`, `ports`, `system`, `flowexport`)
run in transactions through the `Ovsdb` protocol (`agent.ovsdb.client`), whose implementation
keeps all python-ovs work on one worker thread (`agent.ovsdb.worker`).
"""

from agent.ovsdb.bridge import (
    AddBridge,
    BridgeInfo,
    DatapathType,
    DeleteBridge,
    FailMode,
    GetBridge,
    SetBridgeExternalIds,
)
from agent.ovsdb.client import Ovsdb, OvsdbClient
from agent.ovsdb.command import Command
from agent.ovsdb.errors import (
    OfportError,
    OvsdbClosedError,
    OvsdbConnectionError,
    OvsdbError,
    OvsdbTimeoutError,
    OvsdbTransactionError,
    RecordExistsError,
    RecordNotFoundError,
    UnsupportedTunnelError,
)
from agent.ovsdb.flowexport import (
    FlowExport,
    GetFlowExport,
    IpfixConfig,
    NetflowConfig,
    SetFlowExport,
    SflowConfig,
)
from agent.ovsdb.podports import PodPortIds
from agent.ovsdb.ports import (
    AddInternalPort,
    AddSystemPort,
    AddTunnelPort,
    DeletePort,
    FindPorts,
    ListPorts,
    PortInfo,
    TunnelType,
)
from agent.ovsdb.system import GetOvsVersion, SetFlowRestoreWait

__all__ = [
    "AddBridge",
    "AddInternalPort",
    "AddSystemPort",
    "AddTunnelPort",
    "BridgeInfo",
    "Command",
    "DatapathType",
    "DeleteBridge",
    "DeletePort",
    "FailMode",
    "FindPorts",
    "FlowExport",
    "GetBridge",
    "GetFlowExport",
    "GetOvsVersion",
    "IpfixConfig",
    "ListPorts",
    "NetflowConfig",
    "OfportError",
    "Ovsdb",
    "OvsdbClient",
    "OvsdbClosedError",
    "OvsdbConnectionError",
    "OvsdbError",
    "OvsdbTimeoutError",
    "OvsdbTransactionError",
    "PodPortIds",
    "PortInfo",
    "RecordExistsError",
    "RecordNotFoundError",
    "SetBridgeExternalIds",
    "SetFlowExport",
    "SetFlowRestoreWait",
    "SflowConfig",
    "TunnelType",
    "UnsupportedTunnelError",
]
