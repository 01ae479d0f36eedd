"""A real control plane for the e2e tests: our etcd and kube-apiserver on 127.0.0.1.

``ControlPlane`` starts both from the binaries ``scripts/build-e2e-binaries`` caches, in a temporary
directory, on free loopback ports, with serving certificates made for the run (``certs.py``), a
static token file (an admin in ``system:masters`` and a few unprivileged users), RBAC
authorization, an audit log (``Metadata`` for everything, the full response for Secrets, so a test
can see what a Secret List really returned), and no admission plugins that would change or reject
fixture objects (webhooks, quotas, defaults from LimitRanges...): the server stores what a fixture
says. It waits for ``/readyz``, writes kubeconfigs, and stops both processes on ``stop``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import urllib3
import yaml

from tests.e2e import certs
from tests.fakeapi import write_kubeconfig

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPOSITORY / "scripts" / "build-e2e-binaries"
GO_MODULE = REPOSITORY / "scripts" / "e2e-control-plane" / "go.mod"

ADMIN = "k8sdoctor-e2e-admin"
USERS = ("k8sdoctor-ci", "k8sdoctor-limited", "k8sdoctor-nobody")
"""Users with no rights of their own; tests bind roles to them."""

# Everything kube-apiserver enables by default that would change an object on create (defaults
# from LimitRanges, service-account volumes, tolerations, storage classes, finalizers, taints) or
# refuse one (quotas, Pod Security, webhooks the fixtures point at broken Services). Only
# NamespaceLifecycle stays, and the certificate plugins, which fixtures never touch.
DISABLED_ADMISSION = (
    "LimitRanger", "ServiceAccount", "DefaultStorageClass", "PersistentVolumeClaimResize",
    "DefaultTolerationSeconds", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook",
    "ResourceQuota", "StorageObjectInUseProtection", "PodGroupProtection", "Priority",
    "TaintNodesByCondition", "RuntimeClass", "DefaultIngressClass", "PodSecurity",
    "PodTopologyLabels", "MutatingAdmissionPolicy", "ValidatingAdmissionPolicy",
    "NodeDeclaredFeatureValidator", "PodResizeValidator",
)
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "RequestResponse", "resources": [{"group": "", "resources": ["secrets"]}]},
        {"level": "Metadata"},
    ],
}


def kubernetes_version() -> str:
    """The k8s.io/kubernetes version the build script builds (``v1.37.2``)."""
    for line in GO_MODULE.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "k8s.io/kubernetes" and fields[1].startswith("v1."):
            return fields[1]
    raise RuntimeError(f"{GO_MODULE} requires no k8s.io/kubernetes version")


def cached_binaries() -> Path | None:
    """The directory holding ``kube-apiserver`` and ``etcd``: ``$K8SDOCTOR_E2E_BIN``, or the
    build script's cache; None when they are not built."""
    explicit = os.environ.get("K8SDOCTOR_E2E_BIN")
    if explicit:
        candidates = [Path(explicit)]
    else:
        cache = os.environ.get("K8SDOCTOR_E2E_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "k8sdoctor-e2e")
        candidates = [Path(cache) / kubernetes_version()]
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in ("kube-apiserver", "etcd")):
            return directory
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Token:
    user: str
    token: str


class ControlPlane:
    """``start()`` brings etcd and kube-apiserver up; ``stop()`` ends both and removes etcd's
    data. ``extra_args`` go to kube-apiserver."""

    def __init__(self, binaries: Path, workdir: Path, *, service_cidr: str = "10.96.0.0/16",
                 extra_args: Sequence[str] = ()) -> None:
        self.binaries = binaries
        self.workdir = workdir
        self.service_cidr = service_cidr
        self.extra_args = tuple(extra_args)
        self.tokens = {name: Token(name, f"{name}-{os.urandom(12).hex()}")
                       for name in (ADMIN, *USERS)}
        self.port = 0
        self.etcd_url = ""
        self.audit_log = workdir / "audit.log"
        self.ca_file = workdir / "pki" / "ca.crt"
        self._processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self._http: urllib3.PoolManager | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> ControlPlane:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pki = certs.make_pki(self.workdir / "pki")
        token_file = self.workdir / "tokens.csv"
        # token,user,uid[,"group,..."]: the admin is in system:masters, bound to cluster-admin.
        token_file.write_text("".join(
            f"{t.token},{t.user},{t.user}" + (',"system:masters"' if t.user == ADMIN else "")
            + "\n" for t in self.tokens.values()), encoding="utf-8")
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY), encoding="utf-8")

        client_port, peer_port, self.port = free_port(), free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        self._spawn("etcd", [
            str(self.binaries / "etcd"), f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-url={self.etcd_url}",
            f"--listen-peer-url=http://127.0.0.1:{peer_port}",
        ])
        self._spawn("kube-apiserver", [
            str(self.binaries / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--storage-media-type=application/json",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--cert-dir={self.workdir / 'pki'}",
            f"--tls-cert-file={pki.server_cert}", f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={token_file}",
            "--authorization-mode=RBAC", "--allow-privileged=true",
            f"--service-account-issuer=https://127.0.0.1:{self.port}",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={self.service_cidr}",
            "--endpoint-reconciler-type=none",
            # No kubelet runs: a log request must fail inside the server, never dial a fixture
            # node's address. No fixture node has an address of this type.
            "--kubelet-preferred-address-types=ExternalDNS",
            f"--disable-admission-plugins={','.join(DISABLED_ADMISSION)}",
            f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
            "--audit-log-mode=blocking",
            "--event-ttl=24h",
            *self.extra_args,
        ])
        self._wait_ready(timeout)
        return self

    def stop(self) -> None:
        for process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self._processes):
            try:  # a test server: nothing is lost by not waiting out a graceful shutdown
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._http is not None:
            self._http.clear()
        # The logs and the audit log stay for a failed run to be read; etcd's data goes.
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self._logs.append(log)
        self._processes.append(subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.workdir))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process, name in zip(self._processes, ("etcd", "kube-apiserver"), strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: "
                                       f"{self.log_tail(name)}")
            try:
                status, body = self.request("GET", "/readyz")
            except urllib3.exceptions.HTTPError:
                status, body = 0, b""
            # Ready, and the server has made its own objects (the kubernetes Service holds the
            # first service IP: a fixture's copy must replace it, not race it).
            if status == 200 and body.strip() == b"ok" and self.request(
                    "GET", "/api/v1/namespaces/default/services/kubernetes")[0] == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"kube-apiserver not ready within {timeout:g}s: "
                           f"{self.log_tail('kube-apiserver')}")

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    # -- access ---------------------------------------------------------------------------------

    def kubeconfig(self, path: Path, user: str = ADMIN, *, token: str | None = None,
                   context: str = "e2e") -> Path:
        """A kubeconfig that logs in as ``user`` (or with ``token``), trusting our CA."""
        return write_kubeconfig(path, self.url, context=context,
                                cluster={"certificate-authority": str(self.ca_file)},
                                user={"token": token or self.tokens[user].token})

    def request(self, method: str, path: str, body: Any = None, *, user: str = ADMIN,
                content_type: str = "application/json", accept: str = "application/json",
                ) -> tuple[int, bytes]:
        """One HTTP request as ``user``; (status, body)."""
        if self._http is None:
            context = ssl.create_default_context(cafile=str(self.ca_file))
            self._http = urllib3.PoolManager(maxsize=8, ssl_context=context,
                                             retries=False, timeout=urllib3.Timeout(30))
        headers = {"Authorization": f"Bearer {self.tokens[user].token}", "Accept": accept}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        response = self._http.request(method, self.url + path, body=data, headers=headers)
        return response.status, response.data

    def json(self, method: str, path: str, body: Any = None, *, user: str = ADMIN,
             expect: Sequence[int] = (200, 201), **options: Any) -> dict[str, Any]:
        status, data = self.request(method, path, body, user=user, **options)
        if status not in expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:500]!r}")
        return json.loads(data) if data else {}

    def apply_documents(self, documents: Sequence[dict[str, Any]]) -> None:
        """Create (or replace) RBAC and other plain objects, as ``kubectl apply`` would."""
        from tests.e2e.loader import collection_path, object_path

        for document in documents:
            status, data = self.request("POST", collection_path(document), document)
            if status == 409:
                current = self.json("GET", object_path(document))
                document = {**document, "metadata": {
                    **document["metadata"],
                    "resourceVersion": current["metadata"]["resourceVersion"]}}
                self.json("PUT", object_path(document), document)
            elif status not in (200, 201):
                raise RuntimeError(f"creating {document['kind']} "
                                   f"{document['metadata']['name']}: {status} {data[:300]!r}")

    # -- audit ----------------------------------------------------------------------------------

    def audit_offset(self) -> int:
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def audit_events(self, since: int = 0, user: str | None = None) -> Iterator[dict[str, Any]]:
        """Completed requests logged since byte ``since``, by ``user`` if given."""
        with self.audit_log.open("rb") as log:
            log.seek(since)
            for line in log:
                event = json.loads(line)
                if event.get("stage") != "ResponseComplete":
                    continue
                if user is None or event["user"]["username"] == user:
                    yield event
