"""Which parts of the Open_vSwitch database a client replicates, and fetching their schema.

The schema comes from the server itself (`get_schema`), so the client always matches the
ovsdb-server it talks to. Only the tables and columns below are monitored: the IDL keeps a
replica of exactly these, and commands may read and write nothing else.
"""

from __future__ import annotations

import ovs.jsonrpc
import ovs.stream
import ovs.util
from ovs.db.idl import SchemaHelper

from pyantrea_ovsdb.errors import OvsdbConnectionError

DATABASE = "Open_vSwitch"

COLUMNS: dict[str, tuple[str, ...]] = {
    "Open_vSwitch": ("bridges", "other_config", "ovs_version"),
    "Bridge": (
        "name", "ports", "datapath_type", "fail_mode", "protocols", "external_ids", "other_config",
        "ipfix", "netflow", "sflow",
    ),
    "Port": ("name", "interfaces"),
    "Interface": (
        "name", "type", "options", "ofport", "ofport_request", "mtu_request", "mac", "mac_in_use",
        "external_ids", "error",
    ),
    "IPFIX": (
        "targets", "sampling", "obs_domain_id", "obs_point_id", "cache_active_timeout", "cache_max_flows",
    ),
    "NetFlow": ("targets", "active_timeout", "engine_type", "engine_id", "add_id_to_interface"),
    "sFlow": ("targets", "sampling", "polling", "header", "agent"),
}  # fmt: skip

_CONNECT_TIMEOUT_MS = 2000


def fetch_schema(remote: str) -> SchemaHelper:
    """Ask the server at `remote` for the database schema and register the columns above.

    Blocks (worker thread only). Raises `OvsdbConnectionError` when the server cannot be
    reached or does not answer with a schema.
    """
    error, stream = ovs.stream.Stream.open_block(ovs.stream.Stream.open(remote), _CONNECT_TIMEOUT_MS)
    if error:
        reason = ovs.util.ovs_retval_to_string(error)
        raise OvsdbConnectionError(f"cannot connect to ovsdb-server at {remote}: {reason}")
    rpc = ovs.jsonrpc.Connection(stream)
    try:
        error, reply = rpc.transact_block(ovs.jsonrpc.Message.create_request("get_schema", [DATABASE]))
    finally:
        rpc.close()
    if error:
        reason = ovs.util.ovs_retval_to_string(error)
        raise OvsdbConnectionError(f"ovsdb-server at {remote} did not send its schema: {reason}")
    if reply.error:
        raise OvsdbConnectionError(f"ovsdb-server at {remote} refused get_schema: {reply.error}")
    helper = SchemaHelper(schema_json=reply.result)
    for table, columns in COLUMNS.items():
        helper.register_columns(table, list(columns))
    return helper
