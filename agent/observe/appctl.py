"""`ovs-appctl` against this node's ovs-vswitchd: its version, `ofproto/trace` and the tunnel neighbours.

ovs-vswitchd listens for unixctl commands on a socket in its run directory: `ovs-vswitchd.ctl`
when started with `--unixctl` (the lab, the tests), else its default `ovs-vswitchd.<pid>.ctl`,
whose pid its pidfile `ovs-vswitchd.pid` holds (ovs-ctl, the image's start-ovs). The agent shares
that run directory with Open vSwitch (`ovsRunDir`), so it finds the socket there.

ovs-appctl runs from a worker thread with `subprocess`: spawned through uvloop in the agent (a
process with threads), about one call in three died of SIGABRT before it ran.
"""

from __future__ import annotations

import asyncio
import subprocess
from ipaddress import IPv4Address
from pathlib import Path

DEFAULT_TIMEOUT = 10.0


class AppctlError(RuntimeError):
    """ovs-appctl could not run the command; the message has its error output."""


def vswitchd_socket(run_dir: Path) -> Path:
    """The unixctl socket of the ovs-vswitchd whose run directory is `run_dir`."""
    fixed = run_dir / "ovs-vswitchd.ctl"
    if fixed.exists():
        return fixed
    pidfile = run_dir / "ovs-vswitchd.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError) as exc:
        raise AppctlError(f"ovs-vswitchd is not running in {run_dir} (no {fixed.name}, {exc})") from exc
    return run_dir / f"ovs-vswitchd.{pid}.ctl"


class Appctl:
    """Runs ovs-appctl commands on the ovs-vswitchd of `run_dir`."""

    def __init__(self, run_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._run_dir = run_dir
        self._timeout = timeout

    async def run(self, *args: str) -> str:
        """The command's output; raises AppctlError when it fails or takes longer than the timeout."""
        argv = ["ovs-appctl", "-t", str(vswitchd_socket(self._run_dir)), *args]
        try:
            done = await asyncio.to_thread(
                subprocess.run, argv, capture_output=True, timeout=self._timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise AppctlError(f"ovs-appctl {args[0]} took more than {self._timeout}s") from None
        except OSError as error:
            raise AppctlError(f"cannot run ovs-appctl: {error}") from None
        if done.returncode != 0:
            message = (done.stderr or done.stdout).decode(errors="replace").strip()
            raise AppctlError(f"ovs-appctl {args[0]} failed ({done.returncode}): {message}")
        return done.stdout.decode(errors="replace")

    async def version(self) -> str:
        """The running ovs-vswitchd's version, e.g. `3.1.0`."""
        return (await self.run("version")).split()[-1]

    async def trace(self, bridge: str, flow: str) -> str:
        """`ofproto/trace BRIDGE FLOW`: the flows a packet like `flow` meets, as OVS prints them."""
        return await self.run("ofproto/trace", bridge, flow)

    async def dump_conntrack(self, zone: int) -> str:
        """`dpctl/dump-conntrack zone=N`: the datapath's connections in conntrack zone N."""
        return await self.run("dpctl/dump-conntrack", f"zone={zone}")

    async def set_tunnel_neighbour(self, bridge: str, address: IPv4Address, mac: str) -> None:
        """`tnl/neigh/set`: native tunnels on `bridge` reach `address` at `mac` (15 min idle aging)."""
        await self.run("tnl/neigh/set", bridge, str(address), mac)

    async def flush_tunnel_neighbours(self) -> None:
        """`tnl/neigh/flush`: forget every tunnel neighbour, of every bridge."""
        await self.run("tnl/neigh/flush")
