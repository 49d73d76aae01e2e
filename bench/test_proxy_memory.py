"""AntreaProxy's memory at 10,000 Services x 10 endpoints, the proxier's own.

A real kube-apiserver (`bench.apiserver`) holds the Services and
EndpointSlices (`bench.service_load`: selector-less Services, slices as the EndpointSlice
controller writes them); the proxier runs in a fresh process (`bench.proxy_memory`, through
`bench.isolated`) on a real Open vSwitch bridge: informers' first lists, the first sync in one
bundle, and the stale-round cleanup the agent runs once converged. Two runs, the second a
restart over the first's flows (another round, as an agent restarted); the figure is the higher
peak RSS (VmHWM).

Target <= 400 MB. Measured here (same API server, same minutes): 565 MB before this benchmark
was written (388 MB at the first sync, then the cleanup decoded every flow of the switch), 352 MB
after (324 MB at the first sync). kube-proxy nftables took 274 MB in
`bench.test_proxy_vs_kube_proxy`, a whole process; the AntreaProxy contender there adds the
agent's datapath to what is measured here.

With `--benchmark-disable` (the test command's smoke run) it runs at 300 Services.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bench import isolated
from bench.apiserver import loopback_api_server
from bench.service_load import ServiceLoader
from bench.targets import at_most

pytestmark = [pytest.mark.ovs, pytest.mark.slow, pytest.mark.timeout(1800)]

BRIDGE = "br-bench-pm"
NAMESPACE = "pm"
SERVICES, ENDPOINTS = 10_000, 10
SMOKE_SERVICES = 300
TARGET_MB = 400.0


@pytest.fixture(scope="module")
def kubeconfig() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="pm-", dir="/tmp"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        yield cleanup.enter_context(loopback_api_server(workdir / "kubernetes"))


def test_proxier_memory_at_10000_services_x_10_endpoints(benchmark, figures, module_ovs, kubeconfig):
    services = SERVICES if figures.timing else SMOKE_SERVICES
    loader = ServiceLoader(str(kubeconfig), namespace=NAMESPACE)
    try:
        loader.create_namespace()
        loader.create_services(range(services), endpoints=ENDPOINTS)
    finally:
        loader.close()
    module_ovs.add_bridge(BRIDGE)
    socket = str(module_ovs.paths.mgmt_socket(BRIDGE))
    runs: list[dict] = []

    def run() -> None:
        runs.append(isolated.run("bench.proxy_memory:measure", str(kubeconfig), socket, len(runs) + 1))

    benchmark.pedantic(run, rounds=2)
    for figures_of_run in runs:  # the API server's own `default/kubernetes` Service is there too
        assert figures_of_run["services"][NAMESPACE] == services
        assert figures_of_run["groups"] >= services
        assert figures_of_run["flows"] >= services * (ENDPOINTS + 1)
    peak = max(r["peak_rss_mb"] for r in runs)
    figures.record(
        "peak_rss_mb",
        peak,
        "MB",
        "AntreaProxy's proxier (informers, state, flows and groups) at 10,000 Services x 10 endpoints, "
        "peak RSS",
        target=at_most(TARGET_MB),
    )
    figures.info(runs=runs)
    figures.check()
