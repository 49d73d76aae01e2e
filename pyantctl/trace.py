"""`pyantctl trace`: why can pod A reach B, or not, in pyantrea's terms.

    pyantctl trace web/client web/server --port 80            TCP by default
    pyantctl trace web/client 172.16.2.9 --protocol UDP --port 53
    pyantctl trace web/client web/server --protocol ICMP

The controller asks the source pod's agent to run the packet through its br-int with Open
vSwitch's `ofproto/trace`, and the agent of the destination's node after the tunnel
(`controlplane.dashboard.trace`); this prints, per node, the tables the packet crossed by name,
the NetworkPolicy and ClusterNetworkPolicy rules (with their tier) that allowed, denied, passed
or dropped it, and the verdict. `-o json|yaml` prints the
whole answer, with each node's ofproto/trace text.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from pyantctl.client import Client, ServerFinder, controller_target

PROTOCOLS = ("TCP", "UDP", "SCTP", "ICMP")


def register(subparsers: Any, default_server: ServerFinder) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="trace a packet from a pod to a pod or address: tables, NetworkPolicy rules, verdict",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("source", metavar="SOURCE", help="the source pod, NAMESPACE/NAME")
    parser.add_argument(
        "destination", metavar="DESTINATION", help="a pod (NAMESPACE/NAME) or an IPv4 address"
    )
    parser.add_argument("--protocol", type=str.upper, choices=PROTOCOLS, default="TCP", help="default TCP")
    parser.add_argument("--port", type=int, help="the destination port (required but for ICMP)")
    parser.add_argument("--source-port", type=int, help="the source port (default 40000)")
    parser.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the controller's HTTP API (default: $PYANTREA_SERVER, else the lab's)",
    )
    parser.set_defaults(func=run, default_server=default_server)


def _rule(r: dict[str, Any]) -> str:
    if r["namespace"]:
        return f"NetworkPolicy {r['namespace']}/{r['name']} {r['rule']}"
    return f"ClusterNetworkPolicy {r['name']} {r['rule']} ({r.get('tier', '?')} tier)"


def _rules(decision: dict[str, Any]) -> str:
    named = ", ".join(_rule(r) for r in decision["rules"])
    return named or "no rule of this node's policies"


def _decision_line(decision: dict[str, Any]) -> str:
    way = decision["direction"].lower()
    action = decision.get("action", "")
    if action == "Accept":
        return f"  {way}: accepted by {_rules(decision)}"
    if action == "Deny":
        return f"  {way}: DENIED by {_rules(decision)}"
    if action == "Pass":
        return f"  {way}: passed on to the next tier by {_rules(decision)}"
    if decision["allowed"]:
        return f"  {way}: allowed by {_rules(decision)}"
    return f"  {way}: DROPPED by the isolation of {_rules(decision)}"


def render(answer: dict[str, Any]) -> str:
    """The answer as a person reads it: verdict first, then each node's part."""
    port = "" if answer["protocol"] == "ICMP" else f"/{answer['port']}"
    target = answer["destinationPod"] or answer["destinationIP"]
    lines = [
        f"{answer['source']} ({answer['sourceIP']}) -> {target} ({answer['destinationIP']}) "
        f"{answer['protocol']}{port}: {answer['verdict']}",
        f"  {answer['reason']}",
    ]
    for hop in answer["hops"]:
        lines += ["", f"{hop['node']}: {hop['verdict']}: {hop['reason']}"]
        tables = " -> ".join(dict.fromkeys(f"{s['table']} {s['tableName']}" for s in hop["steps"]))
        lines.append(f"  tables:  {tables}")
        lines.extend(_decision_line(decision) for decision in hop["policies"])
        if not hop["policies"]:
            lines.append("  policies: no NetworkPolicy or ClusterNetworkPolicy applies here")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"source": args.source, "destination": args.destination, "protocol": args.protocol}
    if args.port is not None:
        body["port"] = args.port
    if args.source_port is not None:
        body["sourcePort"] = args.source_port
    answer = Client(controller_target(args.server, args.default_server).url).post("/api/v1/trace", body)
    if args.output == "json":
        json.dump(answer, sys.stdout, indent=2)
        print()
    elif args.output == "yaml":
        print(yaml.safe_dump(answer, sort_keys=False), end="")
    else:
        print(render(answer))
    return 0
