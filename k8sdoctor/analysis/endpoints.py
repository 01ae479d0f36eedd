"""The endpoints behind a Service, read the way kube-proxy reads them.

EndpointSlices (discovery.k8s.io/v1) are preferred; the core/v1 Endpoints object is the fallback
when EndpointSlices could not be listed. Dual-stack Services have one slice per address family
listing the same pods, so endpoints are de-duplicated by the pod (or address) they stand for.
Shared by the analyzers that need to know whether anything answers behind a Service.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from k8sdoctor.analysis.objects import absence_is_known, conditions
from k8sdoctor.cluster.state import ClusterState


class Endpoint(NamedTuple):
    """One backend of a Service: usually a pod (a tuple rather than a frozen dataclass, which
    costs three times as much to make: a Service of a large workload has hundreds)."""

    address: str
    ready: bool
    terminating: bool = False
    target_kind: str | None = None
    target_name: str | None = None
    node: str | None = None

    @property
    def label(self) -> str:
        """The pod name when the endpoint names one, else its address."""
        return self.target_name or self.address


@dataclass(frozen=True)
class ServiceEndpoints:
    """What the endpoint controllers publish for one Service."""

    source: str
    """``EndpointSlice``, ``Endpoints`` or ``Pod readiness``: where the endpoints were read."""
    endpoints: tuple[Endpoint, ...]
    objects: tuple[str, ...]
    """The names of the EndpointSlices (or the Endpoints) read, for evidence."""

    @property
    def ready(self) -> tuple[Endpoint, ...]:
        return tuple(e for e in self.endpoints if e.ready)

    @property
    def not_ready(self) -> tuple[Endpoint, ...]:
        """Endpoints that are not ready and not on their way out."""
        return tuple(e for e in self.endpoints if not e.ready and not e.terminating)

    def summary(self) -> str:
        """``EndpointSlice web-8x2kq: 1 ready, 2 not ready, 0 terminating`` for evidence."""
        names = ", ".join(self.objects) or "(none)"
        terminating = sum(e.terminating for e in self.endpoints)
        return (f"{self.source} {names}: {len(self.ready)} ready, {len(self.not_ready)} not "
                f"ready, {terminating} terminating")


def service_endpoints(
    state: ClusterState, namespace: str | None, service: str
) -> ServiceEndpoints | None:
    """The endpoints of Service ``namespace/service``; None when neither EndpointSlices nor
    Endpoints of that namespace were listed, so nothing can be said about them."""
    if absence_is_known(state, "EndpointSlice", namespace):
        slices = state.endpoint_slices_for(namespace, service)
        return ServiceEndpoints(
            "EndpointSlice",
            _dedupe(e for eps in slices for e in _slice_endpoints(eps)),
            tuple(sorted((eps.get("metadata") or {}).get("name", "") for eps in slices)),
        )
    if absence_is_known(state, "Endpoints", namespace):
        endpoints = state.endpoints_for(namespace, service)
        if endpoints is None:
            return ServiceEndpoints("Endpoints", (), ())
        return ServiceEndpoints("Endpoints", _dedupe(_legacy_endpoints(endpoints)), (service,))
    return None


def endpoints_from_pods(pods: Iterable[Mapping[str, Any]]) -> ServiceEndpoints:
    """The endpoints the controller would publish for ``pods`` (those with an IP, ready when
    their Ready condition is True): a stand-in when neither endpoint kind could be listed."""
    return ServiceEndpoints(
        "Pod readiness",
        tuple(
            Endpoint(address=(pod.get("status") or {}).get("podIP", ""),
                     ready=(conditions(pod).get("Ready") or {}).get("status") == "True",
                     terminating=bool(pod["metadata"].get("deletionTimestamp")),
                     target_kind="Pod", target_name=pod["metadata"]["name"])
            for pod in pods
            if (pod.get("status") or {}).get("podIP")
        ),
        (),
    )


def _slice_endpoints(endpoint_slice: Mapping[str, Any]) -> Iterator[Endpoint]:
    for endpoint in endpoint_slice.get("endpoints") or ():
        condition = endpoint.get("conditions") or {}
        target = endpoint.get("targetRef") or {}
        addresses = endpoint.get("addresses") or ()
        yield Endpoint(
            address=addresses[0] if addresses else "",
            # "a nil value indicates an unknown state; consumers should interpret it as ready"
            ready=condition.get("ready") is not False,
            terminating=condition.get("terminating") is True,
            target_kind=target.get("kind"),
            target_name=target.get("name"),
            node=endpoint.get("nodeName"),
        )


def _legacy_endpoints(endpoints: Mapping[str, Any]) -> Iterator[Endpoint]:
    for subset in endpoints.get("subsets") or ():
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for address in subset.get(field) or ():
                target = address.get("targetRef") or {}
                yield Endpoint(
                    address=address.get("ip") or address.get("hostname") or "",
                    ready=ready,
                    target_kind=target.get("kind"),
                    target_name=target.get("name"),
                    node=address.get("nodeName"),
                )


def _dedupe(endpoints: Iterable[Endpoint]) -> tuple[Endpoint, ...]:
    seen: dict[tuple[str | None, str], Endpoint] = {}
    for endpoint in endpoints:
        key = (endpoint.target_kind, endpoint.target_name or endpoint.address)
        seen.setdefault(key, endpoint)
    return tuple(seen.values())
