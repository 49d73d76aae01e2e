"""pyantrea's OVSDB library: bridges, ports and switch settings over python-ovs, used by the agent (its
OVSDB edge) and by anything else that drives an Open vSwitch (the lab, tests).

Operations are lazy command values (`pyantrea_ovsdb.bridge`, `ports`, `system`, `flowexport`)
run in transactions through the `Ovsdb` protocol (`pyantrea_ovsdb.client`), whose implementation
keeps all python-ovs work on one worker thread (`pyantrea_ovsdb.worker`).
"""

from pyantrea_ovsdb.bridge import (
    AddBridge,
    BridgeInfo,
    DatapathType,
    DeleteBridge,
    FailMode,
    GetBridge,
    SetBridgeExternalIds,
)
from pyantrea_ovsdb.client import Ovsdb, OvsdbClient
from pyantrea_ovsdb.command import Command
from pyantrea_ovsdb.errors import (
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
from pyantrea_ovsdb.flowexport import (
    FlowExport,
    GetFlowExport,
    IpfixConfig,
    NetflowConfig,
    SetFlowExport,
    SflowConfig,
)
from pyantrea_ovsdb.ports import (
    AddInternalPort,
    AddSystemPort,
    AddTunnelPort,
    DeletePort,
    FindPorts,
    ListPorts,
    PortInfo,
    TunnelType,
)
from pyantrea_ovsdb.system import GetOvsVersion, SetFlowRestoreWait

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
