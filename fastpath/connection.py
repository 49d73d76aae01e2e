"""An asyncio OpenFlow 1.5 connection to one bridge's management socket.

It negotiates OpenFlow 1.5, answers echo requests, pairs replies with requests by xid, fails a
request as soon as an OFPT_ERROR names its xid, and never waits forever (every request has a
timeout). `apply_bundle` is all-or-nothing: Open vSwitch drops a BUNDLE_ADD it cannot decode
and would still commit the rest, so the bundle is opened, filled, followed by a barrier, and
committed only if no error arrived for any of its messages; otherwise it is discarded and
BundleError names the flow that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from fastpath import _group
from fastpath import _messages as msg
from fastpath._flow import Flow
from fastpath._group import Group
from fastpath.decode import (
    FlowStats,
    GroupStats,
    OpenFlowErrorInfo,
    PacketIn,
    decode_error,
    decode_flow_desc_cookies,
    decode_flow_desc_reply,
    decode_group_desc_reply,
    decode_group_stats_reply,
    decode_header,
    decode_packet_in,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
# Flows encoded per write while a bundle streams out: small enough that Open vSwitch starts
# working on the first batch while the next is encoded, large enough to keep syscalls few.
_BATCH = 1024
_HIGH_WATER = 1 << 20
_MULTIPART_MORE = 1


class OpenFlowError(RuntimeError):
    """Open vSwitch answered a request with OFPT_ERROR."""

    def __init__(self, message: str, error: OpenFlowErrorInfo | None = None) -> None:
        super().__init__(message)
        self.error = error


class BundleError(OpenFlowError):
    """A bundle was refused and discarded; `failures` pairs each failing flow (or group) with its error."""

    def __init__(self, message: str, failures: list[tuple[Flow | Group | None, OpenFlowErrorInfo]]) -> None:
        super().__init__(message, failures[0][1] if failures else None)
        self.failures = failures


class ConnectionLost(ConnectionError):
    """The switch closed the connection (or it broke) with requests outstanding."""


@dataclass
class _Bundle:
    """Xid range of one bundle's messages, to name the flow or group behind an error.

    Messages go in this order: group adds and modifies (`before`, one item per message: a big
    group takes several), flow adds and modifies, flow deletes, group deletes (`after`): a
    group exists before a flow uses it and outlives the flows that used it.
    """

    first_xid: int
    flows: list[Flow]
    before: list[Group] = field(default_factory=list)
    after: list[Group] = field(default_factory=list)
    errors: list[tuple[Flow | Group | None, OpenFlowErrorInfo | None]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.before) + len(self.flows) + len(self.after)

    def flow_for(self, xid: int) -> Flow | Group | None:
        index = (xid - self.first_xid) & 0xFFFFFFFF
        if index < len(self.before):
            return self.before[index]
        index -= len(self.before)
        if index < len(self.flows):
            return self.flows[index]
        index -= len(self.flows)
        return self.after[index] if index < len(self.after) else None


class OpenFlowConnection(asyncio.Protocol):
    """Use `await OpenFlowConnection.connect(path)`; close with `await conn.close()`."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._multipart: dict[int, list[bytes]] = {}
        self._bundles: list[_Bundle] = []
        self._xids = itertools.count(1)
        self._bundle_ids = itertools.count(1)
        self._hello: asyncio.Future[bytes] = self._loop.create_future()
        self._writable = asyncio.Event()
        self._writable.set()
        self.closed: asyncio.Future[None] = self._loop.create_future()
        self.datapath_id: int | None = None
        self.packet_ins: asyncio.Queue[PacketIn] | None = None

    # -- connecting ----------------------------------------------------------------------------

    @classmethod
    async def connect(cls, path: str | Path, *, timeout: float = DEFAULT_TIMEOUT) -> OpenFlowConnection:
        """Connect to a bridge's `.mgmt` socket and negotiate OpenFlow 1.5."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            _, conn = await loop.create_unix_connection(cls, str(path))
            try:
                conn._send(msg.encode_hello(conn._next_xid()))
                hello = await conn._hello
                if decode_header(hello).version < msg.VERSION:
                    raise OpenFlowError(
                        f"{path} does not speak OpenFlow 1.5 (enable it in the bridge's protocols)"
                    )
                reply = await conn.request(msg.encode_simple(msg.OFPT_FEATURES_REQUEST, conn._next_xid()))
                (conn.datapath_id,) = struct.unpack_from("!Q", reply, 8)
            except BaseException:
                conn.abort()
                raise
        return conn

    def _next_xid(self) -> int:
        return next(self._xids) & 0xFFFFFFFF

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass, so no isinstance check).
        self._transport = cast(asyncio.Transport, transport)
        self._transport.set_write_buffer_limits(high=_HIGH_WATER)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        error = ConnectionLost(f"OpenFlow connection lost: {exc or 'closed by the switch'}")
        for future in [self._hello, *self._pending.values()]:
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._writable.set()
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        offset = 0
        while len(buf) - offset >= 8:
            length = (buf[offset + 2] << 8) | buf[offset + 3]
            if length < 8:
                self.abort()
                return
            if len(buf) - offset < length:
                break
            self._dispatch(bytes(buf[offset : offset + length]))
            offset += length
        del buf[:offset]

    def _dispatch(self, message: bytes) -> None:
        header = decode_header(message)
        if header.type == msg.OFPT_HELLO:
            if not self._hello.done():
                self._hello.set_result(message)
        elif header.type == msg.OFPT_ECHO_REQUEST:
            self._send(msg.encode_simple(msg.OFPT_ECHO_REPLY, header.xid, message[8:]))
        elif header.type == msg.OFPT_ERROR:
            self._on_error(header.xid, decode_error(message))
        elif header.type == msg.OFPT_PACKET_IN:
            if self.packet_ins is not None:
                try:
                    self.packet_ins.put_nowait(decode_packet_in(message))
                except asyncio.QueueFull:
                    log.debug("packet-in dropped: queue full")
        elif header.type == msg.OFPT_MULTIPART_REPLY:
            parts = self._multipart.setdefault(header.xid, [])
            parts.append(message[16:])
            (flags,) = struct.unpack_from("!H", message, 10)
            if not flags & _MULTIPART_MORE:
                del self._multipart[header.xid]
                self._resolve(header.xid, b"".join(parts))
        else:
            self._resolve(header.xid, message)

    def _resolve(self, xid: int, message: bytes) -> None:
        future = self._pending.pop(xid, None)
        if future is not None and not future.done():
            future.set_result(message)

    def _on_error(self, xid: int, error: OpenFlowErrorInfo) -> None:
        if not self._hello.done():
            self._hello.set_exception(OpenFlowError(f"OpenFlow negotiation failed: {error.name}", error))
            return
        for bundle in self._bundles:
            flow = bundle.flow_for(xid)
            if flow is not None:
                bundle.errors.append((flow, error))
                return
        future = self._pending.pop(xid, None)
        if future is not None and not future.done():
            future.set_exception(OpenFlowError(f"request {xid} failed: {error.name}", error))
        elif future is None:
            log.warning("OpenFlow error %s for unknown xid %d", error.name, xid)

    # -- requests ----------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionLost("OpenFlow connection is closed")
        self._transport.write(data)

    def _expect(self, xid: int) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[xid] = future
        return future

    async def _await(self, xid: int, future: asyncio.Future[bytes], timeout: float) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise TimeoutError(f"no OpenFlow reply for xid {xid} within {timeout}s") from None
        finally:
            self._pending.pop(xid, None)

    async def request(self, message: bytes, *, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Send an encoded request and return its reply (the joined body for multipart)."""
        xid = decode_header(message).xid
        future = self._expect(xid)
        self._send(message)
        return await self._await(xid, future, timeout)

    async def barrier(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        await self.request(msg.encode_simple(msg.OFPT_BARRIER_REQUEST, self._next_xid()), timeout=timeout)

    async def send_flow_mod(self, flow: Flow, command: int, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """One flow mod outside a bundle, confirmed with a barrier."""
        xid = self._next_xid()
        await self._send_confirmed(msg.encode_flow_mod(flow, command, xid), xid, timeout)

    async def delete_by_cookie(
        self, cookie: int, cookie_mask: int, *, table: int = msg.OFPTT_ALL, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Delete every flow whose cookie matches `cookie` under `cookie_mask`."""
        xid = self._next_xid()
        await self._send_confirmed(msg.encode_delete_by_cookie(cookie, cookie_mask, xid, table), xid, timeout)

    async def _send_confirmed(self, message: bytes, xid: int, timeout: float) -> None:
        """Send a message that has no reply; a barrier proves it was applied, or its error arrives first."""
        future = self._expect(xid)  # only an OFPT_ERROR ever answers this xid
        try:
            self._send(message)
            await self.barrier(timeout=timeout)
            if future.done():
                future.result()
        finally:
            self._pending.pop(xid, None)

    async def dump_flows(
        self,
        *,
        table: int = msg.OFPTT_ALL,
        cookie: int = 0,
        cookie_mask: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[FlowStats]:
        """Every flow (with counters) in `table` whose cookie matches under the mask."""
        body = await self.request(
            msg.encode_flow_desc_request(self._next_xid(), table, cookie, cookie_mask), timeout=timeout
        )
        return decode_flow_desc_reply(body)

    async def flow_cookies(
        self,
        *,
        table: int = msg.OFPTT_ALL,
        cookie: int = 0,
        cookie_mask: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> set[int]:
        """The distinct cookies of the flows `dump_flows` would return, none of them decoded."""
        body = await self.request(
            msg.encode_flow_desc_request(self._next_xid(), table, cookie, cookie_mask), timeout=timeout
        )
        return decode_flow_desc_cookies(body)

    async def receive_packet_ins(self, *, maxsize: int = 1024) -> asyncio.Queue[PacketIn]:
        """Ask the switch for packet-ins on this connection (a service connection gets none
        until it sets a miss_send_len) and return the queue they arrive in."""
        if self.packet_ins is None:
            self.packet_ins = asyncio.Queue(maxsize)
            xid = self._next_xid()
            await self._send_confirmed(msg.encode_set_config(xid), xid, DEFAULT_TIMEOUT)
        return self.packet_ins

    async def packet_out(self, packet: bytes, out_port: int, *, in_port: int = 0xFFFFFFFD) -> None:
        """Send `packet` out of `out_port` (confirmed with a barrier)."""
        xid = self._next_xid()
        message = msg.encode_packet_out(xid, packet, out_port, in_port)
        await self._send_confirmed(message, xid, DEFAULT_TIMEOUT)

    async def dump_groups(self, *, timeout: float = DEFAULT_TIMEOUT) -> list[Group]:
        """Every group of the bridge, with its buckets.

        Open vSwitch cannot describe a group whose buckets take more than 64 KiB (its reply's
        length field is 16 bits); `group_stats` still lists such groups.
        """
        body = await self.request(msg.encode_group_desc_request(self._next_xid()), timeout=timeout)
        return decode_group_desc_reply(body)

    async def group_stats(self, *, timeout: float = DEFAULT_TIMEOUT) -> list[GroupStats]:
        """Every group's id and counters (per bucket too)."""
        request = msg.encode_group_desc_request(self._next_xid(), kind=msg.OFPMP_GROUP_STATS)
        return decode_group_stats_reply(await self.request(request, timeout=timeout))

    async def apply_bundle(
        self,
        adds: Sequence[Flow] = (),
        modifies: Sequence[Flow] = (),
        deletes: Sequence[Flow] = (),
        *,
        group_adds: Sequence[Group] = (),
        group_modifies: Sequence[Group] = (),
        group_deletes: Sequence[Group] = (),
        timeout: float | None = None,
    ) -> None:
        """Apply the changes atomically: all of them, or (BundleError) none.

        Adds and modifies go as OFPFC_ADD (which replaces a flow of the same identity, cookie
        and actions included, keeping its counters); deletes as OFPFC_DELETE_STRICT. Groups
        added or modified go first (as Open vSwitch's ADD_OR_MOD, so a group left by an earlier
        agent is taken over), so the flows that use them find them; groups deleted go last.
        """
        before: list[Group] = []
        group_messages: list[bytes] = []
        for group in [*group_adds, *group_modifies]:
            before += [group] * _group.count_group_mods(group, _group.ADD_OR_MOD)
        after = list(group_deletes)
        n_flows = len(adds) + len(modifies) + len(deletes)
        n = len(before) + n_flows + len(after)
        if n == 0:
            return
        timeout = timeout if timeout is not None else DEFAULT_TIMEOUT + n * 1e-4
        bundle_id = next(self._bundle_ids) & 0xFFFFFFFF
        flows = [*adds, *modifies, *deletes]
        bundle = _Bundle(self._reserve_xids(n), flows, before, after)
        xid = bundle.first_xid
        for group in [*group_adds, *group_modifies]:
            for message in _group.encode_group_mods(group, _group.ADD_OR_MOD, xid):
                group_messages.append(msg.bundle_add(message, bundle_id))
                xid += 1
        self._bundles.append(bundle)
        open_xid = self._next_xid()
        opened = self._expect(open_xid)
        try:
            async with asyncio.timeout(timeout):
                self._send(msg.encode_bundle_control(msg.BUNDLE_OPEN, bundle_id, open_xid))
                if group_messages:
                    self._send(b"".join(group_messages))
                await self._stream_bundle(bundle, bundle_id, n_add=len(adds) + len(modifies))
                await opened
                if bundle.errors:
                    await self._discard(bundle_id)
                    raise _bundle_error(bundle.errors)
                commit_xid = self._next_xid()
                committed = self._expect(commit_xid)
                self._send(msg.encode_bundle_control(msg.BUNDLE_COMMIT, bundle_id, commit_xid))
                try:
                    await committed
                except OpenFlowError as e:
                    await self.barrier()  # collect the per-message errors sent with the failure
                    raise _bundle_error(bundle.errors or [(None, e.error)]) from None
        finally:
            self._pending.pop(open_xid, None)
            self._bundles.remove(bundle)

    async def _stream_bundle(self, bundle: _Bundle, bundle_id: int, n_add: int) -> None:
        """Send every flow's BUNDLE_ADD, in batches that overlap encoding with the switch's work,
        then the group deletes, then barrier."""
        flows, first_xid = bundle.flows, (bundle.first_xid + len(bundle.before)) & 0xFFFFFFFF
        for start in range(0, len(flows), _BATCH):
            end = min(start + _BATCH, len(flows))
            if start < n_add:
                stop = min(end, n_add)
                self._send(msg.encode_bundle_adds(flows[start:stop], msg.ADD, bundle_id, first_xid + start))
            if end > n_add:
                lo = max(start, n_add)
                self._send(
                    msg.encode_bundle_adds(flows[lo:end], msg.DELETE_STRICT, bundle_id, first_xid + lo)
                )
            if not self._writable.is_set():
                await self._writable.wait()
            else:
                await asyncio.sleep(0)
        xid = first_xid + len(flows)
        deletes = []
        for group in bundle.after:
            (message,) = _group.encode_group_mods(group, _group.DELETE, xid & 0xFFFFFFFF)
            deletes.append(msg.bundle_add(message, bundle_id))
            xid += 1
        if deletes:
            self._send(b"".join(deletes))
        await self.barrier()

    def _reserve_xids(self, n: int) -> int:
        first = self._next_xid()
        self._xids = itertools.count(first + n)
        return first

    async def _discard(self, bundle_id: int) -> None:
        xid = self._next_xid()
        with contextlib.suppress(OpenFlowError):
            await self.request(msg.encode_bundle_control(msg.BUNDLE_DISCARD, bundle_id, xid))

    # -- closing ------------------------------------------------------------------------------

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    async def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self.closed), 2.0)


def _bundle_error(failures: list[tuple[Flow | Group | None, OpenFlowErrorInfo]]) -> BundleError:
    first_flow, first_error = failures[0]
    kind = "group" if isinstance(first_flow, Group) else "flow"
    what = f"{kind} {first_flow}" if first_flow is not None else "the commit"
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return BundleError(f"bundle discarded: {what} was rejected: {first_error.name}{more}", failures)
