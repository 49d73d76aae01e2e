"""Services and EndpointSlices written into a real kube-apiserver, many at once.

    loader = ServiceLoader(kubeconfig, namespace="px")
    loader.create_services(range(0, 4_000), endpoints=7)       # Service s<i> and its slice s<i>-1
    loader.resize_slices(range(0, 4_000), endpoints=10)         # the same slices with 10 endpoints
    loader.set_endpoints("probe", ["172.16.1.4"])               # one slice changed: one write

Services have no selector, so no controller manager is needed: each EndpointSlice is written
as the EndpointSlice controller would (`kubernetes.io/service-name` label, the
`last-change-trigger-time` annotation, ready endpoints). Service i's endpoints are addresses of
its own (10.200.0.0 + i * per_service + j), none of which answers: only the benchmark's probe
Services point at pods that listen. Requests go out from a pool of threads, one connection
each, as in `bench.apiserver_loader`; any refusal stops the load and names the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

from kubernetes.client import ApiException

from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import NAMESPACES, SERVICES, Resource
from pyantrea_kube.rest import RestClient

ENDPOINT_SLICES = Resource("discovery.k8s.io", "v1", "endpointslices", namespaced=True)
FILLER_BASE = IPv4Address("10.200.0.0")
PORT, TARGET_PORT = 80, 8080
THREADS = 16


class LoadFailed(RuntimeError):
    pass


def service_body(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": [{"name": "http", "port": PORT, "targetPort": TARGET_PORT, "protocol": "TCP"}]},
    }


def slice_body(
    namespace: str, service: str, addresses: Sequence[str], node: str | None = None
) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    endpoint: dict[str, Any] = {"conditions": {"ready": True, "serving": True, "terminating": False}}
    if node is not None:
        endpoint["nodeName"] = node
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service}-1",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service},
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": TARGET_PORT, "protocol": "TCP"}],
        "endpoints": [{**endpoint, "addresses": [address]} for address in addresses],
    }


def filler_addresses(index: int, per_service: int) -> list[str]:
    """Service `index`'s endpoints: addresses of its own that nothing answers on."""
    first = int(FILLER_BASE) + index * per_service
    return [str(IPv4Address(first + j)) for j in range(per_service)]


class ServiceLoader:
    """Writes Services and EndpointSlices into one namespace of an API server."""

    def __init__(self, kubeconfig: str, *, namespace: str) -> None:
        self.namespace = namespace
        self._api = load_api_client(kubeconfig)
        self._api.configuration.connection_pool_maxsize = THREADS
        self.rest = RestClient(self._api, timeout=60.0)

    def close(self) -> None:
        self._api.close()

    def create_namespace(self) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        self._write(lambda: self.rest.create(NAMESPACES, None, body), f"namespace {self.namespace}")

    def create_service(self, name: str, addresses: Sequence[str], node: str | None = None) -> str:
        """One Service and its slice; returns its ClusterIP."""
        created = self._write(
            lambda: self.rest.create(SERVICES, self.namespace, service_body(self.namespace, name)),
            f"service {name}",
        )
        self.create_slice(name, addresses, node)
        return str(created["spec"]["clusterIP"])

    def create_slice(self, service: str, addresses: Sequence[str], node: str | None = None) -> None:
        body = slice_body(self.namespace, service, addresses, node)
        self._write(lambda: self.rest.create(ENDPOINT_SLICES, self.namespace, body), f"slice of {service}")

    def set_endpoints(self, service: str, addresses: Sequence[str], node: str | None = None) -> None:
        """The Service's slice now lists `addresses` (one write, a merge patch)."""
        body = slice_body(self.namespace, service, addresses, node)
        patch = {"metadata": {"annotations": body["metadata"]["annotations"]}, "endpoints": body["endpoints"]}
        self._write(
            lambda: self.rest.patch(ENDPOINT_SLICES, self.namespace, f"{service}-1", patch),
            f"slice of {service}",
        )

    def create_services(self, indexes: Iterable[int], *, endpoints: int) -> int:
        """Services `s<i>` with `endpoints` filler endpoints each, written concurrently."""

        def one(index: int) -> None:
            self.create_service(f"s{index}", filler_addresses(index, endpoints))

        return self._each(one, indexes)

    def resize_slices(self, indexes: Iterable[int], *, endpoints: int) -> int:
        """Services `s<i>` now have `endpoints` filler endpoints each."""
        return self._each(lambda i: self.set_endpoints(f"s{i}", filler_addresses(i, endpoints)), indexes)

    def _each(self, job: Callable[[int], None], indexes: Iterable[int]) -> int:
        with ThreadPoolExecutor(THREADS, thread_name_prefix="px-loader") as pool:
            # list(...) so the first failure is raised here, not lost in an unread iterator
            return len(list(pool.map(job, indexes)))

    def _write(self, call: Callable[[], dict[str, Any]], what: str) -> dict[str, Any]:
        try:
            return call()
        except ApiException as exc:
            raise LoadFailed(f"writing {what} in {self.namespace}: {exc.status} {exc.body}") from exc
