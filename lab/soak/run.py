"""The soak: seeded churn with probes and faults on a running lab, then the convergence checks.

    summary = Soak(layout, SoakOptions(minutes=2, seed=7), report=print).run()
    summary.ok            # False names every discrepancy (and the seed) in summary.render()

Rounds until the time is up: a burst of 1-4 changes from `churn`; now and then a fault (one at a
time; an agent cut off from the controller heals after 5-15 s, a killed program once its
supervisor has started it again); then, with no fault active, the time until the lab has
converged (every pod Running, every Deployment available, every Service there, every
NetworkPolicy and ClusterNetworkPolicy Realized on all nodes of its span by the controller's
account) is one convergence sample. A prober probes the soak's pods and Service ports
throughout, and a sampler reads the agents' and the controller's memory and descriptors
(`resources`). At the end, with every fault healed and the lab converged:

1. the probe matrix (TCP 80) equals `expected` of the final objects, and so does the matrix of
   every pod's probes of every Service port's ClusterIP, where `expected` determines one;
2. nothing leaked on any node: every OVS pod port, host veth and host-local address belongs to a
   pod running on that node, no conjunction id has clause flows without an action flow or the
   reverse, and every OVS group is selected by a flow;
3. every node's flows and groups equal those a freshly started agent installs for the same
   state: the agent is stopped (SIGTERM) and its supervisor starts it again, and once it has
   removed the flows of the old run, the two dumps must be equal (`flowcheck`);
4. no program is in a restart loop (each running, no restart but those the faults caused);
5. no agent's or controller's memory or descriptors grow as a clear leak would (`resources`).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client import ApiException

from lab.kinds import CLUSTER_NETWORK_POLICY, DEPLOYMENT, NAMESPACE, NETWORK_POLICY, POD, SERVICE
from lab.layout import LabLayout, pod_netns
from lab.prober import Verdict
from lab.probing import ProbeError, ProbePod, ProbeTarget, probe, probe_targets
from lab.programs import lab_programs
from lab.record import LabRecord, load
from lab.session import LabSession
from lab.soak.churn import NAMESPACES, Change, Churn
from lab.soak.expected import PodView, ServicePort, ServiceVerdict, expected_matrix, service_verdict
from lab.soak.faults import AgentCutOff, Fault, FaultFailed, KillProgram
from lab.soak.flowcheck import canonical, conjunction_leaks, difference, group_leaks
from lab.soak.inspect import NodeInspector
from lab.soak.resources import Sampler, Trend
from lab.up import CONTROLLER_API_PORT
from lab.waiting import (
    Progress,
    cluster_policy_span,
    policy_span,
    progress_of_cluster_policy,
    progress_of_deployment,
    progress_of_pod,
    progress_of_policy,
)
from pyantrea_kube.rest import PatchType, RestClient

PROBE_PORT = 80
PROBE_TIMEOUT = 1.0
CONVERGE_SECONDS = 180.0
KILLABLE = ("agent", "controller", "ovs-vswitchd", "kube-apiserver", "etcd")
_FAULT_CHANCE = 0.2
_API_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)
_KINDS = {
    "Namespace": NAMESPACE, "Pod": POD, "Deployment": DEPLOYMENT, "NetworkPolicy": NETWORK_POLICY,
    "Service": SERVICE, "ClusterNetworkPolicy": CLUSTER_NETWORK_POLICY,
}  # fmt: skip
_SOAK_LABEL = "soak=yes"
_SERVICE_VERDICTS = {
    ServiceVerdict.REACHABLE: Verdict.REACHABLE,
    ServiceVerdict.DROPPED: Verdict.DROPPED,
    ServiceVerdict.REFUSED: Verdict.REFUSED,
}


@dataclass(frozen=True, slots=True)
class SoakOptions:
    minutes: float
    seed: int
    kills: bool = True
    """Inject SIGKILLs of programs (the lab restarts them); else only agent cut-offs."""
    sample_seconds: float = 10.0
    """How often the agents' and the controller's memory and descriptors are read."""


@dataclass
class Summary:
    seed: int
    changes: Counter[str] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    convergence: list[float] = field(default_factory=list)
    probes: int = 0
    leaks: list[str] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)
    trends: list[Trend] = field(default_factory=list)
    """each agent's and the controller's memory and descriptors over the churn"""
    service_cells: int = 0
    """Service probes judged at the end (those `expected` determines)"""

    @property
    def ok(self) -> bool:
        return not self.discrepancies and not self.leaks

    def render(self) -> str:
        lines = [f"soak with seed {self.seed}: {sum(self.changes.values())} changes applied"]
        lines += [f"  {count:4d} {what}" for what, count in sorted(self.changes.items())]
        lines.append(f"faults injected: {len(self.faults)}")
        lines += [f"  {fault}" for fault in self.faults]
        if self.convergence:
            ordered = sorted(self.convergence)
            p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
            lines.append(
                f"convergence over {len(ordered)} rounds: p50 {statistics.median(ordered):.2f}s, "
                f"p99 {p99:.2f}s, max {ordered[-1]:.2f}s"
            )
        lines.append(f"probe rounds during the churn: {self.probes}")
        if self.service_cells:
            lines.append(f"Service probes judged at the end: {self.service_cells}")
        if self.trends:
            lines.append("memory (RSS) and open file descriptors, start -> end of the churn:")
            lines += [f"  {trend.render()}" for trend in self.trends]
        lines.append(f"leaks: {len(self.leaks)}")
        lines += [f"  {leak}" for leak in self.leaks]
        if self.ok:
            lines.append("converged: flows, leaks and reachability all check out")
        else:
            count = len(self.discrepancies) + len(self.leaks)
            lines.append(f"DISCREPANCIES ({count}), reproduce with --seed {self.seed}:")
            lines += [f"  {d}" for d in self.discrepancies]
        return "\n".join(lines)


class Soak:
    def __init__(self, layout: LabLayout, options: SoakOptions, *, report: Callable[[str], None]) -> None:
        self._layout = layout
        self._options = options
        self._report = report
        self._session = LabSession(layout)
        self._record: LabRecord = self._session.record
        self._nodes = [node.name for node in self._record.nodes]
        self._rng = random.Random(options.seed)
        self._churn = Churn(random.Random(options.seed), self._nodes)
        self.summary = Summary(options.seed)
        self._stop_probing = threading.Event()
        self._baseline: dict[str, int] = {}
        self._restarted: Counter[str] = Counter()
        """program title -> how many times the soak itself made it exit"""

    @property
    def _rest(self) -> RestClient:
        return self._session.rest

    def run(self) -> Summary:
        try:
            self._clean_previous()
            for change in self._churn.setup():
                self._apply(change)
            self._converge("the soak's first objects")
            self._baseline = {p.title: p.restarts for p in lab_programs(load(self._layout.record))}
            sampler = Sampler(self._pids, interval=self._options.sample_seconds)
            sampler.start()
            prober = threading.Thread(target=self._probe_throughout, name="soak-prober", daemon=True)
            prober.start()
            try:
                self._churn_until(time.monotonic() + 60 * self._options.minutes)
            finally:
                self._stop_probing.set()
                prober.join()
                sampler.stop()
            self.summary.trends = sampler.trends()
            for trend in self.summary.trends:
                self.summary.leaks += trend.leaks
            started = time.monotonic()
            if self._converge("the end of the churn"):
                self.summary.convergence.append(time.monotonic() - started)
                self._check()
        finally:
            self._session.close()
        return self.summary

    def _pids(self) -> dict[str, int]:
        """The agents' and the controller's current processes."""
        return {
            program.title: program.pid
            for program in lab_programs(load(self._layout.record))
            if program.role in ("agent", "controller") and program.pid is not None and program.running
        }

    # -- churn ----------------------------------------------------------------------------------

    def _churn_until(self, deadline: float) -> None:
        active: tuple[Fault, float] | None = None
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            for _ in range(self._rng.randint(1, 4)):
                self._apply(self._churn.next())
            if active is not None and time.monotonic() >= active[1]:
                self._heal(active[0])
                active = None
            if active is None and self._rng.random() < _FAULT_CHANCE:
                fault = self._fault()
                if self._inject(fault):
                    if isinstance(fault, AgentCutOff):
                        active = (fault, time.monotonic() + self._rng.uniform(5, 15))
                        continue
                    self._heal(fault)
            if active is not None:
                time.sleep(1.0)
                continue
            started = time.monotonic()
            if not self._converge(f"round {rounds}"):
                return
            self.summary.convergence.append(time.monotonic() - started)
        if active is not None:
            self._heal(active[0])

    def _fault(self) -> Fault:
        rng, nodes = self._rng, self._nodes
        choices = ["cut"] + (list(KILLABLE) if self._options.kills else [])
        what = rng.choice(choices)
        if what == "cut":
            node = rng.choice(nodes[1:] or nodes)
            netns = self._record.nodes[nodes.index(node)].netns
            controller = self._record.nodes[0].address.split("/")[0]
            return AgentCutOff(node, netns, controller, CONTROLLER_API_PORT)
        if what in ("agent", "ovs-vswitchd"):
            return KillProgram(self._layout, what, rng.choice(nodes))
        if what == "controller":
            return KillProgram(self._layout, what, nodes[0])
        return KillProgram(self._layout, what)

    def _inject(self, fault: Fault) -> bool:
        try:
            fault.inject()
        except FaultFailed as failed:
            self.summary.discrepancies.append(f"fault {fault.title} could not be injected: {failed}")
            return False
        self.summary.faults.append(fault.title)
        if isinstance(fault, KillProgram):
            self._restarted[fault.program_title] += 1
        self._report(f"fault: {fault.title}")
        return True

    def _heal(self, fault: Fault) -> None:
        try:
            fault.heal()
        except FaultFailed as failed:
            self.summary.discrepancies.append(f"fault {fault.title} did not heal: {failed}")

    def _apply(self, change: Change) -> None:
        """Apply one change, retrying while the API server is away (a fault may have killed it)."""
        kind = _KINDS[change.kind]
        deadline = time.monotonic() + CONVERGE_SECONDS
        while True:
            try:
                if change.verb == "apply":
                    assert change.body is not None
                    self._rest.patch(
                        kind.resource, change.namespace, change.name, change.body,
                        patch_type=PatchType.APPLY, field_manager="pyantctl-soak", force=True,
                    )  # fmt: skip
                elif change.verb == "delete":
                    self._rest.delete(kind.resource, change.namespace, change.name)
                else:
                    patch = {"metadata": {"labels": change.labels}}
                    self._rest.patch(kind.resource, change.namespace, change.name, patch)
                break
            except ApiException as error:
                if error.status == 404 and change.verb == "delete":
                    break
                if error.status < 500 or time.monotonic() > deadline:
                    raise
            except (urllib3.exceptions.HTTPError, OSError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(1.0)
        self.summary.changes[f"{change.verb} {change.kind}"] += 1

    def _clean_previous(self) -> None:
        """Delete the namespaces and ClusterNetworkPolicies a previous soak left, and wait until
        they are gone."""
        for policy in self._rest.list(CLUSTER_NETWORK_POLICY.resource, label_selector=_SOAK_LABEL).items:
            try:
                self._rest.delete(CLUSTER_NETWORK_POLICY.resource, None, policy["metadata"]["name"])
            except ApiException as error:
                if error.status != 404:
                    raise
        for namespace in NAMESPACES:
            try:
                self._rest.delete(NAMESPACE.resource, None, namespace)
            except ApiException as error:
                if error.status != 404:
                    raise
        deadline = time.monotonic() + CONVERGE_SECONDS
        while any(self._exists(namespace) for namespace in NAMESPACES):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the namespaces of a previous soak ({', '.join(NAMESPACES)}) did not go")
            time.sleep(0.5)

    def _exists(self, namespace: str) -> bool:
        try:
            self._rest.get(NAMESPACE.resource, None, namespace)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return True

    # -- convergence ----------------------------------------------------------------------------

    def _progress(self) -> dict[str, Progress]:
        model = self._churn.model
        progress: dict[str, Progress] = {}
        pods_by_ns = {ns: self._rest.list(POD.resource, namespace=ns).items for ns in NAMESPACES}
        pods = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p for ps in pods_by_ns.values() for p in ps
        }
        owned: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for (namespace, name), pod in pods.items():
            deployment = (pod["metadata"].get("labels") or {}).get("deploy")
            if deployment is not None:
                owned.setdefault((namespace, deployment), []).append(pod)
            elif (namespace, name) not in model.pods:
                progress[f"pod {namespace}/{name}"] = Progress(False, "deleted, still there")
        for key in model.pods:
            pod = pods.get(key)
            progress[f"pod {key[0]}/{key[1]}"] = (
                progress_of_pod(pod) if pod else Progress(False, "not there yet")
            )
        for key in model.deployments:
            try:
                deployment = self._rest.get(DEPLOYMENT.resource, *key)
            except ApiException as error:
                if error.status != 404:
                    raise
                progress[f"deployment {key[0]}/{key[1]}"] = Progress(False, "not there yet")
                continue
            progress[f"deployment {key[0]}/{key[1]}"] = progress_of_deployment(deployment, owned.get(key, []))
        for key, pods_left in owned.items():
            if key not in model.deployments:
                progress[f"deployment {key[0]}/{key[1]}"] = Progress(
                    False, f"deleted, {len(pods_left)} pods left"
                )
        for namespace in NAMESPACES:
            for policy in self._rest.list(NETWORK_POLICY.resource, namespace=namespace).items:
                key = (namespace, policy["metadata"]["name"])
                if key not in model.policies:
                    progress[f"networkpolicy {key[0]}/{key[1]}"] = Progress(False, "deleted, still there")
                    continue
                span = policy_span(policy, pods_by_ns[namespace])
                progress[f"networkpolicy {key[0]}/{key[1]}"] = progress_of_policy(policy, span)
        services = {
            (s["metadata"]["namespace"], s["metadata"]["name"])
            for ns in NAMESPACES
            for s in self._rest.list(SERVICE.resource, namespace=ns).items
        }
        for key in services - set(model.services):
            progress[f"service {key[0]}/{key[1]}"] = Progress(False, "deleted, still there")
        for key in set(model.services) - services:
            progress[f"service {key[0]}/{key[1]}"] = Progress(False, "not there yet")
        cluster = self._rest.list(CLUSTER_NETWORK_POLICY.resource, label_selector=_SOAK_LABEL).items
        if cluster or model.cluster_policies:
            namespaces = self._rest.list(NAMESPACE.resource).items
            every_pod = self._rest.list(POD.resource).items
            seen = set()
            for policy in cluster:
                name = policy["metadata"]["name"]
                seen.add(name)
                if name not in model.cluster_policies:
                    progress[f"clusternetworkpolicy {name}"] = Progress(False, "deleted, still there")
                    continue
                span = cluster_policy_span(policy, namespaces, every_pod)
                progress[f"clusternetworkpolicy {name}"] = progress_of_cluster_policy(policy, span)
            for name in model.cluster_policies:
                if name not in seen:
                    progress[f"clusternetworkpolicy {name}"] = Progress(False, "not there yet")
        for program in lab_programs(load(self._layout.record)):
            if not program.running:
                progress[program.title] = Progress(False, f"{program.state}")
        return progress

    def _converge(self, what: str) -> bool:
        """Until everything is done; False (and a discrepancy) when it is not within CONVERGE_SECONDS."""
        deadline = time.monotonic() + CONVERGE_SECONDS
        pending: dict[str, Progress] = {}
        while time.monotonic() < deadline:
            try:
                pending = {name: p for name, p in self._progress().items() if not p.done}
            except _API_ERRORS as error:
                pending = {"API server": Progress(False, f"not answering: {error}")}
            if not pending:
                return True
            time.sleep(0.25)
        states = "; ".join(f"{name}: {p.state}" for name, p in sorted(pending.items())[:10])
        self.summary.discrepancies.append(
            f"the lab did not converge within {CONVERGE_SECONDS:.0f}s after {what}: {states}"
        )
        return False

    # -- probes ---------------------------------------------------------------------------------

    def _probe_pods(self) -> tuple[list[ProbePod], list[dict[str, Any]]]:
        pods, listed = [], []
        for namespace in NAMESPACES:
            for pod in self._rest.list(POD.resource, namespace=namespace).items:
                status = pod.get("status") or {}
                if (
                    status.get("phase") == "Running"
                    and status.get("podIP")
                    and not pod["metadata"].get("deletionTimestamp")
                ):
                    key = f"{namespace}/{pod['metadata']['name']}"
                    netns = pod_netns(self._record.prefix, pod["metadata"]["uid"])
                    pods.append(ProbePod(key, status["podIP"], netns))
                    listed.append(pod)
        return pods, listed

    def _service_ports(self, views: list[PodView]) -> list[tuple[ServicePort, ProbeTarget]]:
        """Every TCP port of the soak's Services with a ClusterIP, as a probe target answered by
        the endpoints `expected` names."""
        found = []
        for namespace in NAMESPACES:
            for service in self._rest.list(SERVICE.resource, namespace=namespace).items:
                address = (service.get("spec") or {}).get("clusterIP")
                if not address or address == "None":
                    continue
                for port in ServicePort.from_k8s(service):
                    answers = tuple(sorted(port.endpoints(views)))
                    found.append((port, ProbeTarget(port.key, address, port.port, answers)))
        return found

    def _probe_throughout(self) -> None:
        while not self._stop_probing.wait(2.0):
            try:
                pods, listed = self._probe_pods()
                services = self._service_ports([PodView.from_k8s(pod) for pod in listed])
                targets = [ProbeTarget(p.pod, p.ip, PROBE_PORT, (p.pod,)) for p in pods]
                targets += [target for _, target in services]
                probe_targets(pods, targets, protocol="TCP", timeout=PROBE_TIMEOUT)  # one prober per pod
                self.summary.probes += 1
            except (ProbeError, *_API_ERRORS):
                continue  # pods come and go, the API server may be killed: traffic, not a check

    # -- the checks -----------------------------------------------------------------------------

    def _check(self) -> None:
        self._check_reachability()
        for index, node in enumerate(self._nodes):
            inspector = NodeInspector(self._layout, node, self._record.nodes[index].netns)
            self._check_leaks(inspector)
        for index, node in enumerate(self._nodes):
            self._check_flows(NodeInspector(self._layout, node, self._record.nodes[index].netns))
        self._check_programs()

    def _check_reachability(self) -> None:
        namespaces = {
            ns: dict(self._rest.get(NAMESPACE.resource, None, ns)["metadata"].get("labels") or {})
            for ns in NAMESPACES
        }
        policies = [
            p for ns in NAMESPACES for p in self._rest.list(NETWORK_POLICY.resource, namespace=ns).items
        ]
        cluster = self._rest.list(CLUSTER_NETWORK_POLICY.resource).items
        wrong: list[str] = []
        for _ in range(4):  # a probe may race the last report of a flow: look again before judging
            pods, listed = self._probe_pods()
            views = [PodView.from_k8s(pod) for pod in listed]
            expected = expected_matrix(views, policies, namespaces, port=PROBE_PORT, cluster_policies=cluster)
            got = probe(pods, protocol="TCP", port=PROBE_PORT, timeout=PROBE_TIMEOUT)
            wrong = [
                f"{a} -> {b}: expected {'reachable' if want else 'dropped'}, probe {got[a][b].value}"
                for a, row in expected.items()
                for b, want in row.items()
                if want is not None and got[a][b] is not (Verdict.REACHABLE if want else Verdict.DROPPED)
            ]
            open_cells = sum(want is None for row in expected.values() for want in row.values())
            services = self._service_ports(views)
            through = probe_targets(pods, [t for _, t in services], protocol="TCP", timeout=PROBE_TIMEOUT)
            judged: Counter[str] = Counter()
            for source in views:
                for port, target in services:
                    want = service_verdict(
                        source, port, views, policies, namespaces, cluster_policies=cluster
                    )
                    if want is ServiceVerdict.OPEN:
                        continue
                    judged[want.value] += 1
                    verdict = through[source.key][target.key]
                    if verdict is not _SERVICE_VERDICTS[want]:
                        wrong.append(
                            f"{source.key} -> Service {port.key} ({target.ip}, endpoints "
                            f"{', '.join(target.answers) or 'none'}): expected {want.value}, "
                            f"probe {verdict.value}"
                        )
            if not wrong:
                self.summary.service_cells = sum(judged.values())
                self._report(
                    f"reachability: {len(pods)}x{len(pods)} probes equal the evaluation of "
                    f"{len(policies)} policies and {len(cluster)} cluster policies"
                    + (f" ({open_cells} left open by a priority tie)" if open_cells else "")
                )
                kinds = ", ".join(f"{count} {verdict}" for verdict, count in sorted(judged.items()))
                self._report(
                    f"services: {sum(judged.values())} of {len(views) * len(services)} probes of "
                    f"{len(services)} Service ports equal the evaluation ({kinds or 'none'}; the rest "
                    "left open: endpoints that disagree, or hairpin)"
                )
                return
            time.sleep(3)
        self.summary.discrepancies += [f"reachability {w}" for w in wrong]

    def _check_leaks(self, node: NodeInspector) -> None:
        pods = [p for ns in NAMESPACES for p in self._rest.list(POD.resource, namespace=ns).items] + [
            p for p in self._rest.list(POD.resource).items if p["metadata"]["namespace"] not in NAMESPACES
        ]
        here = {
            f"{p['metadata']['namespace']}/{p['metadata']['name']}": p
            for p in pods
            if (p.get("spec") or {}).get("nodeName") == node.node
        }
        ports = node.pod_ports()
        port_names = set()
        for port in ports:
            port_names.add(port.name)
            if port.pod not in here:
                self.summary.leaks.append(
                    f"{node.node}: OVS port {port.name} of {port.pod}, not running here"
                )
        for veth in node.veths():
            if veth not in port_names:
                self.summary.leaks.append(f"{node.node}: host veth {veth} is no pod's OVS port")
        addresses = {(p.get("status") or {}).get("podIP") for p in here.values()}
        for address, holder in node.ipam_addresses().items():
            if str(address) not in addresses:
                self.summary.leaks.append(f"{node.node}: host-local address {address} held by {holder[:12]}")
        flows = node.flows()
        for conj in conjunction_leaks(flows):
            self.summary.leaks.append(f"{node.node}: conjunction id {conj} is half a rule")
        for leak in group_leaks(flows, node.groups()):
            self.summary.leaks.append(f"{node.node}: {leak}")

    def _check_flows(self, node: NodeInspector) -> None:
        churned = canonical(node.flows(), node.groups())
        (agent,) = [
            p for p in lab_programs(load(self._layout.record)) if p.role == "agent" and p.node == node.node
        ]
        if agent.pid is None:
            self.summary.discrepancies.append(f"{node.node}: no agent running to restart")
            return
        os.kill(agent.pid, signal.SIGTERM)
        self._restarted[agent.title] += 1
        deadline = time.monotonic() + CONVERGE_SECONDS
        while True:
            now = next(
                p
                for p in lab_programs(load(self._layout.record))
                if p.role == "agent" and p.node == node.node
            )
            if now.running and now.pid != agent.pid and len(node.flow_rounds()) == 1:
                break
            if time.monotonic() > deadline:
                self.summary.discrepancies.append(
                    f"{node.node}: the restarted agent did not take over its flows"
                )
                return
            time.sleep(0.5)
        if not self._converge(f"restarting the agent of {node.node}"):
            return
        fresh = canonical(node.flows(), node.groups())
        found = difference(churned, fresh)
        for line in found.missing:
            what = "group" if line.startswith("group_id=") else "flow"
            self.summary.discrepancies.append(
                f"{node.node}: {what} missing (a fresh agent installs it): {line}"
            )
        for line in found.stale:
            what = "group" if line.startswith("group_id=") else "flow"
            self.summary.discrepancies.append(
                f"{node.node}: stale {what} (a fresh agent does not install it): {line}"
            )
        if not found:
            groups = sum(count for line, count in fresh.items() if line.startswith("group_id="))
            self._report(
                f"{node.node}: {sum(fresh.values()) - groups} flows and {groups} groups equal a fresh agent's"
            )

    def _check_programs(self) -> None:
        """Each program runs, and restarted no more often than the soak made it exit, plus once
        for each kill of kube-apiserver or etcd (which a controller manager or scheduler may exit
        on, losing its leader lease): more is a restart loop, or a crash the soak did not cause."""
        knock_on = self._restarted["kube-apiserver"] + self._restarted["etcd"]
        for program in lab_programs(load(self._layout.record)):
            if not program.running or program.state not in ("running", "unsupervised"):
                self.summary.discrepancies.append(
                    f"{program.title} is {program.state} (last exit {program.last_exit})"
                )
                continue
            restarts = program.restarts - self._baseline.get(program.title, 0)
            caused = self._restarted[program.title]
            if restarts > caused + knock_on:
                self.summary.discrepancies.append(
                    f"{program.title} restarted {restarts} times, the soak made it exit {caused} times "
                    f"(last exit {program.last_exit})"
                )
