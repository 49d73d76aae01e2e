"""`python -m lab.apiforward`: the lab's API server on the host's loopback, for kubectl.

The API server listens on the underlay address inside the lab's underlay namespace, where the
nodes reach it; the host's own namespace has no route there (the lab adds none). This forwarder
listens on 127.0.0.1 of the host and relays each connection, bytes only (TLS stays end to end),
to the API server through a socket opened inside the underlay namespace (a socket keeps the
namespace it was made in). `pyantctl lab kubeconfig` points kubectl at it.

    python -m lab.apiforward --listen-port 16443 --netns lab-ul --target 192.168.77.254:6443
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket

from lab import netns

log = logging.getLogger("lab.apiforward")
_CHUNK = 65536


def _connect_in(namespace: str, host: str, port: int) -> socket.socket:
    def connect() -> socket.socket:
        sock = socket.create_connection((host, port), timeout=10)
        sock.setblocking(False)
        return sock

    return netns.call_in(namespace, connect)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


async def splice(
    one: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    other: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Relay bytes both ways between two connections until both directions ended."""
    await asyncio.gather(_pipe(one[0], other[1]), _pipe(other[0], one[1]))


async def _relay(
    namespace: str, host: str, port: int, client: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = client
    try:
        sock = await asyncio.to_thread(_connect_in, namespace, host, port)
    except OSError as exc:
        log.warning("cannot reach %s:%d in %s: %s", host, port, namespace, exc)
        writer.close()
        return
    upstream_reader, upstream_writer = await asyncio.open_connection(sock=sock)
    await splice((reader, writer), (upstream_reader, upstream_writer))


async def serve(listen_port: int, namespace: str, host: str, port: int) -> None:
    server = await asyncio.start_server(
        lambda r, w: _relay(namespace, host, port, (r, w)), "127.0.0.1", listen_port
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.apiforward", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen-port", type=int, required=True)
    parser.add_argument("--netns", required=True, help="the namespace the API server listens in")
    parser.add_argument("--target", required=True, metavar="HOST:PORT")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(args.listen_port, args.netns, host, int(port)))


if __name__ == "__main__":
    main()
