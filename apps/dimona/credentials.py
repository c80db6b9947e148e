"""The ONSS client id, private key and certificate.

Production takes them from DIMONA_CLIENT_ID, DIMONA_PRIVATE_KEY and
DIMONA_CERTIFICATE (the certificate uploaded in Chaman). When no key is
configured, a development key pair is generated once under HUB_VAR_DIR so
that the hub and its ONSS simulator agree without any setup.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings


@dataclass(frozen=True)
class DimonaCredentials:
    client_id: str
    private_key_pem: str
    certificate_pem: str


def dimona_credentials() -> DimonaCredentials:
    if settings.DIMONA_PRIVATE_KEY:
        return DimonaCredentials(
            client_id=settings.DIMONA_CLIENT_ID,
            private_key_pem=_unescape(settings.DIMONA_PRIVATE_KEY),
            certificate_pem=_unescape(settings.DIMONA_CERTIFICATE),
        )
    key_pem, cert_pem = _development_key_pair(str(settings.VAR_DIR))
    return DimonaCredentials(settings.DIMONA_CLIENT_ID, key_pem, cert_pem)


def _unescape(pem: str) -> str:
    # Environment files often carry PEM blocks on one line with literal "\n".
    return pem.replace("\\n", "\n")


@cache
def _development_key_pair(var_dir: str) -> tuple[str, str]:
    folder = Path(var_dir) / "dimona-dev"
    key_path, cert_path = folder / "private-key.pem", folder / "certificate.pem"
    if key_path.exists() and cert_path.exists():
        return key_path.read_text(), cert_path.read_text()
    key_pem, cert_pem = generate_key_pair("Hub development (not for the ONSS)")
    folder.mkdir(parents=True, exist_ok=True)
    key_path.write_text(key_pem)
    key_path.chmod(0o600)
    cert_path.write_text(cert_pem)
    return key_pem, cert_pem


def generate_key_pair(common_name: str) -> tuple[str, str]:
    """A 2048-bit RSA key and a self-signed certificate, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()
