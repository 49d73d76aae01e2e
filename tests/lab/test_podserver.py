"""The lab pod server, run as the kubelet runs it (in a namespace of its own), answers each TCP
connection and UDP datagram with `namespace/name client-ip:client-port`, and the prober reads
that answer into its verdicts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from lab import netns
from lab.podserver import READY, parse_answer

POD = "development/redis-master-0"


@pytest.fixture
def server(namespace: str) -> Iterator[str]:
    subprocess.run(["ip", "-n", namespace, "link", "set", "lo", "up"], check=True)
    argv = ["ip", "netns", "exec", namespace, sys.executable, "-m", "lab.podserver", "--pod", POD,
            "--listen", "6379/TCP", "--listen", "53/UDP"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == READY
        yield namespace
    finally:
        process.terminate()
        process.wait(5)


def _exchange(namespace: str, protocol: int, port: int, source_port: int) -> tuple[str, str]:
    """Talk to the server from a socket bound to `source_port`, inside the namespace."""
    client = netns.call_in(namespace, lambda: socket.socket(socket.AF_INET, protocol))
    with client:
        client.settimeout(5)
        client.bind(("127.0.0.1", source_port))
        client.connect(("127.0.0.1", port))
        if protocol == socket.SOCK_DGRAM:
            client.send(b"hello\n")
            line = client.recv(512).decode()
        else:
            line = client.makefile().readline()
    return parse_answer(line)


def test_tcp_and_udp_answers_name_the_pod_and_the_client_it_saw(server: str):
    assert _exchange(server, socket.SOCK_STREAM, 6379, 40001) == (POD, "127.0.0.1:40001")
    assert _exchange(server, socket.SOCK_DGRAM, 53, 40002) == (POD, "127.0.0.1:40002")
    assert _exchange(server, socket.SOCK_DGRAM, 53, 40003) == (POD, "127.0.0.1:40003")


def _probe(namespace: str, protocol: str, port: int, targets: list[dict[str, str]]) -> dict[str, str]:
    argv = ["ip", "netns", "exec", namespace, sys.executable, "-m", "lab.prober", "--protocol", protocol,
            "--port", str(port), "--timeout", "2"]  # fmt: skip
    done = subprocess.run(argv, input=json.dumps(targets), capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("protocol", ["TCP", "UDP"])
def test_the_prober_tells_the_right_pod_from_a_wrong_one_and_a_closed_port(server: str, protocol: str):
    port = 6379 if protocol == "TCP" else 53
    targets = [{"pod": POD, "ip": "127.0.0.1"}, {"pod": "development/other", "ip": "127.0.0.1"}]
    assert _probe(server, protocol, port, targets) == {POD: "reachable", "development/other": "wrong"}
    assert _probe(server, protocol, 7000, targets[:1]) == {POD: "refused"}


def test_a_tcp_program_that_accepts_and_stays_silent_counts_as_reachable(server: str):
    """A real program (redis-server) accepts and waits for the client to speak."""
    listener = netns.call_in(server, lambda: socket.create_server(("127.0.0.1", 6380)))
    with listener:
        assert _probe(server, "TCP", 6380, [{"pod": "development/redis", "ip": "127.0.0.1"}]) == {
            "development/redis": "reachable"
        }


def test_a_target_of_its_own_port_counts_any_of_its_answers_as_reachable(server: str):
    """A Service's ClusterIP port: answered by any of its endpoints, on the Service's port."""
    targets = [
        {"pod": "development/svc:6379", "ip": "127.0.0.1", "port": 6379, "answers": [POD, "development/b"]},
        {"pod": "development/svc:6379b", "ip": "127.0.0.1", "port": 6379, "answers": ["development/b"]},
        {"pod": "development/svc:7000", "ip": "127.0.0.1", "port": 7000, "answers": [POD]},
    ]
    assert _probe(server, "TCP", 1, targets) == {
        "development/svc:6379": "reachable",
        "development/svc:6379b": "wrong",
        "development/svc:7000": "refused",
    }
