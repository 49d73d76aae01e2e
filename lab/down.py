"""Tearing a lab down: exactly what its record (and its kubelets' sandbox records) say it made.

In order: the lab's programs are stopped, then Open vSwitch: first their supervisors, each of
which stops its program and never starts it again (SIGTERM, then SIGKILL after a grace period),
then any program process still running (its supervisor was killed); every process still inside
one of the lab's namespaces (pod servers, probers, `exec`s) is killed; the pods' namespaces,
then the nodes' and the underlay's, are deleted; last the lab directory (or, if it was there
before `up`, what is in it). Works as well on a lab whose `up` crashed half-way, or whose
processes or supervisors died: what is already gone is skipped.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

from lab import netns
from lab.kubelet.sandbox import read_records
from lab.layout import LabLayout
from lab.processes import kill_all_in_netns
from lab.programs import stoppable
from lab.record import LabRecord
from lab.supervised import stop_supervised

OVS_ROLES = frozenset({"ovsdb-server", "ovs-vswitchd"})


def teardown(layout: LabLayout, record: LabRecord, report: Callable[[str], None]) -> None:
    programs = [stoppable(p) for p in reversed(record.processes) if p.role not in OVS_ROLES]
    if programs:
        report(f"stopping {len(programs)} lab programs")
        stop_supervised(programs)
    switches = [stoppable(p) for p in reversed(record.processes) if p.role in OVS_ROLES]
    if switches:
        report(f"stopping Open vSwitch on {len(record.nodes)} nodes")
        stop_supervised(switches)
    pods = [sandbox.netns for node in record.nodes for sandbox in read_records(layout.node(node.name).pods)]
    if pods:
        report(f"deleting {len(pods)} pod namespaces")
    for name in [*pods, *reversed(record.namespaces)]:
        if netns.exists(name):
            kill_all_in_netns(name)
            netns.delete(name)
    if record.namespaces:
        report(f"deleting namespaces {', '.join(record.namespaces)}")
    if record.made_dir:
        shutil.rmtree(layout.root, ignore_errors=True)
    else:
        for entry in layout.root.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
