"""`python -m lab.prober`: probe pods from inside one pod's network namespace.

    ip netns exec <pod netns> python -m lab.prober --protocol TCP --port 80 --timeout 1 < targets.json

Reads `[{"pod": "ns/name", "ip": "172.16.2.3"}, ...]` on stdin, probes every target at once
(asyncio), and prints `{"ns/name": "reachable", ...}`, one verdict per target. A target may
carry its own `port` (instead of --port) and `answers`, the pods whose answer counts as
reachable (instead of `pod` alone: a Service's endpoints, `pod` then naming the Service):
- `reachable`: the target answered with its own `namespace/name` (lab.podserver's answer, which
  goes on with the client address the target saw), or, over TCP, accepted the connection and
  stayed silent (a real program the image map runs, like redis-server, does not name itself);
- `refused`: nothing listens there: a TCP reset, or an ICMP unreachable, came back;
- `dropped`: no answer at all within the timeout (a NetworkPolicy drops silently);
- `wrong`: another pod answered, which only a datapath bug can cause.
TCP connects and reads the answer, starting a new connection every quarter second until one
answers; UDP sends a datagram every quarter second until an answer comes or the time is up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import sys
from enum import StrEnum
from typing import Any

from lab.podserver import parse_answer

_RETRY_SECONDS = 0.25
_QUIET_SECONDS = 0.5
"""How long an accepted connection may stay silent before its program counts as one that does not
name itself (the pod server answers at once, on accept)."""
_UNREACHABLE = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH})
"""What an ICMP unreachable or a TCP reset surfaces as."""


class Verdict(StrEnum):
    REACHABLE = "reachable"
    REFUSED = "refused"
    DROPPED = "dropped"
    WRONG = "wrong"
    """Another pod answered."""


def _answered(answer: str, expected: str | frozenset[str]) -> Verdict:
    """The pod server answers `namespace/name client-ip:client-port`; the name is what counts."""
    pod, _ = parse_answer(answer)
    if isinstance(expected, str):
        return Verdict.REACHABLE if pod == expected else Verdict.WRONG
    return Verdict.REACHABLE if pod in expected else Verdict.WRONG


def _refused(error: BaseException | None) -> bool:
    return isinstance(error, OSError) and error.errno in _UNREACHABLE


async def _tcp_exchange(ip: str, port: int) -> str | None:
    """The answer line; None when the connection was accepted but nothing came."""
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        return (await asyncio.wait_for(reader.readline(), _QUIET_SECONDS)).decode(errors="replace").strip()
    except TimeoutError:
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def probe_tcp(ip: str, port: int, expected: str | frozenset[str], timeout: float) -> Verdict:
    """Connect, read the answer. A new attempt starts every quarter second while none has
    answered: a SYN lost on the way would only be sent again by the kernel after a full second."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    attempts: set[asyncio.Task[str | None]] = set()
    try:
        while True:
            attempts.add(asyncio.create_task(_tcp_exchange(ip, port)))
            wait = min(_RETRY_SECONDS, deadline - loop.time())
            done, _ = await asyncio.wait(attempts, timeout=max(wait, 0), return_when=asyncio.FIRST_COMPLETED)
            for attempt in done:
                attempts.discard(attempt)
                if attempt.exception() is None:
                    answer = attempt.result()
                    if answer is None:
                        return Verdict.REACHABLE
                    if answer:  # an empty read is no answer: the connection closed before the pod spoke
                        return _answered(answer, expected)
                elif _refused(attempt.exception()):
                    return Verdict.REFUSED
            if loop.time() >= deadline:
                return Verdict.DROPPED
    finally:
        for attempt in attempts:
            attempt.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)


class _Reply(asyncio.DatagramProtocol):
    """The first answer: a datagram, or the error an ICMP unreachable raised."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def probe_udp(ip: str, port: int, expected: str | frozenset[str], timeout: float) -> Verdict:
    loop = asyncio.get_running_loop()
    try:
        transport, reply = await loop.create_datagram_endpoint(_Reply, remote_addr=(ip, port))
    except OSError as error:
        return Verdict.REFUSED if _refused(error) else Verdict.DROPPED
    try:
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            transport.sendto(b"probe\n")
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(
                    asyncio.shield(reply.answer), min(_RETRY_SECONDS, deadline - loop.time())
                )
                return _answered(answer.decode(errors="replace").strip(), expected)
        return Verdict.DROPPED
    except OSError as error:
        if _refused(error):
            return Verdict.REFUSED
        raise
    finally:
        transport.close()


def _expected(target: dict[str, Any]) -> str | frozenset[str]:
    answers = target.get("answers")
    return target["pod"] if answers is None else frozenset(answers)


async def probe_all(
    targets: list[dict[str, Any]], protocol: str, port: int, timeout: float
) -> dict[str, Verdict]:
    probe = probe_tcp if protocol == "TCP" else probe_udp
    results = await asyncio.gather(
        *(probe(t["ip"], int(t.get("port") or port), _expected(t), timeout) for t in targets)
    )
    return {target["pod"]: result for target, result in zip(targets, results, strict=True)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.prober", description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", choices=("TCP", "UDP"), default="TCP")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=1.0)
    args = parser.parse_args()
    targets = json.load(sys.stdin)
    print(json.dumps(asyncio.run(probe_all(targets, args.protocol, args.port, args.timeout))))


if __name__ == "__main__":
    main()
