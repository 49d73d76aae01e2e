"""kube.config: an ApiClient from a kubeconfig file or $KUBECONFIG, with the server's token."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import ApiException, CoreV1Api

from kube.config import KubeConfigError, load_api_client
from lab.apiserver import ApiServerSettings, ApiServerThread


@pytest.fixture
def secured(tmp_path: Path):
    server = ApiServerThread(ApiServerSettings(token="lab-token"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_kubeconfig_path_carries_server_and_token(secured: ApiServerThread, tmp_path: Path):
    client = load_api_client(secured.write_kubeconfig(tmp_path / "kubeconfig"))
    try:
        names = [ns.metadata.name for ns in CoreV1Api(client).list_namespace().items]
    finally:
        client.close()
    assert "default" in names


def test_kubeconfig_from_environment(secured: ApiServerThread, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(secured.write_kubeconfig(tmp_path / "env-kubeconfig")))
    client = load_api_client()
    try:
        assert CoreV1Api(client).read_namespace("default").metadata.name == "default"
    finally:
        client.close()


def test_wrong_token_is_refused(secured: ApiServerThread, tmp_path: Path):
    path = tmp_path / "kubeconfig"
    secured.write_kubeconfig(path)
    path.write_text(path.read_text().replace("lab-token", "not-the-token"))
    client = load_api_client(path)
    try:
        with pytest.raises(ApiException) as error:
            CoreV1Api(client).list_namespace()
    finally:
        client.close()
    assert error.value.status == 401


def test_missing_kubeconfig_names_the_path(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    missing = tmp_path / "nowhere" / "kubeconfig"
    with pytest.raises(KubeConfigError, match="nowhere"):
        load_api_client(missing)


def test_unusable_kubeconfig_is_reported(tmp_path: Path):
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n")
    with pytest.raises(KubeConfigError, match="not usable"):
        load_api_client(path)
