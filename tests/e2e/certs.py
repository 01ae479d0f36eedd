"""Certificates for one e2e control plane, made with the ``openssl`` command for each run.

A CA, a serving certificate for 127.0.0.1 and ``localhost`` signed by it (what kubeconfigs trust),
and the key kube-apiserver signs service-account tokens with. EC P-256, valid for a day.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    service_account_key: Path
    service_account_public_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ec_key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(path), cwd=path.parent)


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    _ec_key(ca_key)
    _openssl("req", "-x509", "-new", "-key", str(ca_key), "-out", str(ca_cert), "-days", "1",
             "-subj", "/CN=k8sdoctor-e2e-ca", cwd=directory)

    server_key, server_cert = directory / "apiserver.key", directory / "apiserver.crt"
    csr, extensions = directory / "apiserver.csr", directory / "apiserver.ext"
    _ec_key(server_key)
    _openssl("req", "-new", "-key", str(server_key), "-out", str(csr),
             "-subj", "/CN=kube-apiserver", cwd=directory)
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
             "-CAcreateserial", "-out", str(server_cert), "-days", "1",
             "-extfile", str(extensions), cwd=directory)

    service_account_key = directory / "service-account.key"
    service_account_public_key = directory / "service-account.pub"
    _ec_key(service_account_key)
    _openssl("pkey", "-in", str(service_account_key), "-pubout",
             "-out", str(service_account_public_key), cwd=directory)
    return Pki(ca_cert, server_cert, server_key, service_account_key, service_account_public_key)
