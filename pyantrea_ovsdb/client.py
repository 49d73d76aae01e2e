"""The asyncio face of the OVSDB edge: the `Ovsdb` protocol and its python-ovs implementation.

Coroutines hand commands to the IDL worker thread (`pyantrea_ovsdb.worker`) and await the
result, so no OVSDB work ever runs on the event loop:

    async with await OvsdbClient.connect("unix:/var/run/openvswitch/db.sock") as ovsdb:
        await ovsdb.transact(
            AddBridge("br-int", datapath_type=DatapathType.NETDEV),
            AddTunnelPort("br-int", "tun0", TunnelType.VXLAN, ofport_request=1),
        )
        ofport = await ovsdb.wait_for_ofport("tun0")

Cancelling an awaiting coroutine withdraws a request the worker has not started; a transaction
already sent to ovsdb-server completes or fails on its own.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, Self, TypeVar

from pyantrea_ovsdb.command import Command
from pyantrea_ovsdb.errors import OvsdbConnectionError
from pyantrea_ovsdb.ports import ofport_probe
from pyantrea_ovsdb.worker import IdlWorker

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_OFPORT_TIMEOUT = 5.0


class Ovsdb(Protocol):
    """What the agent needs from OVSDB."""

    async def execute(self, command: Command[T]) -> T:
        """Run one command in a transaction of its own and return its result."""
        ...

    async def transact(self, *commands: Command[Any]) -> list[Any]:
        """Run `commands` in one atomic transaction; return their results in order."""
        ...

    async def wait_for_ofport(self, interface: str, *, timeout: float = DEFAULT_OFPORT_TIMEOUT) -> int:
        """The OpenFlow port number ovs-vswitchd assigned to `interface`, once it has.

        Raises `OfportError` when ovs-vswitchd could not attach the interface,
        `RecordNotFoundError` when there is no such interface and `OvsdbTimeoutError` when no
        number came within `timeout` (is ovs-vswitchd running?).
        """
        ...


class OvsdbClient:
    """`Ovsdb` over python-ovs, with one IDL worker thread per client."""

    def __init__(self, worker: IdlWorker, *, timeout: float) -> None:
        self._worker = worker
        self._timeout = timeout

    @classmethod
    async def connect(cls, remote: str, *, timeout: float = DEFAULT_TIMEOUT) -> OvsdbClient:
        """Connect to ovsdb-server at `remote` (e.g. "unix:/var/run/openvswitch/db.sock").

        Waits up to `timeout` seconds for the first copy of the database, which is also the
        default timeout of every transaction of this client.
        """
        worker = IdlWorker(remote)
        worker.start()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.wrap_future(worker.ready)
        except TimeoutError:
            await asyncio.to_thread(worker.stop)
            raise OvsdbConnectionError(
                f"could not read the database from ovsdb-server at {remote} within {timeout}s: "
                f"{worker.last_error}"
            ) from None
        except BaseException:
            await asyncio.to_thread(worker.stop)
            raise
        return cls(worker, timeout=timeout)

    async def execute(self, command: Command[T]) -> T:
        (result,) = await self.transact(command)
        return result  # type: ignore[no-any-return]

    async def transact(self, *commands: Command[Any]) -> list[Any]:
        return await asyncio.wrap_future(self._worker.transact(commands, timeout=self._timeout))

    async def wait_for_ofport(self, interface: str, *, timeout: float = DEFAULT_OFPORT_TIMEOUT) -> int:
        what = f"ovs-vswitchd to assign an ofport to interface {interface!r} ({timeout}s)"
        future = self._worker.wait_for(ofport_probe(interface), what=what, timeout=timeout)
        return await asyncio.wrap_future(future)

    async def close(self) -> None:
        """Stop the worker thread; pending requests fail with `OvsdbClosedError`."""
        await asyncio.to_thread(self._worker.stop)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
