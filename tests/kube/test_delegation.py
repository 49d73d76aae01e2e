"""The agent's API guard against a real kube-apiserver: bearer tokens reviewed (TokenReview) and
paths authorized (SubjectAccessReview) with the ServiceAccounts and RBAC of manifests/pyantrea.yml,
over TLS with a self-signed certificate that clients pin by its CA. The guard asks the API server
with the agent's own ServiceAccount token, so the agent's RBAC is exercised too."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from agent.observe.access import ApiAccess
from lab.identities import AGENT_ACCOUNT, CONTROLLER_ACCOUNT, install_identities, request_token
from lab.kubernetes.kubeconfigs import write_kubeconfig
from pyantrea_daemon.certificates import pinned_client_context
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer
from pyantrea_kube.config import load_api_client
from pyantrea_kube.rest import RestClient
from tests.kubecluster import LoopbackCluster, wait_for_default_account

log = logging.getLogger(__name__)

PYANTCTL_ACCOUNT = "pyantctl"
OTHER_ACCOUNT = "default"  # kube-system/default: a real account, bound to nothing of pyantrea's

Answer = tuple[int, object, str | None]


def guarded_requests(
    cluster: LoopbackCluster, directory: Path, requests: list[tuple[str, str, str | None]]
) -> tuple[list[Answer], ApiAccess]:
    """Serve a route on each of the agent API's paths behind the agent's guard, asking the API
    server with the agent's token; make `requests` (method, path, token) with the pinned CA."""
    token_file = directory / "agent-token"
    admin = load_api_client(cluster.admin_kubeconfig)
    try:
        token_file.write_text(request_token(RestClient(admin), AGENT_ACCOUNT))
    finally:
        admin.close()
    kubeconfig = write_kubeconfig(
        directory / "agent.kubeconfig",
        server=f"https://127.0.0.1:{cluster.plane.settings.api_port}",
        ca=cluster.plane.pki.ca.cert,
        user="pyantrea-agent",
        token_file=token_file,
    )
    agent_client = load_api_client(kubeconfig)
    access = ApiAccess.create("node1", agent_client)

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"served": request.path})

    async def main() -> list[Answer]:
        server = HttpServer(
            host="127.0.0.1",
            port=0,
            readiness=Readiness(logger=log),
            metrics=None,
            logger=log,
            ssl_context=access.ssl_context,
            guard=access.guard,
        )
        for path in ("/api/v1/flows", "/api/v1/podinterfaces"):
            server.add_route("GET", path, hello)
        server.add_route("POST", "/api/v1/trace", hello)
        answers = []
        async with server, aiohttp.ClientSession(f"https://127.0.0.1:{server.port}") as session:
            for method, path, token in requests:
                headers = {} if token is None else {"Authorization": f"Bearer {token}"}
                async with session.request(
                    method, path, headers=headers, ssl=pinned_client_context(access.ca), json={}
                ) as response:
                    answers.append(
                        (response.status, await response.json(), response.headers.get("WWW-Authenticate"))
                    )
        return answers

    try:
        return asyncio.run(main()), access
    finally:
        agent_client.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    with LoopbackCluster(tmp_path_factory.mktemp("kubernetes")) as cluster:
        admin = load_api_client(cluster.admin_kubeconfig)
        try:
            install_identities(RestClient(admin))
            wait_for_default_account(RestClient(admin), "kube-system")
        finally:
            admin.close()
        yield cluster


def token_of(cluster: LoopbackCluster, account: str) -> str:
    admin = load_api_client(cluster.admin_kubeconfig)
    try:
        return request_token(RestClient(admin), account)
    finally:
        admin.close()


def test_without_a_valid_token_every_api_path_answers_401_and_health_stays_open(cluster, tmp_path):
    answers, _ = guarded_requests(
        cluster,
        tmp_path,
        [
            ("GET", "/api/v1/flows", None),
            ("POST", "/api/v1/trace", "not-a-token"),
            ("GET", "/api/v1/podinterfaces", "Basic abc"),
            ("GET", "/livez", None),
            ("GET", "/readyz", None),
        ],
    )
    no_token, bad_token, basic, livez, readyz = answers
    assert no_token[0] == 401
    assert "no bearer token" in no_token[1]["error"]
    assert no_token[2] == 'Bearer realm="pyantrea-agent"'
    assert bad_token[0] == 401
    assert "not valid" in bad_token[1]["error"]
    assert basic[0] == 401
    assert livez[0] == 200
    assert readyz[0] == 200


def test_only_the_controller_and_pyantctl_may_read_the_agent(cluster, tmp_path):
    """Any other account is refused, also the agent's own: Kubernetes' default discovery role
    lets every authenticated user GET /api/*, which a review of the bare path would have let in."""
    controller = token_of(cluster, CONTROLLER_ACCOUNT)
    pyantctl = token_of(cluster, PYANTCTL_ACCOUNT)
    agent = token_of(cluster, AGENT_ACCOUNT)
    other = token_of(cluster, OTHER_ACCOUNT)
    answers, _ = guarded_requests(
        cluster,
        tmp_path,
        [
            ("GET", "/api/v1/flows", pyantctl),
            ("GET", "/api/v1/podinterfaces", pyantctl),
            ("POST", "/api/v1/trace", controller),
            ("GET", "/api/v1/flows", controller),
            ("GET", "/api/v1/flows", agent),
            ("POST", "/api/v1/trace", other),
            ("POST", "/api/v1/flows", pyantctl),  # a verb the ClusterRole does not grant there
        ],
    )
    statuses = [answer[0] for answer in answers]
    assert statuses == [200, 200, 200, 200, 403, 403, 403]
    assert answers[0][1] == {"served": "/api/v1/flows"}
    assert answers[4][1] == {
        "error": 'user "system:serviceaccount:kube-system:pyantrea-agent" may not get /api/v1/flows '
        "(non-resource URL /pyantrea-agent/api/v1/flows)"
    }
    assert "may not post /api/v1/trace" in answers[5][1]["error"]
