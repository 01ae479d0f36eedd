"""Ingresses whose class, backend Services, ports or TLS Secrets do not exist.

Faults reported:

- ``IngressClassNotFound`` (error; warning when named by the deprecated
  ``kubernetes.io/ingress.class`` annotation, which some controllers still match on their own):
  no IngressClass has the name the Ingress asks for, so no controller serves it. Fix: set
  ``spec.ingressClassName`` to one of the cluster's classes (``kubectl get ingressclass``).
- ``IngressClassMissing`` (warning): the Ingress names no class and the cluster has no default
  IngressClass, so most controllers ignore it. Fix: set ``spec.ingressClassName``, or mark one
  class default with the ``ingressclass.kubernetes.io/is-default-class: "true"`` annotation.
- ``BackendServiceNotFound`` (error): a rule routes to a Service that does not exist; requests
  to those paths fail. Fix: create the Service or correct ``backend.service.name``.
- ``BackendServicePortNotFound`` (error): the backend Service exists but has no port with that
  number or name. Fix: correct ``backend.service.port`` to one of the Service's ports.
- ``DefaultBackendNotFound`` (error): ``spec.defaultBackend`` names a Service (or port) that does
  not exist, so unmatched requests fail. Fix: correct or remove ``spec.defaultBackend``.
- ``BackendUnavailable`` (error; warning when the backend's workload is scaled to zero): a
  backend Service exists but has no ready endpoint (its pods are not ready, or there are none),
  so the controller answers 503 Service Unavailable for those paths. A consequence: fix the
  Service's pods (see their findings); the Ingress recovers by itself.
- ``TLSSecretNotFound`` (error): a ``spec.tls`` entry names a Secret that does not exist; the
  controller serves its default certificate for those hosts. Fix: create the Secret, or look at
  the cert-manager Certificate that should issue it.

Not reported: a class GKE's built-in controllers serve without an IngressClass object
(``gce``, ``gce-internal``); missing Services or Secrets when those kinds could not be listed,
or were filtered by ``-n`` / ``-l``; Secret contents (Secrets are read as metadata only); a TLS
Secret that cert-manager is still issuing for an Ingress created less than ten minutes ago; resource
backends (``backend.resource``); ports of ExternalName Services; a ``secretName`` of the form
``namespace/name``, which some controllers (Contour, HAProxy) read as a certificate delegated
from another namespace; a backend without ready endpoints while its pods or Service are minutes
old, or whose Service has no selector, or when neither endpoints nor pods could be read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    describe_event,
    describe_service_ports,
    lacks_service_port,
    ns_flag,
)
from k8sdoctor.analysis.outage import WORKLOAD_KINDS, Outage, service_outage

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CERT_MANAGER_ANNOTATIONS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")
CERT_ISSUANCE_GRACE_SECONDS = 10 * 60
BUILT_IN_CLASSES = frozenset({"gce", "gce-internal"})
"""Classes GKE's built-in ingress controllers serve with no IngressClass object."""


@dataclass(frozen=True)
class _Backend:
    """One Service backend of an Ingress, with where it is written."""

    field: str
    route: str
    service: str
    port: int | str | None
    is_default: bool = False

    @property
    def port_text(self) -> str:
        return f"port {self.port!r}" if isinstance(self.port, str) else f"port {self.port}"


def analyze(state: ClusterState) -> Iterator[Finding]:
    default_classes = [
        c for c in state.objects("IngressClass")
        if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION)
        == "true"
    ]
    for ingress in state.objects("Ingress"):
        if state.has_kind("IngressClass"):
            yield from _check_class(state, ingress, bool(default_classes))
        yield from _check_backends(state, ingress)
        yield from _check_availability(state, ingress)
        yield from _check_tls(state, ingress)


def _check_class(
    state: ClusterState, ingress: Mapping[str, Any], cluster_has_default: bool
) -> Iterator[Finding]:
    meta, spec = ingress["metadata"], ingress.get("spec") or {}
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    annotation = (meta.get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    wanted = spec.get("ingressClassName") or annotation
    classes = sorted(c["metadata"]["name"] for c in state.objects("IngressClass"))
    available = ", ".join(classes) or "none"
    if wanted is None:
        if not cluster_has_default:
            yield Finding.about(
                ingress, severity=Severity.WARNING, reason="IngressClassMissing",
                message=f"Ingress {name} names no IngressClass and the cluster has no default "
                        f"class (classes: {available}), so most controllers ignore it.",
                evidence=["spec.ingressClassName is not set",
                          f"no {LEGACY_CLASS_ANNOTATION} annotation",
                          f"IngressClasses: {available}; none annotated "
                          f"{DEFAULT_CLASS_ANNOTATION}=true"],
                remediation=[
                    f"Set spec.ingressClassName of Ingress {name} to the class of the controller "
                    f"that should serve it: kubectl edit ingress {name}{ns}",
                    "Or mark one class default: kubectl annotate ingressclass "
                    f"{classes[0] if classes else 'CLASS'} {DEFAULT_CLASS_ANNOTATION}=true",
                ],
            )
        return
    if wanted in classes or wanted in BUILT_IN_CLASSES:
        return
    by_spec = bool(spec.get("ingressClassName"))
    where = "spec.ingressClassName" if by_spec else f"annotation {LEGACY_CLASS_ANNOTATION}"
    yield Finding.about(
        ingress,
        severity=Severity.ERROR if by_spec else Severity.WARNING,
        reason="IngressClassNotFound",
        message=f"Ingress {name} asks for IngressClass {wanted!r} ({where}), which does not "
                f"exist (classes: {available}), so no controller may serve it.",
        evidence=[f"{where}={wanted}", f"IngressClasses: {available}"],
        remediation=[f"Set spec.ingressClassName of Ingress {name} to one of: {available}: "
                     f"kubectl edit ingress {name}{ns}",
                     "kubectl get ingressclass  # the controller of each class"]
                    + ([] if by_spec else [f"Replace the deprecated {LEGACY_CLASS_ANNOTATION} "
                                           "annotation by spec.ingressClassName."]),
    )


def _check_backends(state: ClusterState, ingress: Mapping[str, Any]) -> Iterator[Finding]:
    meta = ingress["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    if not absence_is_known(state, "Service", namespace):
        return
    ns = ns_flag(namespace)
    missing: list[_Backend] = []
    bad_port: list[tuple[_Backend, str]] = []
    default_broken: list[str] = []
    for backend in _backends(ingress):
        service = state.get("Service", namespace, backend.service)
        problem = None
        if service is None:
            problem = f"Service {backend.service} does not exist"
            if not backend.is_default:
                missing.append(backend)
        elif lacks_service_port(service, backend.port):
            offered = describe_service_ports(service)
            problem = (f"Service {backend.service} has no {backend.port_text} "
                       f"(it exposes {offered})")
            if not backend.is_default:
                bad_port.append((backend, offered))
        if problem and backend.is_default:
            default_broken.append(problem)
    events = [describe_event(e) for e in state.events_for(ingress) if e.get("type") == "Warning"]
    if missing:
        services = sorted({b.service for b in missing})
        yield Finding.about(
            ingress, severity=Severity.ERROR, reason="BackendServiceNotFound",
            message=f"Ingress {name} routes {_routes(missing)} to Service(s) "
                    f"{', '.join(services)}, which do not exist in namespace {namespace}; "
                    "requests there fail.",
            evidence=[f"{b.field}: service {b.service} {b.port_text}" for b in missing] + events,
            remediation=[f"kubectl get services{ns}",
                         f"Create Service {services[0]}, or correct {missing[0].field}.name in "
                         f"Ingress {name}: kubectl edit ingress {name}{ns}"],
        )
    if bad_port:
        first, offered = bad_port[0]
        yield Finding.about(
            ingress, severity=Severity.ERROR, reason="BackendServicePortNotFound",
            message=f"Ingress {name} routes "
                    + "; ".join(f"{b.route} to {b.port_text} of Service {b.service}, which "
                                f"exposes {o}" for b, o in bad_port) + ".",
            evidence=[f"{b.field}: service {b.service} {b.port_text}" for b, _ in bad_port]
                     + events,
            remediation=[f"Set {first.field}.port of Ingress {name} to a port Service "
                         f"{first.service} exposes ({offered}): kubectl edit ingress {name}{ns}"],
        )
    if default_broken:
        yield Finding.about(
            ingress, severity=Severity.ERROR, reason="DefaultBackendNotFound",
            message=f"The default backend of Ingress {name} is broken: {default_broken[0]}; "
                    "requests that match no rule fail.",
            evidence=[f"spec.defaultBackend: {default_broken[0]}", *events],
            remediation=[f"Correct or remove spec.defaultBackend of Ingress {name}: "
                         f"kubectl edit ingress {name}{ns}"],
        )


def _check_availability(state: ClusterState, ingress: Mapping[str, Any]) -> Iterator[Finding]:
    meta = ingress["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    down: list[tuple[_Backend, Outage]] = []
    outages: dict[str, Outage | None] = {}
    for backend in _backends(ingress):
        service = state.get("Service", namespace, backend.service)
        if service is None or lacks_service_port(service, backend.port):
            continue  # reported as not found
        if backend.service not in outages:
            outages[backend.service] = service_outage(state, service)
        if (outage := outages[backend.service]) is not None:
            down.append((backend, outage))
    if not down:
        return
    ns = ns_flag(namespace)
    first = down[0][1]
    described = "; ".join(dict.fromkeys(f"Service {o.service} has no ready endpoint: {o.why}"
                                        for _, o in down))
    yield Finding.about(
        ingress,
        severity=Severity.WARNING if all(o.scaled_to_zero for _, o in down) else Severity.ERROR,
        reason="BackendUnavailable",
        message=f"Ingress {name} returns 503 for {_routes([b for b, _ in down])}: "
                f"{described}.",
        evidence=[f"{b.field}: service {b.service} {b.port_text}" for b, _ in down]
                 + list(dict.fromkeys(e for _, o in down for e in o.evidence)),
        remediation=[f"kubectl get endpointslices{ns} -l kubernetes.io/service-name="
                     f"{first.service}",
                     f"Fix the pods behind Service {first.service} (see its findings and its "
                     "workload's); the Ingress serves again once an endpoint is ready."],
    )


def _check_tls(state: ClusterState, ingress: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = ingress["metadata"], ingress.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    if not absence_is_known(state, "Secret", namespace):
        return
    annotations = meta.get("annotations") or {}
    issuer = next((f"{a}={annotations[a]}" for a in CERT_MANAGER_ANNOTATIONS
                   if a in annotations), None)
    age = state.age_of(meta.get("creationTimestamp"))
    if issuer and age is not None and age < CERT_ISSUANCE_GRACE_SECONDS:
        return  # cert-manager is still issuing the certificate
    missing = [
        (index, tls["secretName"], tls.get("hosts") or [])
        for index, tls in enumerate(spec.get("tls") or ())
        # "namespace/name" is a controller's delegation to another namespace (Contour, HAProxy)
        if tls.get("secretName") and "/" not in tls["secretName"]
        and state.get("Secret", namespace, tls["secretName"]) is None
    ]
    if not missing:
        return
    ns = ns_flag(namespace)
    secrets = ", ".join(secret for _, secret, _ in missing)
    hosts = ", ".join(h for _, _, hs in missing for h in hs) or "every host"
    remediation = [f"kubectl get secrets{ns}"]
    if issuer:
        remediation.append(f"kubectl describe certificate {missing[0][1]}{ns}  # cert-manager "
                           f"({issuer}) should have issued it")
    remediation.append(f"Create the Secret (kubectl create secret tls {missing[0][1]} "
                       f"--cert=tls.crt --key=tls.key{ns}) or correct "
                       f"spec.tls[{missing[0][0]}].secretName.")
    yield Finding.about(
        ingress, severity=Severity.ERROR, reason="TLSSecretNotFound",
        message=f"Ingress {name} uses TLS Secret(s) {secrets} for {hosts}, which do not exist "
                f"in namespace {namespace}; the controller serves its default certificate "
                "instead.",
        evidence=[f"spec.tls[{i}].secretName={secret} hosts={','.join(hs) or '*'}"
                  for i, secret, hs in missing]
                 + ([f"annotation {issuer}"] if issuer else []),
        remediation=remediation,
    )


def _backends(ingress: Mapping[str, Any]) -> Iterator[_Backend]:
    spec = ingress.get("spec") or {}
    if service := ((spec.get("defaultBackend") or {}).get("service")):
        yield _backend("spec.defaultBackend.service", "unmatched requests", service, True)
    for r, rule in enumerate(spec.get("rules") or ()):
        host = rule.get("host") or "*"
        for p, path in enumerate((rule.get("http") or {}).get("paths") or ()):
            if service := ((path.get("backend") or {}).get("service")):
                yield _backend(f"spec.rules[{r}].http.paths[{p}].backend.service",
                               f"{host}{path.get('path') or '/'}", service)


def _backend(
    field: str, route: str, service: Mapping[str, Any], is_default: bool = False
) -> _Backend:
    port = service.get("port") or {}
    return _Backend(field, route, service.get("name", ""), port.get("number", port.get("name")),
                    is_default)


def _routes(backends: list[_Backend]) -> str:
    return ", ".join(sorted({b.route for b in backends}))


ANALYZER = Analyzer(
    name="ingress",
    kinds=("Ingress", "IngressClass", "Service", "Secret", "Event", "EndpointSlice", "Endpoints",
           "Pod", *WORKLOAD_KINDS),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({
        "IngressClassNotFound", "IngressClassMissing", "BackendServiceNotFound",
        "BackendServicePortNotFound", "DefaultBackendNotFound", "TLSSecretNotFound"
    }),
)
