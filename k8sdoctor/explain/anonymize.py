"""Anonymization of cluster text sent to an LLM: identifying values become stable tokens.

Object names, namespaces, label values, IP addresses, hostnames and image registries are replaced
by tokens such as ``name-3f9a1c2b`` or ``ip-77d0e415``, derived with a keyed HMAC so the same
value always gives the same token for this user (the cache still hits across runs) while the
tokens reveal nothing to the server. ``restore`` turns the tokens in the model's answer back into
the real values. The values come from the cluster state (every object's name and namespace, the
names pods reference, label values, container and volume names, image registries) and from
patterns (IPs, host names ending in a known top-level domain) for those the state does not know.
Public names (``kube-system``, ``docker.io``, ``nvidia.com/gpu``) and words every cluster uses
(a container named ``app``, a label ``tier: backend``) are kept: they identify nobody, and
masking a word would mask it in every message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from k8sdoctor.cluster.state import ClusterState

KEY_BYTES = 32

PUBLIC_NAMES = frozenset({
    "default", "kube-system", "kube-public", "kube-node-lease", "kubernetes",
    "kube-root-ca.crt", "kube-dns", "coredns", "kube-proxy", "localhost",
})
PUBLIC_HOSTS = frozenset({
    "index.docker.io", "registry-1.docker.io", "ghcr.io", "quay.io", "gcr.io", "k8s.gcr.io",
    "mcr.microsoft.com", "public.ecr.aws", "nvcr.io", "cluster.local", "eks.amazonaws.com",
    "cloud.google.com", "kubernetes.azure.com",
})
PUBLIC_DOMAINS = (
    "kubernetes.io", "k8s.io", "docker.io", "docker.com", "github.com", "nvidia.com", "amd.com",
    "intel.com", "helm.sh", "cert-manager.io", "istio.io", "linkerd.io", "prometheus.io",
    "coreos.com", "argoproj.io", "fluxcd.io", "karpenter.sh", "cilium.io", "projectcalico.org",
    "kyverno.io", "traefik.io", "openshift.io",
)
"""Domains (and their subdomains) of public projects and vendors: the prefixes of well-known
label keys, API groups and extended resources (``nvidia.com/gpu``). Only domains whose
subdomains all belong to their owner: never a cloud's customer endpoints (``amazonaws.com``)."""
_GENERIC_NAMES = frozenset({
    "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null",
    "latest", "stable", "canary", "primary", "secondary", "main", "master", "backend",
    "frontend", "server", "client", "api", "app", "web", "db", "database", "cache", "worker",
    "controller", "manager", "operator", "agent", "proxy", "sidecar", "init", "job", "cron",
    "webhook", "gateway", "ingress", "egress", "queue", "scheduler", "report", "trainer",
    "general", "system", "platform", "infra", "infrastructure", "monitoring", "logging",
    "metrics", "storage", "network", "networking", "security", "batch", "gpu", "cpu",
    "production", "prod", "staging", "stage", "development", "dev", "test", "testing", "qa",
    "linux", "windows", "amd64", "arm64", "spot", "on-demand", "internal", "external",
    "public", "private", "data", "config", "certs", "tls", "tmp", "logs", "root", "home",
    "registry", "docker",
    "Helm", "helm", "Tiller", "kustomize",
})
"""Label values, container and volume names that are words every cluster uses: kept, since
masking them would also mask the same word in every message."""
_PUBLIC_LABEL_KEYS = frozenset({
    "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
    "node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type",
    "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
    "app.kubernetes.io/managed-by", "app.kubernetes.io/component",
})
"""Label keys whose values are a public vocabulary (an OS, a zone, an instance type)."""
_TLDS = frozenset({
    # generic and common country-code top-level domains
    "com", "net", "org", "io", "dev", "app", "cloud", "ai", "co", "info", "biz", "me", "tech",
    "xyz", "online", "site", "services", "systems", "solutions", "digital", "gov", "edu", "mil",
    "int", "eu", "us", "uk", "de", "fr", "nl", "ch", "at", "be", "se", "no", "dk", "fi", "ie",
    "it", "es", "pt", "pl", "cz", "ru", "ua", "tr", "il", "in", "jp", "cn", "kr", "tw", "hk",
    "sg", "au", "nz", "ca", "mx", "br", "ar", "za",
    # names used for private networks
    "local", "internal", "lan", "corp", "intra", "intranet", "private", "home", "localdomain",
    "example", "test", "invalid", "aws", "azure", "gcp",
})
"""The last label that makes a dotted word a host name. ``resources.limits.memory`` or
``java.net.ConnectException`` is not one."""
_FILE_SUFFIXES = frozenset({
    "py", "js", "ts", "go", "rs", "rb", "java", "jar", "class", "so", "yaml", "yml", "json",
    "toml", "ini", "cfg", "conf", "log", "txt", "md", "html", "xml", "crt", "pem", "key", "sh",
    "lock", "sock", "pid", "tmp", "gz", "zip", "tar", "db", "sql", "csv",
})

# Keys whose value (or nested ``name``) is the name of another object a pod or route refers to.
_REF_NAME_KEYS = frozenset({
    "configMap", "secret", "configMapRef", "secretRef", "configMapKeyRef", "secretKeyRef",
    "scaleTargetRef", "service", "parentRefs", "backendRefs",
})
_REF_VALUE_KEYS = frozenset({
    "secretName", "claimName", "serviceAccountName", "nodeName", "serviceName", "volumeName",
    "storageClassName", "ingressClassName", "gatewayClassName",
})

_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?:ns|name|label|ip|host|registry)-[0-9a-f]{8,16}(?![A-Za-z0-9])"
)
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
                   r"(?![\w]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,6}(?::[0-9a-fA-F]{1,4}){1,6}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,7}:|::(?:[0-9a-fA-F]{1,4}:){0,6}[0-9a-fA-F]{1,4})(?![\w:])"
)
_KEEP_IPS = frozenset({"0.0.0.0", "127.0.0.1", "::", "::1"})
_FQDN = re.compile(
    r"(?<![\w.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
    r"(?!\.\w)"
)
_CLUSTER_DNS = re.compile(r"\.(?:svc|pod)(?:\.cluster\.local)?$|\.cluster\.local$")
_WORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_SEPARATORS = re.compile(r"([._])")


class Anonymizer:
    """Masks identifying values in text with stable keyed tokens, and restores them."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("anonymization key must be at least 16 bytes")
        self._key = key
        self._tokens: dict[str, str] = {}
        """value -> token, for the values known up front (names, namespaces, labels...)."""
        self._values: dict[str, str] = {}
        """token -> value, for every token handed out."""

    # -- what to mask ---------------------------------------------------------------------------

    def add(self, category: str, values: Iterable[str]) -> None:
        """Mask ``values`` as ``category`` tokens. A value already known keeps its first token,
        so add namespaces before names, names before labels."""
        for value in values:
            if value and value not in self._tokens and value not in PUBLIC_NAMES:
                self._tokens[value] = self.token(category, value)

    def add_state(self, state: ClusterState) -> None:
        """Every identifying value the cluster state holds."""
        namespaces, names, labels, registries = _collect(state)
        self.add("ns", namespaces)
        self.add("name", names)
        self.add("registry", registries)
        self.add("label", (v for v in labels if _is_identifying(v)))

    # -- masking --------------------------------------------------------------------------------

    def token(self, category: str, value: str) -> str:
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        for length in (8, 12, 16):
            token = f"{category}-{digest[:length]}"
            if self._values.setdefault(token, value) == value:
                return token
        raise ValueError("anonymization token collision")  # 2**-64: practically unreachable

    def mask(self, text: str) -> str:
        text = _IPV6.sub(lambda m: self._pattern_token("ip", m.group(0)), text)
        text = _IPV4.sub(lambda m: self._pattern_token("ip", m.group(0)), text)
        text = _WORD.sub(lambda m: self._mask_word(m.group(0)), text)
        return _FQDN.sub(lambda m: self._mask_host(m.group(0)), text)

    def mask_tree(self, value: Any, keep: frozenset[str] = frozenset()) -> Any:
        """``value`` (strings, lists, dicts of them) with every string masked, except the
        values of the keys in ``keep``, at any depth."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {key: item if key in keep else self.mask_tree(item, keep)
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.mask_tree(item, keep) for item in value]
        return value

    def restore(self, text: str) -> str:
        """``text`` with every token this anonymizer handed out replaced by its real value."""
        return _TOKEN.sub(lambda m: self._values.get(m.group(0), m.group(0)), text)

    def _pattern_token(self, category: str, value: str) -> str:
        return value if value in _KEEP_IPS else self.token(category, value)

    def _mask_word(self, word: str) -> str:
        if word in self._tokens:
            return self._tokens[word]
        # A known name inside a dotted or underscored run: "web.shop.svc", "web-x2x7k_shop".
        parts = _SEPARATORS.split(word)
        out: list[str] = []
        index = 0
        while index < len(parts):
            for end in range(len(parts) - 1, index - 1, -2):
                candidate = "".join(parts[index:end + 1])
                if candidate in self._tokens:
                    out.append(self._tokens[candidate])
                    index = end + 1
                    break
            else:
                out.append(self._mask_name_prefix(parts[index]))
                index += 1
        return "".join(out)

    def _mask_name_prefix(self, word: str) -> str:
        """``web-7d4b9c8f5-x2x7k`` of a known ``web`` whose pod is gone: the known part masked,
        the generated rest kept."""
        pieces = word.split("-")
        for end in range(len(pieces) - 1, 0, -1):
            prefix = "-".join(pieces[:end])
            if prefix in self._tokens:
                return self._tokens[prefix] + "-" + "-".join(pieces[end:])
        return word

    def _mask_host(self, host: str) -> str:
        lowered = host.lower()
        if is_public_host(lowered):
            return host
        if cluster_dns := _CLUSTER_DNS.search(lowered):
            # In-cluster DNS (web.shop.svc.cluster.local): mask the service and namespace parts.
            head = host[:cluster_dns.start()].split(".")
            return ".".join(self._mask_dns_label(p) for p in head) + host[cluster_dns.start():]
        top = lowered.rsplit(".", 1)[-1]
        if top in _FILE_SUFFIXES or top not in _TLDS:
            return host
        return self.token("host", host)

    def _mask_dns_label(self, label: str) -> str:
        if _TOKEN.fullmatch(label) or label in PUBLIC_NAMES:
            return label
        return self.token("name", label)


def is_public_host(host: str) -> bool:
    """A registry or domain of a public project or vendor, which identifies nobody."""
    host = host.lower()
    return host in PUBLIC_HOSTS or any(
        host == domain or host.endswith(f".{domain}") for domain in PUBLIC_DOMAINS
    )


def _is_identifying(value: str) -> bool:
    """A label value, container or volume name that may say whose cluster this is."""
    return (
        len(value) >= 3
        and value not in _GENERIC_NAMES
        and not re.fullmatch(r"v?[\d.]+", value)
    )


def _collect(state: ClusterState) -> tuple[set[str], set[str], set[str], set[str]]:
    """Namespaces, names, label values and image registries of every object in ``state``."""
    namespaces: set[str] = set()
    names: set[str] = set()
    labels: set[str] = set()
    registries: set[str] = set()
    for kind in state.kinds:
        for obj in state.objects(kind):
            meta = obj.get("metadata") or {}
            if kind == "Namespace":
                namespaces.add(meta.get("name", ""))
            else:
                names.add(meta.get("name", ""))
            namespaces.add(meta.get("namespace") or "")
            labels.update(str(value) for key, value in (meta.get("labels") or {}).items()
                          if key not in _PUBLIC_LABEL_KEYS)
            for ref in meta.get("ownerReferences") or ():
                names.add(ref.get("name", ""))
            names.update(_referenced_names(obj.get("spec")))
            pod_spec = _pod_spec(obj)
            names.update(name for name in _container_and_volume_names(pod_spec)
                         if _is_identifying(name))
            registries.update(_registries(pod_spec))
    return namespaces, names, labels, registries


def _referenced_names(node: Any, parent_key: str = "") -> Iterator[str]:
    """Names of other objects a spec refers to (ConfigMaps, Secrets, claims, accounts...)."""
    if isinstance(node, Mapping):
        if parent_key in _REF_NAME_KEYS and isinstance(node.get("name"), str):
            yield node["name"]
        for key, value in node.items():
            if key in _REF_VALUE_KEYS and isinstance(value, str):
                yield value
            elif key == "imagePullSecrets" and isinstance(value, list):
                yield from (s.get("name", "") for s in value if isinstance(s, Mapping))
            else:
                yield from _referenced_names(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _referenced_names(item, parent_key)


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec of a Pod, of a workload's template, or of a CronJob's job template."""
    spec = obj.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return (template.get("spec") or {}) if isinstance(template, Mapping) else spec


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(field) or ():
            if isinstance(container, Mapping):
                yield container


def _container_and_volume_names(pod_spec: Mapping[str, Any]) -> Iterator[str]:
    yield from (str(c.get("name") or "") for c in _containers(pod_spec))
    for volume in pod_spec.get("volumes") or ():
        if isinstance(volume, Mapping):
            yield str(volume.get("name") or "")


def _registries(pod_spec: Mapping[str, Any]) -> Iterator[str]:
    """Registry hosts of the images a pod spec runs, with their port and without it: the
    ``myregistry`` of ``myregistry:5000`` has no dot for the host-name pattern to find."""
    for container in _containers(pod_spec):
        if registry := image_registry(container.get("image")):
            yield registry
            host = urlsplit(f"//{registry}").hostname or ""
            if "." in host or _is_identifying(host):
                yield host


def image_registry(image: object) -> str | None:
    """The private registry host of an image reference: None for Docker Hub's short form and
    for public registries."""
    if not isinstance(image, str) or "/" not in image:
        return None
    first = image.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost":
        return None if is_public_host(first) else first
    return None


def load_or_create_key(path: Path) -> bytes:
    """The per-user HMAC key at ``path``, created (mode 0600, directory 0700) on first use."""
    try:
        existing = path.read_bytes()
    except FileNotFoundError:
        existing = None
    if existing is not None and len(existing) >= 16:
        return existing
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    try:
        if existing is not None:  # unreadably short: replace it
            os.replace(temporary, path)
            return key
        os.link(temporary, path)  # the first writer wins; a concurrent run reads its key
    except FileExistsError:
        key = path.read_bytes()
    finally:
        temporary.unlink(missing_ok=True)
    return key
