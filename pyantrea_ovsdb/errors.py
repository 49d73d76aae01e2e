"""The exceptions of the OVSDB library: every failure a client can see from ovsdb-server."""

from __future__ import annotations


class OvsdbError(Exception):
    """Base of every error raised by `pyantrea_ovsdb`."""


class OvsdbConnectionError(OvsdbError):
    """ovsdb-server could not be reached, or its contents not read, within the timeout."""


class OvsdbTimeoutError(OvsdbError, TimeoutError):
    """A transaction or a wait did not complete within its timeout."""


class OvsdbClosedError(OvsdbError):
    """The client was closed while the request was pending, or before it was made."""


class OvsdbTransactionError(OvsdbError):
    """ovsdb-server rejected a transaction; the message carries its error."""


class RecordNotFoundError(OvsdbError, LookupError):
    """A bridge or port named by a command does not exist."""


class RecordExistsError(OvsdbError):
    """A record exists where a command needs it not to (may_exist=False, or another bridge)."""


class OfportError(OvsdbError):
    """ovs-vswitchd could not attach an interface (its ofport is -1); the message says why."""


class UnsupportedTunnelError(OvsdbError, ValueError):
    """The tunnel type cannot work on the bridge's datapath."""
