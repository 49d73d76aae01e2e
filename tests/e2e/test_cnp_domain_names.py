"""ClusterNetworkPolicy `domainNames` in the lab, on real packets and the lab's real CoreDNS.

A client pod may reach, under an Admin policy, only the cluster DNS and the names
`*.fq-web.svc.cluster.local` (a headless Service whose name resolves to its two pods, one on
each node); everything else it sends is denied by the policy's last rule. Before it resolves
the name, the web pods' addresses are denied like any other; a connection by name (netcat
resolves it, then connects at once) reaches them, because the agent holds the DNS answer until
the learned addresses are in the flows; another Service's name resolves but its pod stays
denied. Probes are TCP (80).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.lab import Lab, namespace_manifest, new_lab, pod_manifest

pytestmark = pytest.mark.ovs

WEB_NAME = "web.fq-web.svc.cluster.local"
TCP_NAME = "tcp.fq-web.svc.cluster.local"
OTHER_NAME = "other.fq-other.svc.cluster.local"


def _headless(namespace: str, name: str, selector: str) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  clusterIP: None
  selector: {{{selector}}}
  ports:
  - {{port: 80, targetPort: 80}}
---
"""


PODS = (
    namespace_manifest("fq-client")
    + namespace_manifest("fq-web")
    + namespace_manifest("fq-other")
    + pod_manifest("fq-client", "client", node="node1")
    + pod_manifest("fq-web", "web-1", node="node1", labels="app: web")
    + pod_manifest("fq-web", "web-2", node="node2", labels="app: web")
    + pod_manifest("fq-other", "other", node="node2", labels="app: other")
    + pod_manifest("fq-web", "tcp-1", node="node2", labels="app: tcp")
    + _headless("fq-web", "web", "app: web")
    + _headless("fq-web", "tcp", "app: tcp")
    + _headless("fq-other", "other", "app: other")
)

POLICY = """\
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: fq-allow-web-by-name}
spec:
  tier: Admin
  priority: 5
  subject:
    namespaces: {matchLabels: {kubernetes.io/metadata.name: fq-client}}
  egress:
  - name: dns
    action: Accept
    to: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    protocols: [{udp: {destinationPort: {number: 53}}}, {tcp: {destinationPort: {number: 53}}}]
  - name: web-by-name
    action: Accept
    to: [{domainNames: ["*.fq-web.svc.cluster.local"]}]
  - name: nothing-else
    action: Deny
    to: [{networks: ["0.0.0.0/0"]}]
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = new_lab(tmp_path_factory)
    try:
        lab.up(2, "vxlan")
        lab.apply(PODS, "--wait")
        yield lab
    finally:
        lab.destroy()


def _connect(lab: Lab, target: str) -> str:
    """What the server at `target` (a name or an address), port 80, answers the client: the
    `namespace/name` of the pod that answered, or '' when the connection failed."""
    done = lab.run("exec", "fq-client/client", "--", "nc", "-4", "-w", "3", target, "80", check=False)
    return done.stdout.split(" ", 1)[0] if done.stdout.strip() else ""


def _retransmitted(lab: Lab) -> int:
    """TCP segments the client has sent again, since its network namespace was made."""
    counters = lab.run("exec", "fq-client/client", "--", "nstat", "-saz", "TcpRetransSegs").stdout
    match = re.search(r"TcpRetransSegs\s+(\d+)", counters)
    assert match, counters
    return int(match.group(1))


def _resolve_over_tcp(lab: Lab, name: str) -> set[str]:
    """The A records of `name` the client gets from kube-dns in a DNS query over TCP (dnspython)."""
    script = (
        "import dns.message, dns.query; "
        f"r = dns.query.tcp(dns.message.make_query({name!r}, 'A'), '10.96.0.10', timeout=5); "
        "print(' '.join(rd.address for rrset in r.answer for rd in rrset if rrset.rdtype == 1))"
    )
    done = lab.run("exec", "fq-client/client", "--", sys.executable, "-c", script)
    return set(done.stdout.split())


def _ip(lab: Lab, namespace: str, name: str) -> str:
    return str(lab.pods(namespace)[name]["status"]["podIP"])


def _node1_flows(lab: Lab, table: int) -> str:
    rundir = lab.directory / "nodes" / "node1" / "ovs"
    return subprocess.run(
        ["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", "br-int", f"table={table}"],
        env={"OVS_RUNDIR": str(rundir)}, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_a_pod_reaches_a_name_it_resolved_and_nothing_else(lab: Lab):
    web1, web2 = _ip(lab, "fq-web", "web-1"), _ip(lab, "fq-web", "web-2")
    other = _ip(lab, "fq-other", "other")
    assert _connect(lab, web1) == "fq-web/web-1"  # no policy yet
    lab.apply(POLICY, "--wait")
    client_ip = _ip(lab, "fq-client", "client")
    intercepts = _node1_flows(lab, 85).replace("ct_state=+rpl+trk,", "")
    assert f"tcp,nw_dst={client_ip},tp_src=53 actions=CONTROLLER" in intercepts
    # Nothing resolved yet: the web pods are denied like everything else.
    assert _connect(lab, web1) == ""
    assert _connect(lab, other) == ""
    # By name: resolved through CoreDNS, then connected at once, and the first SYN gets through
    # (the answer was held until the flows were in); both pods' addresses are learned.
    retransmitted = _retransmitted(lab)
    answered = {_connect(lab, WEB_NAME) for _ in range(6)}
    assert answered <= {"fq-web/web-1", "fq-web/web-2"} and answered, answered
    assert _retransmitted(lab) == retransmitted
    assert _connect(lab, web1) == "fq-web/web-1"
    assert _connect(lab, web2) == "fq-web/web-2"
    egress = _node1_flows(lab, 45)
    assert f"nw_dst={web1} " in egress and f"nw_dst={web2} " in egress
    # Another Service's name resolves, but its pod is not one the policy names.
    assert _connect(lab, OTHER_NAME) == ""
    assert _connect(lab, other) == ""
    assert f"nw_dst={other} " not in _node1_flows(lab, 45)
    # Over TCP too: an answer in a TCP segment is read, learned and held the same way.
    tcp_1 = _ip(lab, "fq-web", "tcp-1")
    assert _connect(lab, tcp_1) == ""
    assert _resolve_over_tcp(lab, TCP_NAME) == {tcp_1}
    assert _connect(lab, tcp_1) == "fq-web/tcp-1"
    lab.run("delete", "clusternetworkpolicy", "fq-allow-web-by-name")
    assert "CONTROLLER" not in _node1_flows(lab, 85)
    assert _connect(lab, other) == "fq-other/other"
