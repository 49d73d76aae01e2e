"""TLS material in tlsCertDir and node tokens of a shared secret."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from controlplane.auth.certs import CA_FILE, CERT_FILE, KEY_FILE, TlsError, create, load_or_create
from controlplane.auth.shared import SharedSecretAuthenticator, node_token
from controlplane.auth.tokens import Identity, bearer_token
from pyantrea_api.server import SERVER_NAME

ROOT = Path(__file__).resolve().parents[2]


def test_self_signed_material_is_made_once_and_reused(tmp_path: Path) -> None:
    made = load_or_create(tmp_path / "tls", self_signed=True)
    assert made.created
    assert (tmp_path / "tls" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    cert = x509.load_pem_x509_certificate(made.cert)
    ca = x509.load_pem_x509_certificate(made.ca)
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert SERVER_NAME in names.get_values_for_type(x509.DNSName)
    again = load_or_create(tmp_path / "tls", self_signed=True)
    assert (again.cert, again.key, again.ca, again.created) == (made.cert, made.key, made.ca, False)


def test_a_broken_set_is_replaced_when_self_signed_and_refused_otherwise(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    first = load_or_create(directory, self_signed=True)
    (directory / KEY_FILE).write_bytes(create().key)  # a key that does not belong to the cert
    with pytest.raises(TlsError, match=f"{KEY_FILE} does not belong to {CERT_FILE}"):
        load_or_create(directory, self_signed=False)
    replaced = load_or_create(directory, self_signed=True)
    assert replaced.created and replaced.ca != first.ca
    (directory / CA_FILE).write_bytes(create().ca)
    with pytest.raises(TlsError, match=f"{CA_FILE} did not sign {CERT_FILE}"):
        load_or_create(directory, self_signed=False)
    with pytest.raises(TlsError, match=f"{CERT_FILE} is missing"):
        load_or_create(tmp_path / "empty", self_signed=False)


def test_a_nearly_expired_self_signed_cert_is_renewed(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    old = create(datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=350))
    directory.mkdir()
    for name, data in ((CERT_FILE, old.cert), (KEY_FILE, old.key), (CA_FILE, old.ca)):
        (directory / name).write_bytes(data)
    assert not load_or_create(directory, self_signed=False).created  # still valid: used as configured
    assert load_or_create(directory, self_signed=True).created


def test_node_tokens_bind_the_node() -> None:
    async def check() -> None:
        authenticator = SharedSecretAuthenticator(b"s3cret")
        assert await authenticator.authenticate(node_token(b"s3cret", "n1")) == Identity("n1")
        forged = node_token(b"s3cret", "n1").replace("n1:", "n2:")
        assert await authenticator.authenticate(forged) is None
        assert await authenticator.authenticate(node_token(b"other", "n1")) is None
        assert await authenticator.authenticate("s3cret") is None
        assert await authenticator.authenticate(":" + node_token(b"s3cret", "n1").split(":")[1]) is None

    asyncio.run(check())
    with pytest.raises(ValueError, match="node name"):
        node_token(b"s3cret", "a:b")


def test_bearer_token_from_metadata() -> None:
    assert bearer_token([("authorization", "Bearer abc")]) == "abc"
    assert bearer_token([("x", "y"), ("authorization", "bearer abc ")]) == "abc"
    assert bearer_token([("authorization", "Basic abc")]) is None
    assert bearer_token([("authorization", "Bearer ")]) is None
    assert bearer_token([]) is None


def test_minting_a_token_from_the_command_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    command = [sys.executable, "-m", "controlplane.auth.shared", "--secret-file", str(secret), "node1"]
    printed = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    assert printed.strip() == node_token(b"s3cret", "node1")
    secret.write_text("  \n")
    failed = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True)
    assert failed.returncode == 2 and "is empty" in failed.stderr
