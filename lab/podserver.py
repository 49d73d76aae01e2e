"""The lab's stand-in for a pod's containers: one small server per pod, in the pod's namespace.

    ip netns exec <pod netns> python -m lab.podserver --pod development/frontend-x --listen 80/TCP

It listens on every declared container port (TCP and UDP, all addresses) and answers each
connection (at once, on accept) or datagram with one line, `namespace/name client-ip:client-port`:
the pod's name, so a prober can tell it reached the right pod, and the source address the pod
saw, so a user can tell whether a Service or a NodePort kept or rewrote it. Once every port is
bound it prints `ready` on stdout (the kubelet waits for that line); a port it cannot bind ends
it with the reason on stderr and exit status 1. SIGTERM ends it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
from dataclasses import dataclass
from typing import cast

READY = "ready"


@dataclass(frozen=True, slots=True)
class Listen:
    port: int
    protocol: str

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"


def parse_listen(text: str) -> Listen:
    port, _, protocol = text.partition("/")
    protocol = (protocol or "TCP").upper()
    if not port.isdigit() or not 1 <= int(port) <= 65535 or protocol not in ("TCP", "UDP"):
        raise argparse.ArgumentTypeError(f"--listen must be PORT/TCP or PORT/UDP, got {text!r}")
    return Listen(int(port), protocol)


def answer(pod: str, client: tuple[str, int]) -> bytes:
    """The line a client gets: `namespace/name client-ip:client-port`."""
    return f"{pod} {client[0]}:{client[1]}\n".encode()


def parse_answer(line: str) -> tuple[str, str]:
    """`(pod, client)` of an answer line; `client` is "" when the line names no client."""
    pod, _, client = line.strip().partition(" ")
    return pod, client.strip()


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, pod: str) -> None:
        self._pod = pod
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self._transport is not None:
            self._transport.sendto(answer(self._pod, addr), addr)


async def serve(pod: str, listens: list[Listen]) -> None:
    loop = asyncio.get_running_loop()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(answer(pod, writer.get_extra_info("peername")[:2]))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    closers = []
    for listen in listens:
        try:
            if listen.protocol == "TCP":
                server = await asyncio.start_server(
                    on_connection, host="0.0.0.0", port=listen.port, reuse_address=True
                )
                closers.append(server.close)
            else:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: _Answer(pod), local_addr=("0.0.0.0", listen.port), family=socket.AF_INET
                )
                closers.append(transport.close)
        except OSError as exc:
            raise SystemExit(
                f"lab pod server {pod}: cannot listen on {listen}: {exc.strerror or exc}"
            ) from exc
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(READY, flush=True)
    await stop.wait()
    for close in closers:
        close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.podserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pod", required=True, help="namespace/name, the answer to every probe")
    parser.add_argument(
        "--listen", type=parse_listen, action="append", default=[], help="PORT/TCP or PORT/UDP"
    )
    args = parser.parse_args()
    asyncio.run(serve(args.pod, args.listen))


if __name__ == "__main__":
    main()
