"""The controlplane gRPC server: grpc.aio over TLS on the configured address and port.

server = ControlplaneServer(service, host="0.0.0.0", port=10349, tls=material)
await server.start()   # server.port is the bound port
...
await server.stop()    # calls in flight get `grace` seconds
"""

from __future__ import annotations

import ipaddress
import logging

import grpc

from controlplane.auth.certs import TlsMaterial
from controlplane.server.service import ControlplaneService

log = logging.getLogger(__name__)

_OPTIONS = (
    # A second controller on the same port must fail to start, not share it.
    ("grpc.so_reuseport", 0),
    # Agents ping to find dead connections; let them, also while a watch is quiet.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.max_receive_message_length", 16 << 20),
)
_STOP_GRACE_SECONDS = 2.0


def _listen_address(host: str, port: int) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"


class ControlplaneServer:
    """Serves one `ControlplaneService`; start it once."""

    def __init__(self, service: ControlplaneService, *, host: str, port: int, tls: TlsMaterial) -> None:
        self._service = service
        self._host = host
        self._address = _listen_address(host, port)
        self._tls = tls
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the controlplane server is not started")
        return self._port

    async def start(self) -> None:
        """Listen; raises OSError when the address cannot be bound."""
        server = grpc.aio.server(options=_OPTIONS)
        server.add_generic_rpc_handlers((self._service.rpc_handler(),))
        credentials = grpc.ssl_server_credentials([(self._tls.key, self._tls.cert)])
        try:
            port = server.add_secure_port(self._address, credentials)
        except RuntimeError as error:
            raise OSError(f"cannot listen on {self._address}: {error}") from error
        if port == 0:
            raise OSError(f"cannot listen on {self._address}")
        await server.start()
        self._server, self._port = server, port
        log.info(
            "controlplane API listening on %s (TLS)",
            _listen_address(self._address.rsplit(":", 1)[0].strip("[]"), port),
        )

    async def stop(self, grace: float = _STOP_GRACE_SECONDS) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop(grace)
            log.info("controlplane API stopped")
