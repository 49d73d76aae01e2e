"""`pyantctl lab soak`: churn objects and inject faults on the running lab, then check that it
converged (lab.soak.run); exits 1 naming every discrepancy and the seed that reproduces it."""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from lab.layout import LabLayout
from lab.soak.run import Soak, SoakOptions
from pyantctl.errors import CliError


def register(commands: Any) -> None:
    soak = commands.add_parser(
        "soak",
        help="churn objects and inject faults, then check flows, groups, leaks, reachability and memory",
        description="For --minutes, apply seeded random changes to the soak's own namespaces "
        "(soak-a, soak-b: NetworkPolicies created, edited and deleted; pods and Deployments created, "
        "scaled and deleted; pod and namespace labels changed; ClusterIP Services created, edited and "
        "deleted) and to its ClusterNetworkPolicies (soak-cnp<n>: Admin and Baseline tiers, Accept, "
        "Deny and Pass rules, created, edited and deleted) with probes of pods and Services throughout, "
        "memory and descriptors of the agents and the controller sampled, and faults now and then (an "
        "agent cut off from the controller; kill -9 of an agent, the controller, an ovs-vswitchd, "
        "kube-apiserver or etcd, which the lab restarts). Then wait for convergence and check that "
        "every node's flows and groups equal those of a freshly started agent, that no OVS port, host "
        "veth, host-local address, conjunction id or group leaked, that the probe matrices (pods and "
        "Service ClusterIPs) equal an independent evaluation of the final objects, that no program is "
        "in a restart loop and that no agent's or controller's memory or descriptors grow as a leak "
        "would. Prints a summary; exits 1 naming each discrepancy and the seed.",
    )
    soak.add_argument("--minutes", type=float, required=True, help="how long to churn")
    soak.add_argument(
        "--seed", type=int, help="the seed of the churn and faults (default: a random one, printed)"
    )
    soak.add_argument(
        "--no-kills", action="store_true", help="inject only agent cut-offs, no kill -9 of programs"
    )
    soak.set_defaults(func=run_soak)


def run_soak(args: argparse.Namespace) -> int:
    if not 0 < args.minutes <= 24 * 60:
        raise CliError(f"--minutes must be more than 0 and at most 1440, not {args.minutes}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"soak: {args.minutes:g} minutes, seed {seed}", flush=True)
    options = SoakOptions(minutes=args.minutes, seed=seed, kills=not args.no_kills)
    summary = Soak(LabLayout.from_environment(), options, report=lambda line: print(line, flush=True)).run()
    print(summary.render())
    sys.stdout.flush()
    return 0 if summary.ok else 1
