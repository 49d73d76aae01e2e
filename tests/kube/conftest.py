"""Fixtures for the Kubernetes edge: a real control plane on loopback, and an admin's clients.

Every process and client a fixture starts is stopped or closed in its finalizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from pyantrea_kube.config import load_api_client
from pyantrea_kube.rest import RestClient
from tests.kubecluster import LoopbackCluster


@pytest.fixture
def kubernetes(tmp_path: Path) -> Iterator[LoopbackCluster]:
    with LoopbackCluster(tmp_path / "kubernetes") as cluster:
        yield cluster


@pytest.fixture
def kubeconfig(kubernetes: LoopbackCluster) -> Path:
    return kubernetes.admin_kubeconfig


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[ApiClient]:
    client = load_api_client(kubeconfig)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rest(api_client: ApiClient) -> RestClient:
    return RestClient(api_client)
