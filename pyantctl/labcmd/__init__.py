"""`pyantctl lab`: a whole pyantrea cluster on this machine (see lab/ and the design's "The lab").

Its commands live in four modules, each with a `register(subparsers)`: `cluster` (up, down,
status), `objects` (apply, delete, label, get), `pods` (exec, probe) and `soak`; `errors` turns the lab's
failures into one-line reports. `server` finds the lab's controller for `get` and `trace`. Only
this package of the command line imports the lab.
"""

from __future__ import annotations

import argparse
from typing import Any

from pyantctl.labcmd import cluster, objects, pods, soak
from pyantctl.labcmd.errors import reported

_DESCRIPTION = """\
Run a real multi-node pyantrea cluster on this machine, as root, with no Kubernetes installed:
each node is a network namespace with its own Open vSwitch, pyantrea-agent and kubelet; the
controller runs on the first node; pods are network namespaces attached by pyantrea-cni.

The lab lives in $PYANTREA_LAB_DIR (default /var/run/pyantrea-lab) and names its network
namespaces with $PYANTREA_LAB_PREFIX (default pyantrea); set both to run a second lab.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="run a whole pyantrea cluster on this machine",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (cluster, objects, pods, soak):
        module.register(commands)
    for command in {id(sub): sub for sub in commands.choices.values()}.values():
        command.set_defaults(func=reported(command.get_default("func")))
