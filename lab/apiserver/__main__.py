"""`python -m lab.apiserver`: run the lab's API stand-in as a process of its own.

It serves until SIGTERM or SIGINT, then closes every watch and writes its state file. With
`--kubeconfig` it writes a kubeconfig for clients once it listens (so the file's existence
means the server is up).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

import uvloop

from lab.apiserver.kubeconfig import write_kubeconfig
from lab.apiserver.server import ApiServer, ApiServerSettings


def _listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen must be HOST:PORT, got {text!r}")
    return host, int(port)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lab.apiserver",
        description="The pyantrea lab's Kubernetes API stand-in (never part of a real deployment).",
    )
    parser.add_argument("--listen", type=_listen_address, default=("127.0.0.1", 6443), help="HOST:PORT")
    parser.add_argument("--state-file", type=Path, help="keep the objects in this JSON file across restarts")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for clients here")
    parser.add_argument(
        "--token-file", type=Path, help="require this bearer token (file content) on API calls"
    )
    parser.add_argument("--history", type=int, default=1000, help="watch events kept per resource type")
    parser.add_argument(
        "--bookmark-interval", type=float, default=60.0, help="seconds between BOOKMARK events"
    )
    parser.add_argument("--service-cidr", default="10.96.0.0/12", help="range for Service ClusterIPs")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    host, port = args.listen
    token = args.token_file.read_text().strip() if args.token_file else None
    server = ApiServer(
        ApiServerSettings(
            host=host,
            port=port,
            token=token,
            state_file=args.state_file,
            history_size=args.history,
            bookmark_interval=args.bookmark_interval,
            service_cidr=args.service_cidr,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        if args.kubeconfig is not None:
            write_kubeconfig(args.kubeconfig, server.url, token)
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvloop.run(_serve(args))


if __name__ == "__main__":
    main()
