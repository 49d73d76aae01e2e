"""Loads a scenario's objects into a real kube-apiserver, as clients and kubelets would have.

    python -m bench.apiserver_loader xlarge_small_namespaces 0.1 KUBECONFIG

creates the scenario's Namespaces (each with its `default` ServiceAccount, which the
ServiceAccount admission wants before a pod: the controller manager is not running), Nodes,
Pods (then their status, through the `status` subresource, as the kubelet reports it) and
NetworkPolicies, from `bench.apiserver_bodies.manifests`. Requests go out from a pool of
threads, one connection each (the API server handles them concurrently; one at a time, a
tenth of xlarge would take minutes). An object that already exists is left as it is, so a
load can be resumed; any other refusal stops the load and names the object.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes.client import ApiException

from bench.apiserver_bodies import manifests
from bench.test_controlplane_scale import SCENARIOS
from pyantrea_kube.config import load_api_client
from pyantrea_kube.resources import NAMESPACES, NETWORK_POLICIES, NODES, PODS, SERVICE_ACCOUNTS, Resource
from pyantrea_kube.rest import RestClient

THREADS = 16


class LoadFailed(RuntimeError):
    pass


def _create(rest: RestClient, resource: Resource, body: dict[str, Any]) -> None:
    meta = body["metadata"]
    try:
        rest.create(resource, meta.get("namespace"), body)
    except ApiException as exc:
        if exc.status != 409:
            where = f"{meta.get('namespace')}/{meta['name']}" if meta.get("namespace") else meta["name"]
            raise LoadFailed(f"creating {resource.plural} {where}: {exc.status} {exc.body}") from exc


def _pod_status(rest: RestClient, pod: dict[str, Any]) -> None:
    meta = pod["metadata"]
    rest.patch(PODS, meta["namespace"], meta["name"], {"status": pod["status"]}, subresource="status")


def _each(pool: ThreadPoolExecutor, job: Callable[[dict[str, Any]], None], items: Iterable[dict]) -> int:
    # list(...) so the first failure is raised here, not lost in an unread iterator
    return len(list(pool.map(job, items)))


def load(kubeconfig: str, scenario: str, scale: float) -> dict[str, int]:
    """Loads the scenario at `scale`; returns how many objects of each resource it holds."""
    lists = manifests(SCENARIOS[scenario](scale=scale))
    api_client = load_api_client(kubeconfig)
    api_client.configuration.connection_pool_maxsize = THREADS
    rest = RestClient(api_client, timeout=60.0)
    counts: dict[str, int] = {}
    try:
        with ThreadPoolExecutor(THREADS, thread_name_prefix="loader") as pool:
            namespaces = lists["namespaces"]["items"]
            counts["namespaces"] = _each(pool, lambda o: _create(rest, NAMESPACES, o), namespaces)
            accounts = (
                {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "default", "namespace": ns["metadata"]["name"]}}
                for ns in namespaces
            )  # fmt: skip
            _each(pool, lambda o: _create(rest, SERVICE_ACCOUNTS, o), accounts)
            counts["nodes"] = _each(pool, lambda o: _create(rest, NODES, o), lists["nodes"]["items"])
            pods = lists["pods"]["items"]
            counts["pods"] = _each(pool, lambda o: _create(rest, PODS, o), pods)
            _each(pool, lambda o: _pod_status(rest, o), pods)
            policies = lists["networkpolicies"]["items"]
            counts["networkpolicies"] = _each(pool, lambda o: _create(rest, NETWORK_POLICIES, o), policies)
    finally:
        api_client.close()
    return counts


if __name__ == "__main__":
    started = time.perf_counter()
    loaded = load(sys.argv[3], sys.argv[1], float(sys.argv[2]))
    print(json.dumps({**loaded, "seconds": round(time.perf_counter() - started, 1)}))
