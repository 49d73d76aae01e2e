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
from cryptography.hazmat.primitives import serialization

from pyantrea_api.server import SERVER_NAME
from pyantrea_daemon.certificates import self_signed

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
    pair = self_signed(SERVER_NAME, DNS_NAMES, IP_ADDRESSES, now=now)
    return TlsMaterial(pair.cert, pair.key, pair.ca, created=True)


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
