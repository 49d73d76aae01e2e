"""UDP through AntreaProxy when a client sends again before the first answer, with real packets
in a 2-node lab: every datagram of a new connection is answered through the ClusterIP.

Open vSwitch's conntrack reports such a datagram as +new although the connection is already
committed and DNATed; a pipeline that sends it back to the load-balancing tables loses the
connection's answers (they come back from the endpoint's address, which the client's connected
socket drops). A DNS lookup does exactly this: glibc sends the A and AAAA queries back to back
from one socket. The tests count answers (each awaited with a generous timeout), never time.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.lab import PYANTCTL, Lab, namespace_manifest, new_lab, pod_manifest

pytestmark = [pytest.mark.ovs, pytest.mark.slow]

HELD_PORT = 9000
ROUNDS = 30
BACK_TO_BACK_ROUNDS = 300
LOOKUPS = 100

# Runs in the endpoint pod: answers "ping" at once, and holds the datagrams of a pair until it
# has both from one client, so the client's second datagram always travels before any answer.
HOLDING_SERVER = """\
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
held = {}
while True:
    data, peer = s.recvfrom(2048)
    if data == b"ping":
        s.sendto(b"pong", peer)
        continue
    held.setdefault(peer, []).append(data)
    if len(held[peer]) == 2:
        for datagram in held.pop(peer):
            s.sendto(datagram, peer)
"""

# Runs in a client pod: ROUNDS new connected sockets to HOST:PORT, each sending two datagrams
# (with PAUSE seconds between them, busy-waited; 0: back to back) and waiting for two answers
# (up to 2 s each). Prints the number of answers received, then one line per round that missed.
PAIRS = """\
import socket, sys, time
host, port, rounds, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
answers, missed = 0, []
for round in range(rounds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((host, port))
    s.send(b"first %d" % round)
    until = time.perf_counter() + pause
    while time.perf_counter() < until:
        pass
    s.send(b"second %d" % round)
    got = 0
    try:
        while got < 2:
            s.recv(2048)
            got += 1
    except (socket.timeout, TimeoutError):
        missed.append(f"round {round} from port {s.getsockname()[1]}: {got} of 2 answers")
    answers += got
    s.close()
print(answers)
print("\\n".join(missed))
"""

PING = """\
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(60):
    s.send(b"ping")
    try:
        s.recv(100)
        break
    except (socket.timeout, TimeoutError, ConnectionRefusedError):
        pass
else:
    sys.exit("no answer")
"""

# Runs in a client pod: N lookups of a Service name through glibc's resolver (getaddrinfo for
# any family: the A and AAAA queries back to back from one socket), each allowed one try of
# 3 s, so a lost answer fails the lookup instead of being retried. Prints the lookups that failed.
LOOKUP = """\
set -u
failed=0
for i in $(seq "$1"); do
    RES_OPTIONS="attempts:1 timeout:3" getent ahosts kubernetes.default >/dev/null || failed=$((failed + 1))
done
echo "$failed"
"""


def services_manifest() -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: held, namespace: udp}}
spec:
  selector: {{pod: server}}
  ports: [{{port: {HELD_PORT}, targetPort: {HELD_PORT}, protocol: UDP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: echo, namespace: udp}}
spec:
  selector: {{pod: server}}
  ports: [{{port: 8081, targetPort: 81, protocol: UDP}}]
---
"""


def cluster_ip(lab: Lab, name: str) -> str:
    return lab.json("get", "service", name, "-n", "udp", "-o", "json")["spec"]["clusterIP"]


def pairs(lab: Lab, client: str, host: str, port: int, rounds: int, pause: float) -> tuple[int, str]:
    script = lab.write(PAIRS)
    out = lab.run("exec", client, "--", "python3", str(script), host, str(port), str(rounds), str(pause))
    answers, _, missed = out.stdout.partition("\n")
    return int(answers), missed.strip()


@pytest.fixture(scope="module")
def udp_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Two nodes: the endpoint pod `server` and a client on node1 (a local endpoint), a client
    on node2 (a remote one); the holding server runs in `server` for the module's tests."""
    lab = new_lab(tmp_path_factory)
    server: subprocess.Popen[str] | None = None
    try:
        lab.up(2, "vxlan")
        manifest = namespace_manifest("udp")
        manifest += pod_manifest("udp", "server", node="node1")
        manifest += pod_manifest("udp", "near", node="node1")
        manifest += pod_manifest("udp", "far", node="node2")
        lab.apply(manifest + services_manifest(), "--wait")
        server = subprocess.Popen(
            [str(PYANTCTL), "lab", "exec", "udp/server", "--", "python3", str(lab.write(HOLDING_SERVER)),
             str(HELD_PORT)],
            env=lab.environ, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        ping = lab.write(PING)
        for client in ("udp/near", "udp/far"):  # until both agents have the endpoint
            lab.run("exec", client, "--", "python3", str(ping), cluster_ip(lab, "held"), str(HELD_PORT))
        yield lab
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        lab.destroy()


@pytest.mark.parametrize("client", ["udp/near", "udp/far"])
def test_a_datagram_sent_before_the_first_answer_is_answered_through_the_service(udp_lab: Lab, client: str):
    answers, missed = pairs(udp_lab, client, cluster_ip(udp_lab, "held"), HELD_PORT, ROUNDS, pause=0.05)
    assert answers == 2 * ROUNDS, missed


@pytest.mark.parametrize("client", ["udp/near", "udp/far"])
def test_back_to_back_datagrams_of_new_connections_are_all_answered(udp_lab: Lab, client: str):
    echo = cluster_ip(udp_lab, "echo")
    for pause in (0.0, 0.00005):
        answers, missed = pairs(udp_lab, client, echo, 8081, BACK_TO_BACK_ROUNDS, pause)
        assert answers == 2 * BACK_TO_BACK_ROUNDS, (pause, missed)


@pytest.mark.parametrize("client", ["udp/near", "udp/far"])
def test_every_dns_lookup_gets_its_a_and_aaaa_answers(udp_lab: Lab, client: str):
    script = udp_lab.write(LOOKUP)
    failed = udp_lab.run("exec", client, "--", "sh", str(script), str(LOOKUPS)).stdout.strip()
    assert failed == "0", f"{failed} of {LOOKUPS} lookups of kubernetes.default failed"
