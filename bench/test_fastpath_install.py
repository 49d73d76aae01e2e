"""Install 100k conjunction-shaped flows into a real Open vSwitch in one atomic bundle.

What the agent does, timed whole: the flows built from rule data (each peer address and its
rule, `bench.flows.peer_flows` with the agent's policy flow builders), encoded, streamed as one
bundle, barrier, commit. Against `ovs-ofctl --bundle add-flows` loading the same flows from a
file (parsing the text and encoding are in its time too), on the same netdev bridge in the same
run. Target: at least 2x the rate of ovs-ofctl. Second row, the wire alone (flows built
beforehand: encoding, streaming, commit), target 1.5x. Each round starts from an empty bridge
that ovs-vswitchd has finished emptying; the best round of each is compared.

What limits it, measured (2026-12-06, this 2-core machine under load, CPU seconds from
/proc/<pid>/stat and getrusage, best of three): ovs-vswitchd's own handling of the bundle.
For our bundle of 100k flows it spends 0.28-0.33 s of CPU: 0.22-0.27 s taking the BUNDLE_ADDs
in (decoding each flow mod and making its rule) and 0.06-0.10 s committing, which starts only
after the last flow arrived. Our side costs 0.19-0.21 s building the flows along the agent's
path and 0.014-0.016 s encoding and sending them. `ovs-ofctl` spends 0.32-0.35 s of its own
CPU parsing and encoding before it sends anything, and ovs-vswitchd 0.36-0.44 s on its bundle.
Both open the bundle with the same flags (atomic, ordered) and send the same OFPFC_ADD flow
mods (cookie, match and actions alike: `ovs-ofctl -vvconn`), then a barrier and the commit;
nothing we send makes ovs-vswitchd work more than for ovs-ofctl (less: ovs-ofctl writes one
message at a time, we write batches of 5,000).

So 2x is out of reach: a client that cost nothing would still wait for ovs-vswitchd's
0.28 s, and ovs-ofctl's best round takes 0.55-0.6 s, so the ceiling (`ratio_ceiling`, ovs-ofctl
time over ovs-vswitchd's CPU for our bundle) is about 2.0x on an idle machine, reached only
if building, encoding and sending cost no wall time at all. The wire row already sits within
about 10% of that ceiling. What is left to win is hiding the build behind ovs-vswitchd's
intake: a probe that built the same flows 50 rules at a time and sent each batch as soon as it
was built (ovs-vswitchd taking the first batches on the other core) took 0.42-0.44 s against
0.65 s built first, ovs-ofctl 0.68 s in the same run: about 1.6x. That needs the reconciler to
hand its flows over in batches and `OpenFlowConnection.apply_bundle` to take them as they come.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest
import uvloop

from bench.flows import conjunction_flows_text, peer_flows, peer_rules
from bench.targets import at_least
from fastpath.connection import OpenFlowConnection

N = 100_000
ROUNDS = 3
TARGET_RATIO, TARGET_WIRE_RATIO = 2.0, 1.5


@pytest.fixture(scope="module")
def bridge(module_ovs):
    module_ovs.add_bridge("br-bench")
    return module_ovs


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_idle(pid: int, *, quiet: float = 0.2, limit: float = 10.0) -> None:
    """Until ovs-vswitchd has used no CPU for `quiet` seconds: deleting 100k flows goes on in the
    background after del-flows returns, and an install started then would compete with it."""
    deadline = time.monotonic() + limit
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _cpu_seconds(pid)
        if now == before:
            return
        before = now


def _flow_count(ovs) -> int:
    out = ovs.ofctl("dump-aggregate", "br-bench")
    return int(out.split("flow_count=")[1].split()[0])


def test_install_100k_flows_in_one_bundle(benchmark, figures, bridge, tmp_path):
    n = N if figures.timing else N // 100
    rounds = ROUNDS if figures.timing else 1
    data = peer_rules(n)
    prebuilt = peer_flows(data)
    flow_file = tmp_path / "flows.txt"
    flow_file.write_text(conjunction_flows_text(prebuilt))
    loop = uvloop.new_event_loop()
    conn = loop.run_until_complete(OpenFlowConnection.connect(bridge.paths.mgmt_socket("br-bench")))

    def clear():
        bridge.ofctl("del-flows", "br-bench")
        _wait_until_idle(bridge.pid("ovs-vswitchd"))

    def ours():
        loop.run_until_complete(conn.apply_bundle(adds=peer_flows(data)))

    def wire_only():
        loop.run_until_complete(conn.apply_bundle(adds=prebuilt))

    def ofctl():
        subprocess.run(
            ["ovs-ofctl", "-O", "OpenFlow15", "--bundle", "add-flows",
             f"unix:{bridge.paths.mgmt_socket('br-bench')}", str(flow_file)],
            check=True, env=bridge.paths.env(),
        )  # fmt: skip

    vswitchd = bridge.pid("ovs-vswitchd")

    def timed(fn) -> tuple[float, float]:
        """Wall time of fn, and ovs-vswitchd's CPU time meanwhile."""
        clear()
        cpu = _cpu_seconds(vswitchd)
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        busy = _cpu_seconds(vswitchd) - cpu
        assert _flow_count(bridge) == n
        return elapsed, busy

    try:
        benchmark.pedantic(ours, setup=clear, rounds=rounds)
        assert _flow_count(bridge) == n
        ours_s, _ = min(timed(ours) for _ in range(rounds))
        wire_s, vswitchd_s = min(timed(wire_only) for _ in range(rounds))
        ofctl_s, _ = min(timed(ofctl) for _ in range(rounds))
    finally:
        loop.run_until_complete(conn.close())
        loop.close()
    figures.record(
        "ratio_vs_ovs_ofctl",
        round(ofctl_s / ours_s, 2),
        "x",
        f"100k flows into OVS in one bundle, built from rule data and encoded: {ours_s:.3f} s "
        f"vs `ovs-ofctl --bundle add-flows` {ofctl_s:.3f} s",
        target=at_least(TARGET_RATIO),
    )
    figures.record(
        "wire_ratio_vs_ovs_ofctl",
        round(ofctl_s / wire_s, 2),
        "x",
        f"same, flows built beforehand (encoding, bundle, commit): {wire_s:.3f} s",
        target=at_least(TARGET_WIRE_RATIO),
    )
    if vswitchd_s:
        figures.record(
            "ratio_ceiling",
            round(ofctl_s / vswitchd_s, 2),
            "x",
            f"ceiling: `ovs-ofctl` time over ovs-vswitchd's CPU for our bundle ({vswitchd_s:.3f} s), "
            "the ratio of a client that cost nothing",
        )
    figures.info(
        ours_s=round(ours_s, 3),
        wire_only_s=round(wire_s, 3),
        ovs_ofctl_s=round(ofctl_s, 3),
        flows_per_s=round(n / ours_s),
        # ovs-vswitchd's CPU time for the wire row's bundle: what neither client can go below.
        vswitchd_bundle_cpu_s=round(vswitchd_s, 3),
    )
    figures.check()
