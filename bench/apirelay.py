"""`python -m bench.apirelay PORT NETNS...`: the host's API server on the loopback of each node namespace.

The benchmark's kube-apiserver listens on 127.0.0.1:PORT of the host; each contender runs in a
node network namespace of its own, whose loopback is its own. This process listens on
127.0.0.1:PORT inside every namespace given (a socket keeps the namespace it was made in, so
only a short-lived thread enters it) and relays each connection, bytes only (TLS stays end to
end), to the host's 127.0.0.1:PORT. Every contender goes through the same relay, so the same
admin kubeconfig works in every namespace and no contender is closer to the API server than
another. It prints `ready` once listening everywhere and exits when its stdin closes.

The lab's `lab.apiforward` relays the other way (host to a namespace); this is its mirror.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from lab import netns
from lab.apiforward import splice


def _listen_in(namespace: str, port: int) -> socket.socket:
    def listen() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
        sock.setblocking(False)
        return sock

    return netns.call_in(namespace, listen)


async def _relay(port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        writer.close()
        return
    await splice((reader, writer), (up_reader, up_writer))


async def serve(port: int, namespaces: list[str]) -> None:
    servers = [
        await asyncio.start_server(lambda r, w: _relay(port, r, w), sock=_listen_in(name, port))
        for name in namespaces
    ]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for server in servers:
        server.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2:]))
