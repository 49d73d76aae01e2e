"""`python -m lab.kubelet --config kubelet.json`: the lab kubelet of one node.

It moves itself into the node's network namespace first thing (setns, before any thread
starts), so it and the CNI plugins it runs see the node's network, as a kubelet on the node
does. It is not started with `ip netns exec`: that would give it a mount namespace of its own,
and the pods' namespaces it makes (bind mounts under /var/run/netns) would be invisible to the
agent. It logs JSON lines on stderr and runs until SIGTERM; pods keep running when it stops.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lab import netns
from lab.kubelet.kubelet import Kubelet
from lab.kubelet.settings import KubeletSettings
from pyantrea_daemon.logs import add_logging_flags, setup_logging
from pyantrea_daemon.runner import run
from pyantrea_daemon.tasks import Supervisor

log = logging.getLogger("lab.kubelet")


async def kubelet_main(settings: KubeletSettings) -> None:
    async with Supervisor(logger=log) as tasks:
        kubelet = Kubelet(settings, tasks)
        try:
            await kubelet.start()
            log.info("kubelet running")
            await tasks.wait()
        finally:
            await tasks.stop()
            kubelet.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.kubelet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the node's kubelet.json")
    add_logging_flags(parser)
    args = parser.parse_args()
    try:
        settings = KubeletSettings.read(args.config)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    netns.enter(settings.node_netns)
    setup_logging(component="kubelet", node=settings.node_name, level=args.log_level)
    sys.exit(run(kubelet_main(settings), logger=log))


if __name__ == "__main__":
    main()
