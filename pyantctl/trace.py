"""`pyantctl trace`: why can pod A reach B, or not, in pyantrea's terms.

    pyantctl trace web/client web/server --port 80            TCP by default
    pyantctl trace web/client 172.16.2.9 --protocol UDP --port 53
    pyantctl trace web/client web/server --protocol ICMP
    pyantctl trace web/client 10.96.0.20 --port 80                 a Service's ClusterIP
    pyantctl trace web/client 10.96.0.20 --port 80 --endpoint 172.16.1.5

The controller asks the source pod's agent to run the packet through its br-int with Open
vSwitch's `ofproto/trace`, and the agent of the destination's node after the tunnel
(`controlplane.dashboard.trace`); this prints, per node, the tables the packet crossed by name,
the NetworkPolicy and ClusterNetworkPolicy rules (with their tier) that allowed, denied, passed
or dropped it, and the verdict. To a Service (ClusterIP, external IP, NodePort): the Service
port, the endpoint the packet was DNATed to (its pod and node) and how it was chosen, then the
trace of the DNATed packet; a Service without endpoints is Rejected. `-o json|yaml` prints the
whole answer (`pyantrea_api.trace.ClusterTrace`), with each node's ofproto/trace text.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from pyantctl.client import Client, ServerFinder, controller_target
from pyantctl.errors import CliError
from pyantrea_api.objects import Direction
from pyantrea_api.trace import (
    TRACE_PATH,
    ChosenBy,
    ClusterTrace,
    PolicyDecision,
    RuleRef,
    ServiceHop,
    TraceError,
    TraceProtocol,
    TraceQuery,
)


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
    parser.add_argument(
        "--protocol",
        type=str.upper,
        choices=[p.value for p in TraceProtocol],
        default="TCP",
        help="default TCP",
    )
    parser.add_argument("--port", type=int, help="the destination port (required but for ICMP)")
    parser.add_argument("--source-port", type=int, help="the source port (default 40000)")
    parser.add_argument(
        "--endpoint",
        metavar="IP[:PORT]",
        help="to a Service: the endpoint to follow (default: conntrack's for an existing connection, "
        "else the Service group's choice)",
    )
    parser.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    parser.add_argument(
        "--server",
        metavar="URL",
        help="the controller's HTTP API (default: $PYANTREA_SERVER, else the lab's)",
    )
    parser.set_defaults(func=run, default_server=default_server)


def _rules(decision: PolicyDecision) -> str:
    named = ", ".join(_rule(r) for r in decision.rules)
    return named or "no rule of this node's policies"


def _rule(rule: RuleRef) -> str:
    if rule.namespace:
        return rule.text
    return f"ClusterNetworkPolicy {rule.name} {rule.rule} ({rule.tier or '?'} tier)"


def _decision_line(decision: PolicyDecision) -> str:
    way = "ingress" if decision.direction is Direction.IN else "egress"
    if decision.action == "Accept":
        return f"  {way}: accepted by {_rules(decision)}"
    if decision.action == "Deny":
        return f"  {way}: DENIED by {_rules(decision)}"
    if decision.action == "Pass":
        return f"  {way}: passed on to the next tier by {_rules(decision)}"
    if decision.allowed:
        return f"  {way}: allowed by {_rules(decision)}"
    return f"  {way}: DROPPED by the isolation of {_rules(decision)}"


_CHOICES = {
    ChosenBy.PINNED: "the endpoint asked for (--endpoint)",
    ChosenBy.CONNTRACK: "conntrack's: a connection with these addresses and ports exists",
    ChosenBy.AFFINITY: "the client's (ClientIP session affinity)",
    ChosenBy.HASH: "the group's, which Open vSwitch picks by hashing this packet's addresses and ports "
    "(with ClientIP affinity, the client's address): this packet goes there",
    ChosenBy.DATAPATH_HASH: "one bucket of the group, which picks by a hash the datapath computes per "
    "connection: a real connection may get any endpoint; --endpoint follows another",
}


def _service_lines(service: ServiceHop) -> list[str]:
    lines = [f"  {service.text}"]
    if service.endpoint is None:
        return lines
    if service.chosen_by is not None:
        lines.append(f"    chosen: {_CHOICES[service.chosen_by]}")
    lines.append(f"    endpoints: {', '.join(map(str, service.endpoints))}")
    return lines


def render(answer: ClusterTrace) -> str:
    """The answer as a person reads it: verdict first, then each node's part."""
    port = "" if answer.protocol is TraceProtocol.ICMP else f"/{answer.port}"
    target = f"{answer.destination_pod or answer.destination_ip} ({answer.destination_ip})"
    service = answer.service
    if service is not None and service.endpoint is not None:
        # To a Service: its address, then where the DNAT sent the packet.
        pod = answer.destination_pod
        target = f"{answer.destination_ip} -> " + (
            f"{pod} ({service.endpoint})" if pod else str(service.endpoint)
        )
    lines = [
        f"{answer.source} ({answer.source_ip}) -> {target} {answer.protocol}{port}: {answer.verdict}",
        f"  {answer.reason}",
    ]
    for hop in answer.hops:
        lines += ["", f"{hop.node}: {hop.verdict}: {hop.reason}"]
        if hop.service is not None:
            lines += _service_lines(hop.service)
        tables = " -> ".join(dict.fromkeys(f"{s.table} {s.table_name}" for s in hop.steps))
        lines.append(f"  tables:  {tables}")
        lines.extend(_decision_line(decision) for decision in hop.policies)
        if not hop.policies:
            lines.append("  policies: no NetworkPolicy or ClusterNetworkPolicy applies here")
    return "\n".join(lines)


def query(args: argparse.Namespace) -> TraceQuery:
    """The trace asked on the command line; raises CliError naming what is wrong."""
    body: dict[str, Any] = {"source": args.source, "destination": args.destination, "protocol": args.protocol}
    if args.port is not None:
        body["port"] = args.port
    if args.source_port is not None:
        body["sourcePort"] = args.source_port
    if args.endpoint is not None:
        body["endpoint"] = args.endpoint
    try:
        return TraceQuery.from_json(body)
    except TraceError as error:
        raise CliError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    asked = query(args)
    client = Client(controller_target(args.server, args.default_server).url)
    answer = client.post(TRACE_PATH, asked.to_json())
    if args.output == "json":
        json.dump(answer, sys.stdout, indent=2)
        print()
    elif args.output == "yaml":
        print(yaml.safe_dump(answer, sort_keys=False), end="")
    else:
        try:
            traced = ClusterTrace.from_json(answer)
        except TraceError as error:
            raise CliError(f"the controller answered a trace pyantctl cannot read: {error}") from None
        print(render(traced))
    return 0
