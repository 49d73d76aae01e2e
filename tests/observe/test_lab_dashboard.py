"""The dashboard in a real headless browser (Debian's chromium driven by Playwright) against the
lab's controller: components connected and healthy, a policy turning Realized after `lab
apply`, a trace from the page showing the rule whose isolation drops the packet, and the
Services the agents programmed with a trace through one. Screenshots go to artifacts/observe/.

The lab's addresses exist only in its namespaces, so the browser runs from a thread that first
enters the lab's underlay namespace (the browser inherits it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from lab import netns
from lab.up import CONTROLLER_HTTP_PORT
from tests.e2e.lab import Lab, namespace_manifest, pod_manifest

pytestmark = pytest.mark.ovs

T = TypeVar("T")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
NS = "obs-dash"
POLICY = f"""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-client, namespace: {NS}}}
spec:
  podSelector: {{matchLabels: {{pod: server}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{role: client}}}}}}]
    ports: [{{port: 80}}]
"""
CLUSTER_POLICY = f"""\
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {{name: dash-guard}}
spec:
  tier: Admin
  priority: 1
  subject:
    pods:
      namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {NS}}}}}
      podSelector: {{matchLabels: {{pod: server}}}}
  ingress:
  - name: no-81
    action: Deny
    from: [{{namespaces: {{}}}}]
    protocols: [{{tcp: {{destinationPort: {{number: 81}}}}}}]
"""
TIMEOUT_MS = 30_000


def in_lab(lab: Lab, test: Callable[[Page], T]) -> T:
    """Run `test` with a page of chromium started inside the lab's underlay namespace."""
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh")
    underlay = lab.status()["api"]["netns"]

    def browse() -> T:
        netns.enter(underlay)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(TIMEOUT_MS)
                return test(page)
            finally:
                browser.close()

    with ThreadPoolExecutor(1, thread_name_prefix="browser") as thread:
        return thread.submit(browse).result()


def test_dashboard_shows_components_realization_and_a_trace(lab: Lab, artifacts: Path):
    manifest = namespace_manifest(NS)
    manifest += pod_manifest(NS, "client", node="node1", labels="role: client")
    manifest += pod_manifest(NS, "other", node="node1")
    manifest += pod_manifest(NS, "server", node="node2")
    lab.apply(manifest, "--wait")
    controller = lab.status()["controller"]["address"].split(":")[0]

    def test(page: Page) -> None:
        page.goto(f"http://{controller}:{CONTROLLER_HTTP_PORT}/")
        expect(page.locator("#feed")).to_have_text("live")
        controller_row = page.locator('#components tr[data-component="controller"]')
        expect(controller_row.locator(".connection")).to_contain_text("Serving")
        expect(controller_row).to_contain_text("node1")  # the node it runs on, as the lab tells it
        for node in ("node1", "node2"):
            row = page.locator(f'#components tr[data-node="{node}"]')
            expect(row.locator(".connection")).to_contain_text("Connected")
            expect(row.locator(".health")).to_contain_text("Healthy")
            expect(page.locator(f'#nodes tr[data-node="{node}"]')).to_contain_text(
                f"172.16.{int(node[-1]) - 1}.0/24"
            )
        page.screenshot(path=artifacts / "dashboard-components.png", full_page=True)

        lab.apply(POLICY)  # no --wait: the page shows it get there
        policy = page.locator(f'#policies tr[data-policy="{NS}/allow-client"]')
        expect(policy.locator(".phase")).to_have_text("Realized")
        expect(policy.locator(".realized")).to_have_text("1/1")
        expect(
            page.locator(f'#rules tr[data-policy="{NS}/allow-client"][data-rule="ingress[0]"]')
        ).to_be_visible()
        expect(page.locator("#applied-to-groups")).to_contain_text(f"{NS}/server")
        expect(page.locator("#address-groups")).to_contain_text(f"{NS}/client")
        page.screenshot(path=artifacts / "dashboard-realized.png", full_page=True)

        page.fill("input[name=source]", f"{NS}/other")
        page.fill("input[name=destination]", f"{NS}/server")
        page.select_option("select[name=protocol]", "TCP")
        page.fill("input[name=port]", "80")
        page.click("#trace-form button")
        result = page.locator("#trace-result")
        expect(result.locator(".verdict")).to_contain_text("Dropped")
        expect(result.locator('.hop[data-node="node1"]')).to_contain_text("Tunneled")
        dropped = result.locator('.hop[data-node="node2"] .decisions .dropped .rule')
        expect(dropped).to_have_text(f"{NS}/allow-client ingress[0]")
        expect(result.locator('.hop[data-node="node2"] .tables')).to_contain_text("100 IngressDefault")
        page.screenshot(path=artifacts / "dashboard-trace.png", full_page=True)

        page.fill("input[name=source]", f"{NS}/client")
        page.click("#trace-form button")
        expect(result.locator(".verdict")).to_contain_text("Delivered")
        allowed = result.locator('.hop[data-node="node2"] .decisions .allowed .rule')
        expect(allowed).to_have_text(f"{NS}/allow-client ingress[0]")

        # A ClusterNetworkPolicy: named with its tier and priority, its rule with its action,
        # and a trace says which rule of which tier denied the packet.
        lab.apply(CLUSTER_POLICY)
        guard = page.locator('#policies tr[data-policy="dash-guard"]')
        expect(guard).to_contain_text("ClusterNetworkPolicy dash-guard (Admin tier, priority 1)")
        expect(guard.locator(".phase")).to_have_text("Realized")
        expect(
            page.locator('#rules tr[data-policy="dash-guard"][data-rule="ingress[0]:no-81"]')
        ).to_contain_text("Deny")
        page.fill("input[name=port]", "81")
        page.click("#trace-form button")
        expect(result.locator(".verdict")).to_contain_text("Dropped")
        denied = result.locator('.hop[data-node="node2"] .decisions .dropped')
        expect(denied).to_contain_text("denied by")
        expect(denied.locator(".rule")).to_have_text(
            "ClusterNetworkPolicy dash-guard ingress[0]:no-81 (Admin tier)"
        )

    try:
        in_lab(lab, test)
    finally:
        lab.run("delete", "clusternetworkpolicy", "dash-guard", check=False)
    for name in ("dashboard-components.png", "dashboard-realized.png", "dashboard-trace.png"):
        assert (artifacts / name).stat().st_size > 10_000


SERVICE = f"""\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{pod: server}}
  ports: [{{name: http, port: 8080, targetPort: 80, protocol: TCP}}]
"""


def test_dashboard_lists_services_and_traces_a_packet_through_one(lab: Lab, artifacts: Path):
    manifest = namespace_manifest(NS)
    manifest += pod_manifest(NS, "client", node="node1", labels="role: client")
    manifest += pod_manifest(NS, "server", node="node2")
    lab.apply(manifest + SERVICE, "--wait")
    server = lab.pods(NS)["server"]["status"]["podIP"]
    found = lab.json("get", "service", "web", "-n", NS, "-o", "json")
    cluster_ip = (found["items"][0] if "items" in found else found)["spec"]["clusterIP"]
    controller = lab.status()["controller"]["address"].split(":")[0]

    def test(page: Page) -> None:
        page.goto(f"http://{controller}:{CONTROLLER_HTTP_PORT}/")
        row = page.locator(f'#services tr[data-service="{NS}/web"]')
        expect(row).to_contain_text(cluster_ip)
        expect(row).to_contain_text("http 8080/TCP")
        expect(row.locator(".endpoints")).to_have_text(f"{server}:80")
        for node in ("node1", "node2"):  # every agent programmed the endpoint
            expect(row.locator(f'li[data-node="{node}"]')).to_have_text(f"{node}: {server}:80")
        page.screenshot(path=artifacts / "dashboard-services.png", full_page=True)

        page.fill("input[name=source]", f"{NS}/client")
        page.fill("input[name=destination]", cluster_ip)
        page.select_option("select[name=protocol]", "TCP")
        page.fill("input[name=port]", "8080")
        page.click("#trace-form button")
        result = page.locator("#trace-result")
        expect(result.locator(".verdict")).to_contain_text("Delivered")
        expect(result.locator('.hop[data-node="node1"] .service')).to_have_text(
            f"Service {NS}/web http/8080 ({cluster_ip}:8080) → endpoint {server}:80 "
            f"(pod {NS}/server on node2), chosen by datapath-hash"
        )
        expect(result.locator('.hop[data-node="node2"]')).to_contain_text("Delivered")

    in_lab(lab, test)
    assert (artifacts / "dashboard-services.png").stat().st_size > 10_000
