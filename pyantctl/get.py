"""`pyantctl get`: the controller's and the agents' view of the cluster, as kubectl-like tables.

    pyantctl get networkpolicies [-n NS]           realization phase, nodes realized of desired
    pyantctl get clusternetworkpolicies            the same, with tier and priority, rules with actions
    pyantctl get addressgroups | appliedtogroups   members and the policies that use them
    pyantctl get agents                            connection, heartbeat, OVS, flows, pods, health
    pyantctl get flows --node N [--table T]        the flows of the node's br-int (T: 90 or IngressRule)
    pyantctl get podinterfaces --node N            the pods attached on the node
    pyantctl get services [--node N]               what AntreaProxy programmed on each node: per
                                                   Service port, its endpoints and group ids

`-o json` and `-o yaml` print what the API answered. How the controller and agents are found:
`pyantctl.client`; the token the agents ask for: `pyantctl.credentials`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from pyantctl.client import Client, ServerFinder, controller_target
from pyantctl.credentials import agent_token
from pyantctl.errors import CliError
from pyantrea_api.services import SERVICES_PATH, ServicesError, services_from_json
from pyantrea_kube.printing import format_table, human_duration

Row = list[str]
_MAX_MEMBERS = 3


def register(subparsers: Any, default_server: ServerFinder) -> None:
    parser = subparsers.add_parser(
        "get",
        help="show policies, groups, agents, flows and pod interfaces as the controller and agents see them",
        description=__doc__.split("\n\n")[0],
    )
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)

    def kind(name: str, aliases: list[str], help_text: str, func: Callable[[argparse.Namespace], int]) -> Any:
        sub = kinds.add_parser(name, aliases=aliases, help=help_text, description=help_text)
        sub.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
        sub.add_argument(
            "--server",
            metavar="URL",
            help="the controller's HTTP API (default: $PYANTREA_SERVER, else the lab's)",
        )
        sub.add_argument(
            "--kubeconfig",
            type=Path,
            help="for a token of ServiceAccount kube-system/pyantctl to read the agents "
            "(default: $PYANTREA_TOKEN, the pod's token, $KUBECONFIG, ~/.kube/config; the lab's)",
        )
        sub.set_defaults(func=func, default_server=default_server)
        return sub

    policies = kind(
        "networkpolicies", ["networkpolicy", "netpol"], "NetworkPolicies and their realization", _policies
    )
    policies.add_argument("-n", "--namespace", help="only this namespace (default: every namespace)")
    kind(
        "clusternetworkpolicies",
        ["clusternetworkpolicy", "cnp"],
        "ClusterNetworkPolicies: tier, priority, realization and rules",
        _cluster_policies,
    )
    kind("addressgroups", ["addressgroup"], "AddressGroups: the pods rules name as peers", _address_groups)
    kind(
        "appliedtogroups",
        ["appliedtogroup"],
        "AppliedToGroups: the pods policies apply to",
        _applied_to_groups,
    )
    kind("agents", ["agent"], "the agents: connection, heartbeat, datapath and health", _agents)
    flows = kind("flows", ["flow"], "the OpenFlow flows of a node's br-int, with their counters", _flows)
    flows.add_argument("--node", required=True, help="the node")
    flows.add_argument("--table", metavar="T", help="one table, by number (90) or name (IngressRule)")
    pods = kind("podinterfaces", ["podinterface"], "the pod interfaces attached on a node", _pod_interfaces)
    pods.add_argument("--node", required=True, help="the node")
    services = kind(
        "services", ["service", "svc"], "Services as AntreaProxy programmed them on each node", _services
    )
    services.add_argument("--node", help="only this node (default: every node with an agent)")


def _client(args: argparse.Namespace) -> Client:
    target = controller_target(args.server, args.default_server)
    kubeconfig = args.kubeconfig or target.kubeconfig
    return Client(target.url, token=lambda: agent_token(kubeconfig))


def _print(args: argparse.Namespace, document: Any, rows: Callable[[], Sequence[Row]], empty: str) -> int:
    if args.output == "json":
        json.dump(document, sys.stdout, indent=2)
        print()
    elif args.output == "yaml":
        print(yaml.safe_dump(document, sort_keys=False), end="")
    elif len(table := rows()) == 1:
        print(empty, file=sys.stderr)
    else:
        print(format_table(table))
    return 0


def _age(stamp: str | None) -> str:
    if not stamp:
        return "<none>"
    then = datetime.datetime.fromisoformat(stamp)
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def _policies(args: argparse.Namespace) -> int:
    document = [p for p in _client(args).get("/api/v1/networkpolicies") if p["namespace"]]
    if args.namespace:
        document = [p for p in document if p["namespace"] == args.namespace]

    def rows() -> list[Row]:
        table = [
            ["NAMESPACE", "NAME", "PHASE", "REALIZED", "GENERATION", "RULES", "APPLIED-TO-GROUP", "MESSAGE"]
        ]
        for p in document:
            table.append(
                [
                    p["namespace"], p["name"], p["phase"],
                    f"{p['currentNodesRealized']}/{p['desiredNodesRealized']}", str(p["observedGeneration"]),
                    ",".join(r["name"] for r in p.get("rules", ())) or "<none>",
                    ",".join(p.get("appliedToGroups", ())) or "<none>", p["message"],
                ]
            )  # fmt: skip
        return table

    where = f" in namespace {args.namespace}" if args.namespace else ""
    return _print(args, document, rows, f"No NetworkPolicies found{where}.")


def _cluster_policies(args: argparse.Namespace) -> int:
    document = [p for p in _client(args).get("/api/v1/networkpolicies") if not p["namespace"]]

    def rows() -> list[Row]:
        table = [["NAME", "TIER", "PRIORITY", "PHASE", "REALIZED", "GENERATION", "RULES", "MESSAGE"]]
        for p in sorted(document, key=lambda p: (p.get("tier") != "Admin", p.get("priority", 0), p["name"])):
            rules = ",".join(f"{r['name']}={r['action']}" for r in p.get("rules", ())) or "<none>"
            message = "; ".join([m for m in (p["message"], *p.get("unenforced", ())) if m])
            table.append(
                [
                    p["name"], p.get("tier", "?"), str(p.get("priority", "?")), p["phase"],
                    f"{p['currentNodesRealized']}/{p['desiredNodesRealized']}", str(p["observedGeneration"]),
                    rules, message,
                ]
            )  # fmt: skip
        return table

    return _print(args, document, rows, "No ClusterNetworkPolicies found.")


def _members(members: Sequence[dict[str, Any]]) -> str:
    shown = ",".join(m["pod"] for m in members[:_MAX_MEMBERS])
    more = len(members) - _MAX_MEMBERS
    return (shown + (f" + {more} more" if more > 0 else "")) or "<none>"


def _groups(args: argparse.Namespace, path: str, empty: str) -> int:
    document = _client(args).get(path)

    def rows() -> list[Row]:
        table = [["NAME", "MEMBERS", "PODS", "POLICIES", "NODES"]]
        for g in document:
            table.append(
                [
                    g["name"], str(len(g["members"])), _members(g["members"]),
                    ",".join(g["policies"]) or "<none>", ",".join(g["span"]) or "<none>",
                ]
            )  # fmt: skip
        return table

    return _print(args, document, rows, empty)


def _address_groups(args: argparse.Namespace) -> int:
    return _groups(args, "/api/v1/addressgroups", "No AddressGroups found.")


def _applied_to_groups(args: argparse.Namespace) -> int:
    return _groups(args, "/api/v1/appliedtogroups", "No AppliedToGroups found.")


def _agents(args: argparse.Namespace) -> int:
    document = _client(args).get("/api/v1/agents")

    def rows() -> list[Row]:
        table = [["NODE", "CONNECTED", "HEARTBEAT", "VERSION", "OVS", "FLOWS", "PODS", "HEALTHY", "API"]]
        for a in document:
            healthy = a.get("healthy")
            table.append(
                [
                    a["node"], "yes" if a["connected"] else "no", _age(a.get("lastHeartbeat")),
                    a.get("version", "<unknown>"), a.get("ovsVersion") or "<unknown>",
                    str(a.get("flows", "?")), str(a.get("pods", "?")),
                    "?" if healthy is None else ("yes" if healthy else "no"), a.get("apiAddress") or "<none>",
                ]
            )  # fmt: skip
        return table

    return _print(args, document, rows, "No agents found.")


def _flows(args: argparse.Namespace) -> int:
    path = "/api/v1/flows" + (f"?table={args.table}" if args.table else "")
    document = _client(args).agent_get(args.node, path)

    def rows() -> list[Row]:
        table = [["TABLE", "NAME", "PRIORITY", "MATCH", "ACTIONS", "PACKETS", "BYTES"]]
        for f in document:
            table.append(
                [
                    str(f["table"]), f["tableName"], str(f["priority"]), f["match"] or "<any>", f["actions"],
                    str(f["packets"]), str(f["bytes"]),
                ]
            )  # fmt: skip
        return table

    return _print(args, document, rows, f"No flows found on {args.node}.")


def _services(args: argparse.Namespace) -> int:
    client = _client(args)
    nodes = [args.node] if args.node else sorted(a["node"] for a in client.get("/api/v1/agents"))
    document = {node: client.agent_get(node, SERVICES_PATH) for node in nodes}
    try:
        programmed = {node: services_from_json(body, f"node {node}") for node, body in document.items()}
    except ServicesError as error:
        raise CliError(f"an agent answered Services pyantctl cannot read: {error}") from None

    def rows() -> list[Row]:
        table = [["NODE", "NAMESPACE", "NAME", "CLUSTER-IP", "PORT", "ENDPOINTS", "LOCAL", "GROUPS"]]
        for node, services in programmed.items():
            for s in services:
                for p in s.ports:
                    port = f"{p.port}/{p.protocol}" + (f":{p.node_port}" if p.node_port else "")
                    groups = "/".join(str(g) for g in (p.cluster_group, p.local_group) if g is not None)
                    cluster = ",".join(p.cluster_endpoints) or "<none>"
                    local = ",".join(p.local_endpoints) or "-"
                    addresses = ",".join(s.cluster_ips) or "<none>"
                    table.append([node, s.namespace, s.name, addresses, port, cluster, local, groups or "-"])
        return table

    return _print(args, document, rows, "No Services programmed.")


def _pod_interfaces(args: argparse.Namespace) -> int:
    document = _client(args).agent_get(args.node, "/api/v1/podinterfaces")

    def rows() -> list[Row]:
        table = [["NAMESPACE", "NAME", "INTERFACE", "OFPORT", "IP", "MAC", "CONTAINER"]]
        for i in document:
            table.append(
                [
                    i["podNamespace"], i["podName"], i["interface"], str(i["ofport"]), i["ip"], i["mac"],
                    i["containerID"][:12],
                ]
            )  # fmt: skip
        return table

    return _print(args, document, rows, f"No pod interfaces found on {args.node}.")
