"""pyantrea_kube.config: an ApiClient from a kubeconfig file or $KUBECONFIG, with the credentials it names,
against a real kube-apiserver (a ServiceAccount's token, checked by the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import ApiClient, ApiException, AuthenticationV1Api

from lab.identities import request_token
from lab.kubernetes.kubeconfigs import write_kubeconfig
from pyantrea_kube.config import KubeConfigError, load_api_client
from pyantrea_kube.rest import RestClient
from tests.kubecluster import LoopbackCluster, wait_for_default_account

ACCOUNT = "system:serviceaccount:default:default"


def token_kubeconfig(kubernetes: LoopbackCluster, path: Path, token: str) -> Path:
    token_file = path.with_suffix(".token")
    token_file.write_text(token)
    settings = kubernetes.plane.settings
    return write_kubeconfig(
        path, server=settings.api_url, ca=kubernetes.plane.pki.ca.cert, user=ACCOUNT, token_file=token_file
    )


@pytest.fixture
def token(kubernetes: LoopbackCluster, rest: RestClient) -> str:
    wait_for_default_account(rest, "default")
    return request_token(rest, "default", namespace="default")


def whoami(client: ApiClient) -> str:
    review = AuthenticationV1Api(client).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1"}
    )
    return str(review.status.user_info.username)


def test_kubeconfig_path_carries_server_and_token(kubernetes: LoopbackCluster, token: str, tmp_path: Path):
    client = load_api_client(token_kubeconfig(kubernetes, tmp_path / "kubeconfig", token))
    try:
        assert whoami(client) == ACCOUNT
    finally:
        client.close()


def test_kubeconfig_from_environment(kubernetes: LoopbackCluster, token: str, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(token_kubeconfig(kubernetes, tmp_path / "env-kubeconfig", token)))
    client = load_api_client()
    try:
        assert whoami(client) == ACCOUNT
    finally:
        client.close()


def test_wrong_token_is_refused(kubernetes: LoopbackCluster, tmp_path: Path):
    client = load_api_client(token_kubeconfig(kubernetes, tmp_path / "kubeconfig", "not-the-token"))
    try:
        with pytest.raises(ApiException) as error:
            whoami(client)
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
