"""Fixtures for the Kubernetes edge: the lab's API stand-in in a thread, and clients of it.

Every server and client a fixture starts is stopped or closed in its finalizer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from kube.config import load_api_client
from kube.rest import RestClient
from lab.apiserver import ApiServerSettings, ApiServerThread


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServerThread]:
    """A running API stand-in that keeps its objects in `tmp_path/state.json` (to survive restarts)."""
    server = ApiServerThread(ApiServerSettings(state_file=tmp_path / "state.json", bookmark_interval=0.2))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kubeconfig(apiserver: ApiServerThread, tmp_path: Path) -> Path:
    return apiserver.write_kubeconfig(tmp_path / "kubeconfig")


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
