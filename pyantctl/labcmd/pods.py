"""`pyantctl lab exec` and `probe`: into the pods' network namespaces."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from lab import netns
from lab.layout import LabLayout, pod_netns
from lab.probing import ProbePod, as_json, probe, truth_table
from lab.session import LabSession
from lab.tables import pod_status
from pyantctl.errors import CliError
from pyantrea_kube.resources import PODS


def register(commands: Any) -> None:
    exec_ = commands.add_parser(
        "exec",
        help="run a command inside a pod's (or a node's) network namespace",
        description="Run a command inside a pod's network namespace, e.g. "
        "`pyantctl lab exec development/frontend-6cb7f8bd65-25qv4 -- ping -c 1 172.16.2.5`, or with "
        "--node inside a node's, e.g. `pyantctl lab exec --node node2 -- curl http://192.168.77.1:32120/`.",
        usage="pyantctl lab exec (NAMESPACE/POD | --node NODE) -- COMMAND [ARG...]",
    )
    exec_.add_argument("--node", metavar="NODE", help="the node (node1, ...) whose namespace to run in")
    exec_.add_argument("pod", metavar="NAMESPACE/POD", nargs="?")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARG...]")
    exec_.set_defaults(func=run_exec)

    probe_ = commands.add_parser(
        "probe",
        help="probe every pod from every pod: the reachability matrix",
        description="Connect from every running pod to every running pod on one port, all at once, and "
        "print who reached whom: a truth table (rows are sources; `.` reachable, `X` dropped, `R` "
        "refused: nothing listens, a reset or ICMP unreachable came back; a legend follows the table) "
        "or JSON (`reachable`, and `verdicts`: reachable, refused, dropped or wrong). A probe succeeds "
        "only when the pod that answers is the one probed.",
    )
    probe_.add_argument("--port", type=int, required=True, help="port to probe")
    probe_.add_argument("--protocol", choices=("TCP", "UDP"), default="TCP", type=str.upper)
    probe_.add_argument(
        "--timeout", type=float, default=1.0, metavar="S", help="seconds per probe (default 1)"
    )
    probe_.add_argument("-n", "--namespace", help="only the pods of this namespace (default: every pod)")
    probe_.add_argument("-o", "--output", choices=("table", "json"), default="table")
    probe_.set_defaults(func=run_probe)


def run_exec(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.node is not None and args.pod is not None:
        # argparse took the command's first word for NAMESPACE/POD (it drops the `--`)
        command = [word for word in (args.pod, *command) if word != "--"]
    if not command:
        raise CliError(
            "no command given: pyantctl lab exec (NAMESPACE/POD | --node NODE) -- COMMAND [ARG...]"
        )
    if args.node is not None:
        _exec_on_node(args.node, command)
    if args.pod is None:
        raise CliError("name the pod as NAMESPACE/POD, or a node with --node NODE")
    namespace, slash, name = args.pod.partition("/")
    if not slash or not namespace or not name:
        raise CliError(f"name the pod as NAMESPACE/POD, not {args.pod!r}")
    session = LabSession(LabLayout.from_environment())
    pod = session.rest.get(PODS, namespace, name)
    sandbox = pod_netns(session.record.prefix, pod["metadata"]["uid"])
    if not netns.exists(sandbox):
        raise CliError(f"pod {args.pod} has no network namespace yet ({pod_status(pod)})")
    session.close()
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", sandbox, *command])


def _exec_on_node(node: str, command: list[str]) -> NoReturn:
    session = LabSession(LabLayout.from_environment())
    nodes = {n.name: n.netns for n in session.record.nodes}
    session.close()
    if node not in nodes:
        raise CliError(f"no node {node!r} in the lab (it has {', '.join(nodes)})")
    sys.stdout.flush()
    os.execvp("ip", ["ip", "netns", "exec", nodes[node], *command])


def run_probe(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise CliError(f"--port must be 1-65535, not {args.port}")
    session = LabSession(LabLayout.from_environment())
    listed = session.rest.list(PODS, namespace=args.namespace).items
    pods: list[ProbePod] = []
    skipped: list[str] = []
    for pod in sorted(listed, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        ip = (pod.get("status") or {}).get("podIP")
        if (pod.get("status") or {}).get("phase") == "Running" and ip:
            pods.append(
                ProbePod(pod=key, ip=ip, netns=pod_netns(session.record.prefix, pod["metadata"]["uid"]))
            )
        else:
            skipped.append(f"{key} ({pod_status(pod)})")
    session.close()
    if skipped:
        print(f"not probed, not running: {', '.join(skipped)}", file=sys.stderr)
    if not pods:
        raise CliError("no running pods to probe")
    verdicts = probe(pods, protocol=args.protocol, port=args.port, timeout=args.timeout)
    names = [pod.pod for pod in pods]
    print(as_json(names, verdicts) if args.output == "json" else truth_table(names, verdicts))
    return 0
