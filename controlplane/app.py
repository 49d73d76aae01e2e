"""The controller, put together: the composition root shared by the program and the tests.

    async with Controller(config, api_client=client, metrics=Metrics("controller")) as controller:
        controller.api_port        # the gRPC controlplane API (TLS), serving
        await controller.wait()    # until a task fails (TaskFailed)

Start-up, in order: load or make the TLS certificate and publish its CA (the `caPublishFile`,
and the `caConfigMap` when running in a cluster); pick the token check (the shared secret of
`authTokenFile`, else TokenReview); start the informers, the computation and the status writer;
once the first computation is published, serve the gRPC API. Agents are thus never told an
empty state by a controller that has not finished listing: an agent restarted meanwhile keeps
enforcing what it saved.

    informers ──▶ Computation (engine ─▶ store) ──▶ Dispatcher ──▶ watches (ControlplaneService)
                                                └─▶ StatusBoard ◀── agents' reports
                                                      └─▶ StatusWriter ─▶ NetworkPolicy status
                                                    AgentBoard ◀── agents' heartbeats
"""

from __future__ import annotations

import asyncio
import logging
import os
import random

import urllib3
from kubernetes.client import ApiClient, ApiException

from controlplane.auth.certs import TlsMaterial, load_or_create
from controlplane.auth.publish import publish_config_map, publish_file
from controlplane.auth.shared import SharedSecretAuthenticator, read_secret
from controlplane.auth.tokenreview import TokenReviewAuthenticator
from controlplane.auth.tokens import Authenticator
from controlplane.computation import Computation
from controlplane.compute.inputs import Pod
from controlplane.informers import ClusterInformers
from controlplane.inventory import ObjectCounter
from controlplane.metrics import ControllerMetrics
from controlplane.server.grpcserver import ControlplaneServer
from controlplane.server.service import ControlplaneService
from controlplane.server.watchers import Dispatcher, Watcher
from controlplane.status.agents import AgentBoard
from controlplane.status.board import PolicyStatus, StatusBoard
from controlplane.status.writer import StatusWriter
from controlplane.store.versioned import Store
from pyantrea_api.reports import StatusReport
from pyantrea_config.controller import ControllerConfig
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.metrics import Metrics
from pyantrea_daemon.service import Service
from pyantrea_kube.config import bearer_of, load_api_client
from pyantrea_kube.rest import RestClient

log = logging.getLogger(__name__)

_PUBLISH_BACKOFF = (1.0, 30.0)


class Controller(Service):
    """The pyantrea controller; `start()` returns once the gRPC API serves. Start it once."""

    def __init__(
        self,
        config: ControllerConfig,
        *,
        api_client: ApiClient | None = None,
        metrics: Metrics | None = None,
        status_interval: float = 1.0,
    ) -> None:
        super().__init__(logger=log)
        self.config = config
        self._api_client = api_client
        self._metrics = ControllerMetrics.declare(metrics or Metrics("controller"))
        self._status_interval = status_interval
        self.board = StatusBoard()
        self.agents = AgentBoard()
        self._computation = Computation(metrics=self._metrics)
        self._informers: ClusterInformers | None = None
        self._dispatcher: Dispatcher | None = None
        self._server: ControlplaneServer | None = None

    # -- what the program, the tests and the JSON API use ------------------------------------------

    @property
    def api_port(self) -> int:
        """The bound port of the gRPC API."""
        if self._server is None:
            raise RuntimeError("the controller is not serving")
        return self._server.port

    @property
    def computation(self) -> Computation:
        return self._computation

    @property
    def store(self) -> Store:
        return self._computation.store

    def statuses(self) -> list[PolicyStatus]:
        return self.board.statuses()

    def watchers(self) -> list[Watcher]:
        return self._dispatcher.watchers() if self._dispatcher is not None else []

    def nodes(self) -> list[str]:
        """The names of the cluster's Nodes, sorted."""
        return sorted(node.name for node in self._informers.nodes.store.values()) if self._informers else []

    def pods(self) -> list[Pod]:
        """Every Pod the controller knows."""
        return list(self._informers.pods.store.values()) if self._informers is not None else []

    def api_token(self) -> str | None:
        """The bearer token of the controller's Kubernetes credentials (its ServiceAccount's in a
        pod), shown to the agents' APIs; None when it authenticates otherwise (a certificate)."""
        return None if self._api_client is None else bearer_of(self._api_client.configuration)

    def add_readiness_checks(self, readiness: Readiness) -> None:
        readiness.add_check(
            "informers",
            lambda: None if self._informers is not None and self._informers.synced else "listing objects",
        )
        readiness.add_check(
            "computation", lambda: None if self._computation.published else "computing the first policies"
        )
        readiness.add_check("controlplane-api", lambda: None if self._server is not None else "not serving")

    # -- lifecycle ---------------------------------------------------------------------------------

    async def stop(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        await super().stop()

    async def _start(self) -> None:
        config = self.config
        tls = await asyncio.to_thread(
            load_or_create, config.tls_cert_dir, self_signed=config.self_signed_cert
        )
        if tls.created:
            log.info("made a self-signed CA and serving certificate in %s", config.tls_cert_dir)
        if config.ca_publish_file is not None:
            await asyncio.to_thread(publish_file, config.ca_publish_file, tls.ca)
        if self._api_client is None:
            self._api_client = load_api_client(config.kubeconfig)
            self._stack.callback(self._api_client.close)
        rest = RestClient(self._api_client)
        authenticator = self._authenticator(rest)
        if config.kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            self._tasks.spawn(self._publish_ca(rest, tls), name="ca-publish", finishable=True)

        computation = self._computation
        computation.store.subscribe(self.board.on_events)
        computation.store.subscribe(ObjectCounter(self._metrics.objects).on_events)
        self._informers = informers = ClusterInformers(self._api_client, computation, self.board)
        for informer in informers.informers:
            self._tasks.spawn(informer.run(), name=f"informer-{informer.name}")
        self._tasks.spawn(computation.run(informers.wait_synced), name="computation")
        writer = StatusWriter(
            self.board,
            rest,
            metrics=self._metrics,
            interval=self._status_interval,
        )
        self._tasks.spawn(writer.run(), name="status-writer")
        await self._until_published()

        self._dispatcher = Dispatcher(
            computation.store, capacity=config.watcher_queue_size, metrics=self._metrics
        )
        service = ControlplaneService(
            self._dispatcher, authenticator, on_report=self._on_report, metrics=self._metrics
        )
        server = ControlplaneServer(service, host=str(config.api_bind_address), port=config.api_port, tls=tls)
        await server.start()
        self._server = server

    def _on_report(self, report: StatusReport) -> None:
        self.board.report(report)
        self.agents.report(report)

    def _authenticator(self, rest: RestClient) -> Authenticator:
        token_file = self.config.auth_token_file
        if token_file is not None:
            log.info("agents authenticate with node tokens of the shared secret in %s", token_file)
            return SharedSecretAuthenticator(read_secret(token_file))
        log.info("agents authenticate with ServiceAccount tokens (TokenReview)")
        return TokenReviewAuthenticator(rest)

    async def _until_published(self) -> None:
        """Wait for the first computation; a task failing first raises its `TaskFailed`."""
        published = asyncio.ensure_future(self._computation.wait_published())
        failed = asyncio.ensure_future(self._tasks.wait())
        try:
            done, _ = await asyncio.wait((published, failed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            published.cancel()
            failed.cancel()
        if failed in done:
            failed.result()

    async def _publish_ca(self, rest: RestClient, tls: TlsMaterial) -> None:
        delay, ceiling = _PUBLISH_BACKOFF
        name = self.config.ca_config_map
        while True:
            try:
                await publish_config_map(rest, name, tls.ca)
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
                self._metrics.sync_errors.labels(target="ca-publish").inc()
                wait = delay * random.uniform(0.8, 1.2)
                log.warning("publishing the CA to ConfigMap kube-system/%s failed: %s; retrying", name, error)
                await asyncio.sleep(wait)
                delay = min(delay * 2, ceiling)
            else:
                log.info("published the CA to ConfigMap kube-system/%s", name)
                return
