"""Self-signed serving certificates over real TLS on 127.0.0.1: a client that pins the server's
own CA connects whatever address it dialled; one that pins another CA, or trusts the system's
CAs, does not."""

from __future__ import annotations

import asyncio
import logging
import ssl

import aiohttp
import pytest

from pyantrea_daemon.certificates import pinned_client_context, self_signed, server_context
from pyantrea_daemon.health import Readiness
from pyantrea_daemon.http import HttpServer

log = logging.getLogger(__name__)


def livez_with(client: ssl.SSLContext | None) -> int:
    pair = self_signed("pyantrea-agent.node1", ["node1"])

    async def main() -> int:
        server = HttpServer(
            host="127.0.0.1",
            port=0,
            readiness=Readiness(logger=log),
            metrics=None,
            logger=log,
            ssl_context=server_context(pair),
        )
        context = pinned_client_context(pair.ca) if client is None else client
        async with (
            server,
            aiohttp.ClientSession() as session,
            session.get(f"https://127.0.0.1:{server.port}/livez", ssl=context) as response,
        ):
            return response.status

    return asyncio.run(main())


def test_a_client_pinning_the_servers_ca_connects_by_address():
    assert livez_with(None) == 200


def test_a_client_pinning_another_ca_is_refused():
    stranger = self_signed("pyantrea-agent.node1", ["node1"]).ca
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        livez_with(pinned_client_context(stranger))


def test_a_client_trusting_the_system_cas_is_refused():
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        livez_with(ssl.create_default_context())


def test_the_certificate_names_what_it_was_made_for():
    from cryptography import x509

    pair = self_signed("pyantrea-agent.node1", ["node1", "localhost"])
    cert = x509.load_pem_x509_certificate(pair.cert)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["node1", "localhost"]
    ca = x509.load_pem_x509_certificate(pair.ca)
    cert.verify_directly_issued_by(ca)
