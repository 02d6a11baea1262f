"""A local certificate authority and per-service certificates, for development and tests.

`bourse certs init` and `bourse up` write them; production issues the same shape with cert-manager
(deploy/k8s). Each certificate names one service identity in its subject common name (CN) and as a URI SAN
`spiffe://bourse/<identity>`; servers authorise callers by that identity (`identity_from_pem`). Every
certificate is valid both as a server and as a client certificate, since services call each other with
mutual TLS. Keys are ECDSA P-256 (fast handshakes, accepted by gRPC and nats-server).

Files written by `write_dev_pki(directory)`: `ca.crt`, `ca.key`, and `<identity>.crt` / `<identity>.key` for
each identity. Private keys are written with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Every identity a Bourse process can hold. "admin" is the operator's CLI (key admin, reports, pricing).
SERVICE_IDENTITIES: Sequence[str] = (
    "router",
    "gateway",
    "cache",
    "local-inference",
    "provider-adapter",
    "ledger",
    "admin",
    "nats",
)
# Host names every development certificate is valid for: loopback, and the in-cluster names of deploy/k8s.
LOOPBACK_HOSTS: Sequence[str] = ("localhost", "127.0.0.1", "::1")
SPIFFE_PREFIX = "spiffe://bourse/"
CA_COMMON_NAME = "Bourse development CA"
_CA_DAYS = 3650
_LEAF_DAYS = 825  # the longest leaf lifetime clients (browsers, macOS) accept


@dataclass(frozen=True)
class KeyPair:
    """A PEM certificate and its PEM (PKCS#8, unencrypted) private key."""

    cert_pem: bytes
    key_pem: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.UTC)
    # Back-dated a little so a peer whose clock is slightly behind accepts a fresh certificate.
    return now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)


def _subject_alt_names(identity: str, hosts: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(SPIFFE_PREFIX + identity)]
    for host in dict.fromkeys((identity, *hosts)):  # ordered, without repeats
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


class CertificateAuthority:
    """A CA that issues service certificates. `create()` makes a new one; `load()` reads one back."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._cert = cert
        self._key = key

    @classmethod
    def create(cls, common_name: str = CA_COMMON_NAME, *, valid_days: int = _CA_DAYS) -> CertificateAuthority:
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        not_before, not_after = _validity(valid_days)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("the CA key is not an ECDSA key written by this module")
        return cls(x509.load_pem_x509_certificate(cert_pem), key)

    @property
    def pair(self) -> KeyPair:
        return KeyPair(self._cert.public_bytes(serialization.Encoding.PEM), _key_pem(self._key))

    def issue(self, identity: str, *, hosts: Iterable[str] = LOOPBACK_HOSTS, valid_days: int = _LEAF_DAYS) -> KeyPair:
        """A certificate for `identity` (CN and URI SAN), valid for TLS server and client use on `hosts`."""
        if not identity or "/" in identity:
            raise ValueError(f"invalid service identity {identity!r}")
        key = _new_key()
        not_before, not_after = _validity(valid_days)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(_subject_alt_names(identity, hosts)), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def identity_from_pem(cert_pem: bytes) -> str:
    """The service identity a certificate names: its `spiffe://bourse/<identity>` URI SAN, else its CN."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        uris = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.UniformResourceIdentifier
        )
    except x509.ExtensionNotFound:
        uris = []
    for uri in uris:
        if uri.startswith(SPIFFE_PREFIX):
            return uri.removeprefix(SPIFFE_PREFIX)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise ValueError("the certificate names no identity (no spiffe://bourse/ URI SAN, no CN)")
    return str(names[0].value)


@dataclass(frozen=True)
class DevPki:
    """Where `write_dev_pki` put the files."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    def cert(self, identity: str) -> Path:
        return self.directory / f"{identity}.crt"

    def key(self, identity: str) -> Path:
        return self.directory / f"{identity}.key"


def _write(path: Path, data: bytes, *, private: bool) -> None:
    # Written to a temporary name, then renamed: a process reloading on change never reads half a file.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def write_dev_pki(
    directory: Path,
    *,
    identities: Iterable[str] = SERVICE_IDENTITIES,
    hosts: Iterable[str] = LOOPBACK_HOSTS,
    overwrite: bool = False,
) -> DevPki:
    """Write a CA and a certificate per identity under `directory`; keep what exists unless `overwrite`.

    An existing CA is reused (certificates already issued by it stay valid); a missing certificate is issued
    by it. With `overwrite`, a new CA and new certificates replace everything.
    """
    pki = DevPki(directory)
    directory.mkdir(parents=True, exist_ok=True)
    host_list = tuple(hosts)
    if not overwrite and pki.ca_cert.exists() and pki.ca_key.exists():
        ca = CertificateAuthority.load(pki.ca_cert.read_bytes(), pki.ca_key.read_bytes())
    else:
        ca = CertificateAuthority.create()
        _write(pki.ca_cert, ca.pair.cert_pem, private=False)
        _write(pki.ca_key, ca.pair.key_pem, private=True)
        overwrite = True  # certificates of an old CA would no longer verify
    for identity in identities:
        if not overwrite and pki.cert(identity).exists() and pki.key(identity).exists():
            continue
        pair = ca.issue(identity, hosts=host_list)
        _write(pki.key(identity), pair.key_pem, private=True)
        _write(pki.cert(identity), pair.cert_pem, private=False)
    return pki
