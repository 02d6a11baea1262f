"""The development CA: files, identities, reuse, and a real mutual-TLS handshake with what it issues."""

from __future__ import annotations

import asyncio
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from shared.tls.dev_ca import SERVICE_IDENTITIES, CertificateAuthority, identity_from_pem, write_dev_pki


def test_writes_a_ca_and_a_certificate_per_identity(tmp_path: Path) -> None:
    pki = write_dev_pki(tmp_path / "certs")
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert stat.S_IMODE(pki.ca_key.stat().st_mode) == 0o600
    for identity in SERVICE_IDENTITIES:
        cert_pem = pki.cert(identity).read_bytes()
        assert identity_from_pem(cert_pem) == identity
        x509.load_pem_x509_certificate(cert_pem).verify_directly_issued_by(ca)
        assert stat.S_IMODE(pki.key(identity).stat().st_mode) == 0o600
    assert {"router", "gateway", "cache", "local-inference", "provider-adapter", "ledger", "admin", "nats"} <= set(
        SERVICE_IDENTITIES
    )


def test_keeps_an_existing_ca_and_issues_only_what_is_missing(tmp_path: Path) -> None:
    first = write_dev_pki(tmp_path, identities=["router"])
    router_before = first.cert("router").read_bytes()
    ca_before = first.ca_cert.read_bytes()
    again = write_dev_pki(tmp_path, identities=["router", "ledger"])
    assert again.ca_cert.read_bytes() == ca_before
    assert again.cert("router").read_bytes() == router_before
    ca = x509.load_pem_x509_certificate(ca_before)
    x509.load_pem_x509_certificate(again.cert("ledger").read_bytes()).verify_directly_issued_by(ca)
    replaced = write_dev_pki(tmp_path, identities=["router"], overwrite=True)
    assert replaced.ca_cert.read_bytes() != ca_before


def test_subject_alt_names_cover_the_hosts_and_the_identity() -> None:
    pair = CertificateAuthority.create().issue("cache", hosts=["localhost", "127.0.0.1", "cache.bourse.svc"])
    san = x509.load_pem_x509_certificate(pair.cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert set(san.value.get_values_for_type(x509.DNSName)) == {"cache", "localhost", "cache.bourse.svc"}
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://bourse/cache"]


@pytest.mark.parametrize("identity", ["", "a/b"])
def test_refuses_an_identity_that_cannot_be_named(identity: str) -> None:
    with pytest.raises(ValueError, match="invalid service identity"):
        CertificateAuthority.create().issue(identity)


def test_a_ca_loads_back_from_its_pem() -> None:
    ca = CertificateAuthority.create()
    loaded = CertificateAuthority.load(ca.pair.cert_pem, ca.pair.key_pem)
    issued = x509.load_pem_x509_certificate(loaded.issue("router").cert_pem)
    issued.verify_directly_issued_by(x509.load_pem_x509_certificate(ca.pair.cert_pem))


async def test_issued_certificates_complete_a_mutual_tls_handshake(tmp_path: Path) -> None:
    pki = write_dev_pki(tmp_path, identities=["router", "gateway"])
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki.ca_cert)
    server_ctx.load_cert_chain(pki.cert("router"), pki.key("router"))
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        seen.append(identity_from_pem(ssl.DER_cert_to_PEM_cert(peer).encode()))
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cafile=pki.ca_cert)
    client_ctx.load_cert_chain(pki.cert("gateway"), pki.key("gateway"))
    async with server:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx, server_hostname="localhost")
        writer.write(b"ping\n")
        assert await reader.readline() == b"ping\n"
        writer.close()
        # A client without a certificate is refused by the server.
        bare = ssl.create_default_context(cafile=pki.ca_cert)
        with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=bare, server_hostname="localhost")
            writer.write(b"ping\n")
            await reader.readexactly(5)
    assert seen == ["gateway"]
