"""The agent's DNS interception: answers in, addresses learned, flows installed, answers released.

AdminIngressRule sends the DNS answers to the pods of rules with domain names to the controller
(`agent.openflow.builders.tiers.dns_intercept_flows`). For each one the interceptor reads the
addresses it gives (`answers`), keeps them (`cache.NameCache`), has the rule cache recompute the
rules whose domain names they concern, waits until the policy realizer has committed that
change to Open vSwitch and the switch has revalidated the flows its datapath had cached (a
packet to a new address that was denied a moment ago would otherwise still meet the cached
drop: `revalidate`, `ovs-appctl revalidator/wait` in the agent), and only then sends the answer
on, out of the pod's port (a packet-out: the rest of the ingress pipeline would let a reply
through unchanged). Answers are handled one at a time, and one that teaches nothing new still
waits for changes pending before it, so a second answer cannot overtake the flows of the first.
A second task forgets addresses as they expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address
from pathlib import Path
from typing import Protocol

from agent.fqdn.answers import answers
from agent.fqdn.cache import NameCache
from agent.fqdn.packets import dns_segment
from agent.openflow.packetins import serve_packet_ins
from agent.openflow.pipeline import ADMIN_INGRESS_RULE
from agent.policy.cache import RuleCache
from fastpath.connection import OpenFlowConnection
from fastpath.decode import PacketIn
from pyantrea_daemon.service import Service

log = logging.getLogger(__name__)

HOLD_SECONDS = 5.0
"""The longest an answer is held for its flows (Open vSwitch unreachable): then it goes on, and the
pod's first packets may be dropped until the flows are in, rather than its lookup timing out."""
EXPIRY_CHECK_SECONDS = 5.0
"""The longest the expiry task sleeps (a new answer may expire sooner than what it waits for)."""


class Realizer(Protocol):
    """The policy realizer (`agent.policy.realizer.PolicyRealizer`) as the interceptor uses it."""

    cache: RuleCache

    async def flushed(self) -> None: ...


class DnsInterceptor(Service):
    """Learns domain-name addresses from intercepted DNS answers for `realizer`'s rule cache."""

    def __init__(
        self,
        *,
        mgmt_socket: Path,
        realizer: Realizer,
        names: NameCache | None = None,
        revalidate: Callable[[], Awaitable[object]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logger=log)
        self._mgmt_socket = mgmt_socket
        self._realizer = realizer
        self.names = names or NameCache()
        self._revalidate = revalidate
        self._clock = clock
        self.released = 0
        """Answers sent on to their pod."""
        self._learned = asyncio.Event()

    async def _start(self) -> None:
        self._realizer.cache.set_domain_addresses(self.names)
        self._tasks.spawn(
            serve_packet_ins(self._mgmt_socket, ADMIN_INGRESS_RULE.id, self.handle, what="DNS answers"),
            name="fqdn-dns-answers",
        )
        self._tasks.spawn(self._expiry_loop(), name="fqdn-expiry")

    async def handle(self, packet_in: PacketIn, conn: OpenFlowConnection) -> bool:
        """Learn from one intercepted answer and send it on; whether it was sent."""
        segment = dns_segment(packet_in.data)
        if segment is None:
            return False
        learned = [a for message in segment.messages for a in answers(message)]
        cache = self._realizer.cache
        if learned:
            gained = self.names.learn(learned, self._clock())
            changed = bool(gained) and cache.domain_names_changed(gained)
            if changed:
                self._learned.set()
            try:
                async with asyncio.timeout(HOLD_SECONDS):
                    await self._realizer.flushed()  # the flows of these answers, and of any before them
                    if changed and self._revalidate is not None:
                        await self._revalidate()
            except TimeoutError:
                pod = IPv4Address(segment.destination)
                log.warning("DNS answer to %s released before its flows were in", pod)
            except Exception as exc:  # the flows are in; a cached drop may cost a retransmission
                log.warning("datapath flows not revalidated before a DNS answer: %s", exc)
        ofport = cache.dns_pods().get(segment.destination)
        if ofport is None:  # the pod went away meanwhile (or no rule wants its answers now)
            return False
        await conn.packet_out(packet_in.data, ofport)
        self.released += 1
        return True

    async def _expiry_loop(self) -> None:
        while True:
            next_expiry = self.names.next_expiry()
            wait = EXPIRY_CHECK_SECONDS
            if next_expiry is not None:
                wait = min(wait, max(0.0, next_expiry - self._clock()))
            self._learned.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._learned.wait(), wait)
            lost = self.names.expire(self._clock())
            if lost:
                self._realizer.cache.domain_names_changed(lost)
