"""Commands on the Open_vSwitch table: flow-restore-wait and the recorded OVS version.

`other_config:flow-restore-wait=true` tells a starting ovs-vswitchd to keep the datapath's
flows and not to touch the OpenFlow tables until the key is cleared: the agent sets it before
it (re)starts Open vSwitch, replays its flows, then clears it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyantrea_ovsdb.command import Command, TxnContext, optional

FLOW_RESTORE_WAIT = "flow-restore-wait"


@dataclass(frozen=True, slots=True)
class SetFlowRestoreWait(Command[None]):
    """Set (True) or clear (False) other_config:flow-restore-wait."""

    enabled: bool

    def run_idl(self, txn: TxnContext) -> None:
        row = txn.open_vswitch()
        if self.enabled:
            row.setkey("other_config", FLOW_RESTORE_WAIT, "true")
        elif FLOW_RESTORE_WAIT in row.other_config:
            row.delkey("other_config", FLOW_RESTORE_WAIT)


@dataclass(frozen=True, slots=True)
class GetOvsVersion(Command[str | None]):
    """The ovs_version column: set by the script that starts OVS (ovs-ctl), None when unset."""

    def run_idl(self, txn: TxnContext) -> str | None:
        return optional(txn.open_vswitch(), "ovs_version")
