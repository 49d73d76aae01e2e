"""`python -m lab.controllers --kubeconfig FILE`: the lab's scheduler and Deployment controller.

`pyantctl lab up` runs it next to the API stand-in, in the underlay's namespace; it logs JSON
lines on stderr and runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from daemon.logs import add_logging_flags, setup_logging
from daemon.runner import run
from daemon.tasks import Supervisor
from kube.config import load_api_client
from lab.controllers.manager import Controllers

log = logging.getLogger("lab.controllers")


async def controllers_main(kubeconfig: Path) -> None:
    api = load_api_client(kubeconfig)
    try:
        async with Supervisor(logger=log) as tasks:
            await Controllers(api, tasks).start()
            log.info("controllers running")
            await tasks.wait()
    finally:
        api.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.controllers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", type=Path, required=True, help="how to reach the API")
    add_logging_flags(parser)
    args = parser.parse_args()
    setup_logging(component="lab-controllers", level=args.log_level)
    sys.exit(run(controllers_main(args.kubeconfig), logger=log))


if __name__ == "__main__":
    main()
