"""`pyantctl lab up`, `down` and `status`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import urllib3
from kubernetes.client import ApiException

from lab import kinds
from lab.down import teardown
from lab.layout import LabLayout, prefix_from_environment
from lab.programs import lab_programs
from lab.record import RUNNING, LabRecord, load
from lab.session import ApiUnreachable, LabSession, describe_api_error
from lab.status import lab_status, render_status
from lab.tables import render
from lab.up import TUNNELS, LabStarter, UpOptions
from pyantctl.errors import CliError
from pyantrea_kube.resources import NODES


def register(commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="start a lab (or find the running one); returns when every node is Ready",
        description="Start a lab, showing each step, and return once every node is Ready; with a lab "
        "already running, show its nodes.",
    )
    up.add_argument("--nodes", type=int, metavar="N", help="number of nodes (default 3)")
    up.add_argument("--tunnel", choices=TUNNELS, help="tunnel type between nodes (default vxlan)")
    up.add_argument(
        "--timeout", type=float, default=180.0, metavar="S", help="seconds to wait for Ready nodes"
    )
    up.set_defaults(func=run_up)

    down = commands.add_parser(
        "down",
        help="stop the lab and remove everything it made",
        description="Stop every process of the lab and delete its network namespaces and files; also "
        "cleans up a lab that crashed or failed to start.",
    )
    down.set_defaults(func=run_down)

    kubeconfig = commands.add_parser(
        "kubeconfig",
        help="print the path of the lab's admin kubeconfig, for kubectl",
        description="Print the path of the lab's admin kubeconfig: "
        "`export KUBECONFIG=$(pyantctl lab kubeconfig)`, then kubectl works against the lab.",
    )
    kubeconfig.set_defaults(func=run_kubeconfig)

    status = commands.add_parser(
        "status",
        help="nodes, pod subnets, agents, controller, control plane, and each program's restarts",
        description="Show the lab's nodes and programs: each program's pid, whether it runs, and how "
        "many times its supervisor started it again after it exited.",
    )
    status.add_argument("-o", "--output", choices=("json",), help="print JSON")
    status.set_defaults(func=run_status)


def _report(line: str) -> None:
    print(f"  {line}", flush=True)


def _unhealthy(record: LabRecord) -> str | None:
    if record.state != RUNNING:
        return f"its start-up did not finish (state {record.state})"
    # A program waiting to be started again by its supervisor is not broken; one that no supervisor
    # will start again is.
    stopped = [p.title for p in lab_programs(record) if not p.running and not p.supervisor_running]
    return f"not running: {', '.join(stopped)}" if stopped else None


def _print_nodes(session: LabSession) -> None:
    nodes = sorted(session.rest.list(NODES).items, key=lambda n: n["metadata"]["name"])
    print(render(kinds.NODE, nodes))


def run_up(args: argparse.Namespace) -> int:
    layout = LabLayout.from_environment()
    if layout.record.exists():
        return _found_running(layout, args)
    try:
        prefix = prefix_from_environment()
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    options = UpOptions(nodes=args.nodes or 3, tunnel=args.tunnel or "vxlan", timeout=args.timeout)
    starter = LabStarter(layout, prefix, options, _report)
    print(
        f"Starting a lab of {options.nodes} nodes with {options.tunnel} tunnels in {layout.root}", flush=True
    )
    try:
        starter.start()
    except BaseException:
        if starter.claimed:  # past the checks: undo what this start made
            print("  start-up failed; removing what was made", file=sys.stderr, flush=True)
            teardown(layout, starter.record, _report)
        raise
    finally:
        starter.close()
    print()
    _print_nodes(LabSession(layout))
    return 0


def _found_running(layout: LabLayout, args: argparse.Namespace) -> int:
    session = LabSession(layout)
    record = session.record
    problem = _unhealthy(record)
    if problem is not None:
        raise CliError(f"the lab in {layout.root} is broken ({problem}); `pyantctl lab down` removes it")
    if (args.nodes is not None and args.nodes != len(record.nodes)) or (
        args.tunnel is not None and args.tunnel != record.tunnel
    ):
        raise CliError(
            f"a lab of {len(record.nodes)} nodes with {record.tunnel} tunnels is running in {layout.root}; "
            "stop it with `pyantctl lab down` first"
        )
    print(f"A lab of {len(record.nodes)} nodes with {record.tunnel} tunnels is running in {layout.root}\n")
    _print_nodes(session)
    return 0


def run_kubeconfig(args: argparse.Namespace) -> int:
    layout = LabLayout.from_environment()
    if not layout.record.exists() or not layout.kubectl_kubeconfig.exists():
        raise CliError(f"no lab in {layout.root}: start one with `pyantctl lab up`")
    print(layout.kubectl_kubeconfig)
    return 0


def run_down(args: argparse.Namespace) -> int:
    layout = LabLayout.from_environment()
    try:
        record = load(layout.record)
    except FileNotFoundError:
        print(f"No lab in {layout.root}: nothing to do")
        return 0
    except ValueError as exc:
        raise CliError(f"{exc}; remove the lab's namespaces and {layout.root} by hand") from exc
    print(f"Stopping the lab in {layout.root}", flush=True)
    teardown(layout, record, _report)
    print("Lab stopped; nothing of it is left")
    return 0


def run_status(args: argparse.Namespace) -> int:
    session = LabSession(LabLayout.from_environment())
    try:
        rest, error = session.rest, ""
        rest.list(NODES)
    except (ApiUnreachable, urllib3.exceptions.HTTPError) as exc:
        rest, error = None, str(exc)
    except ApiException as exc:
        rest, error = None, describe_api_error(exc)
    document = lab_status(session.layout, session.record, rest, error)
    print(json.dumps(document, indent=2) if args.output == "json" else render_status(document))
    return 0
