"""Self-signed serving certificates: a CA made for one server, and the certificate it signs.

The controller's controlplane API and the agent's local API both serve TLS with such a pair when
no certificate is configured. The CA's key is never kept: the CA signs this one certificate and
nothing else, so a client that trusts the CA trusts exactly this server.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
CERT_DAYS = 365


@dataclass(frozen=True, slots=True)
class CertificatePair:
    """PEM bytes: the serving certificate, its key, and the CA that signed it."""

    cert: bytes
    key: bytes
    ca: bytes


def self_signed(
    common_name: str,
    dns_names: Iterable[str],
    ip_addresses: Iterable[IPv4Address | IPv6Address] = (),
    *,
    now: datetime.datetime | None = None,
) -> CertificatePair:
    """A new CA and a serving certificate it signs for `common_name`, `dns_names` and `ip_addresses`."""
    now = now or datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(minutes=5)  # tolerate clocks a little behind ours
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{common_name}-ca@{int(now.timestamp())}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
    names.extend(x509.IPAddress(address) for address in ip_addresses)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return CertificatePair(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca.public_bytes(serialization.Encoding.PEM),
    )


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def server_context(pair: CertificatePair) -> ssl.SSLContext:
    """A TLS server context serving `pair` (the ssl module loads keys from files only: they are
    written to a private temporary directory, read, and removed)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="pyantrea-tls-") as directory:
        cert, key = Path(directory) / "tls.crt", Path(directory) / "tls.key"
        cert.write_bytes(pair.cert)
        key.touch(mode=0o600)
        key.write_bytes(pair.key)
        context.load_cert_chain(cert, key)
    return context


def pinned_client_context(ca: str | bytes) -> ssl.SSLContext:
    """A TLS client context that trusts only `ca` (PEM), a CA of `self_signed`. It signed one
    certificate, so a verified chain is that server; the name the client dialled (an address that
    may change with the node's) is not checked."""
    context = ssl.create_default_context(cadata=ca.decode() if isinstance(ca, bytes) else ca)
    context.check_hostname = False
    return context
