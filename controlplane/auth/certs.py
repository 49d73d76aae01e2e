"""The controller's TLS certificate: loaded from `tlsCertDir`, or made there with a CA of its own.

The directory holds `tls.crt`, `tls.key` and `ca.crt` (the CA that signs `tls.crt`), as a
Kubernetes TLS Secret mounts them. With `selfSignedCert`, a missing, unreadable, mismatched or
nearly expired (30 days) set is replaced by a new CA (whose key is never written) and a serving
certificate for `SERVER_NAME` and the usual names of the Service and loopback; agents then need
the new `ca.crt`, which the controller publishes.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyantrea_api.server import SERVER_NAME

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"
CA_FILE = "ca.crt"

DNS_NAMES = (
    "pyantrea",
    "pyantrea.kube-system",
    SERVER_NAME,
    f"{SERVER_NAME}.cluster.local",
    "localhost",
)
IP_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
CA_DAYS = 3650
CERT_DAYS = 365
RENEW_BEFORE = datetime.timedelta(days=30)


class TlsError(RuntimeError):
    """The configured certificate files are missing or unusable."""


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """PEM bytes of the serving certificate chain, its key, and the CA agents must trust."""

    cert: bytes
    key: bytes
    ca: bytes
    created: bool
    """Whether this start made them (then the CA must be published again)."""


def load_or_create(directory: Path, *, self_signed: bool) -> TlsMaterial:
    """The usable material in `directory`; made anew there when allowed and needed."""
    problem = _problem(directory, RENEW_BEFORE if self_signed else datetime.timedelta(0))
    if problem is None:
        return TlsMaterial(
            (directory / CERT_FILE).read_bytes(),
            (directory / KEY_FILE).read_bytes(),
            (directory / CA_FILE).read_bytes(),
            created=False,
        )
    if not self_signed:
        raise TlsError(f"tlsCertDir {directory}: {problem} (and selfSignedCert is false)")
    material = create()
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / CA_FILE, material.ca, 0o644)
    _write(directory / KEY_FILE, material.key, 0o600)
    _write(directory / CERT_FILE, material.cert, 0o644)
    return material


def create(now: datetime.datetime | None = None) -> TlsMaterial:
    """A new CA and a serving certificate it signs, for `DNS_NAMES` and `IP_ADDRESSES`."""
    now = now or datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(minutes=5)  # tolerate clocks a little behind ours
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"pyantrea-ca@{int(now.timestamp())}")])
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
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in DNS_NAMES]
    names.extend(x509.IPAddress(address) for address in IP_ADDRESSES)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
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
    return TlsMaterial(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca.public_bytes(serialization.Encoding.PEM),
        created=True,
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


def _problem(directory: Path, renew_before: datetime.timedelta) -> str | None:
    """Why the files in `directory` cannot serve (or expire within `renew_before`), or None."""
    try:
        cert = x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        key = serialization.load_pem_private_key((directory / KEY_FILE).read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate((directory / CA_FILE).read_bytes())
    except FileNotFoundError as error:
        return f"{Path(str(error.filename)).name} is missing"
    except (OSError, ValueError, TypeError) as error:
        return f"unreadable certificate or key: {error}"
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        return f"{KEY_FILE} does not belong to {CERT_FILE}"
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return f"{CA_FILE} did not sign {CERT_FILE}"
    if cert.not_valid_after_utc - renew_before < datetime.datetime.now(datetime.UTC):
        return f"{CERT_FILE} expires at {cert.not_valid_after_utc.isoformat()}"
    return None


def _write(path: Path, data: bytes, mode: int) -> None:
    staging = path.with_name(f".{path.name}.tmp")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(staging, mode)
    os.replace(staging, path)
