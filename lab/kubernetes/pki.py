"""The lab cluster's PKI: a CA, the API server's serving certificate, client certificates (the
identity Kubernetes reads from CN and O), and the service-account signing key pair.

Everything is written once, at `lab up`, into the lab's `pki/` directory (keys mode 0600). Keys
are ECDSA P-256: Kubernetes takes them for TLS and for service-account tokens (ES256), and they
are made in microseconds where RSA takes tens of milliseconds each.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DAYS = 365
API_SERVER_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
    "localhost",
)


@dataclass(frozen=True, slots=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a client certificate says its holder is: user `name` in `groups`."""

    name: str
    groups: tuple[str, ...] = ()


class Pki:
    """The files of the lab's PKI under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def ca(self) -> KeyPair:
        return self.pair("ca")

    @property
    def service_account_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def service_account_public_key(self) -> Path:
        return self.directory / "sa.pub"

    def pair(self, name: str) -> KeyPair:
        return KeyPair(self.directory / f"{name}.crt", self.directory / f"{name}.key")

    def create(
        self,
        *,
        server_addresses: Sequence[ipaddress.IPv4Address],
        clients: dict[str, Identity],
    ) -> None:
        """Make the CA, the API server's certificate (`apiserver`, valid for the Kubernetes names
        and `server_addresses`), one client certificate per entry of `clients` (file name ->
        identity) and the service-account key pair."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyantrea-lab-ca")])
        ca_cert = (
            _builder(ca_name, ca_name, ca_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self._write(self.ca, ca_cert, ca_key)
        sans: list[x509.GeneralName] = [x509.DNSName(name) for name in API_SERVER_NAMES]
        sans += [x509.IPAddress(address) for address in server_addresses]
        ca = (ca_cert, ca_key)
        self._issue(
            "apiserver", Identity("kube-apiserver"), ca, usage=ExtendedKeyUsageOID.SERVER_AUTH, sans=sans
        )
        for file_name, identity in clients.items():
            self._issue(file_name, identity, ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        signing_key = ec.generate_private_key(ec.SECP256R1())
        _write_private(self.service_account_key, _private_pem(signing_key))
        self.service_account_public_key.write_bytes(
            signing_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def _issue(
        self,
        file_name: str,
        identity: Identity,
        ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
        *,
        usage: x509.ObjectIdentifier,
        sans: Sequence[x509.GeneralName] = (),
    ) -> None:
        ca_cert, ca_key = ca
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in identity.groups]
        subject = x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, identity.name)])
        builder = (
            _builder(subject, ca_cert.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        self._write(self.pair(file_name), builder.sign(ca_key, hashes.SHA256()), key)

    def _write(self, pair: KeyPair, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(pair.key, _private_pem(key))


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
