"""Packet-ins from the bridge for the agent's parts that answer them (AntreaProxy's rejects, the
DNS answers of domain-name rules): one OpenFlow connection each, made again when it drops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from fastpath.connection import OpenFlowConnection, OpenFlowError
from fastpath.decode import PacketIn

log = logging.getLogger(__name__)

PacketInHandler = Callable[[PacketIn, OpenFlowConnection], Awaitable[object]]
"""Takes one packet-in and the connection to answer on (a packet-out)."""

RECONNECT_SECONDS = 1.0


async def serve_packet_ins(mgmt_socket: str, table: int, handle: PacketInHandler, *, what: str) -> None:
    """Forever: every packet-in sent from `table` to `handle`; `what` names the caller in logs."""
    while True:
        try:
            conn = await OpenFlowConnection.connect(mgmt_socket)
        except (OSError, TimeoutError, OpenFlowError) as exc:
            log.debug("%s: packet-in connection failed: %s", what, exc)
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        try:
            queue = await conn.receive_packet_ins()
            while not conn.closed.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, conn.closed}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                packet_in = getter.result()
                if packet_in.table == table:
                    await handle(packet_in, conn)
        except (ConnectionError, OpenFlowError, TimeoutError) as exc:
            log.debug("%s: packet-in connection lost: %s", what, exc)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()
        await asyncio.sleep(0.2)
