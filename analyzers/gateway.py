"""Gateway API classes, Gateways and HTTPRoutes that are not accepted, attached or resolvable.

Reports only when the Gateway API kinds are served. Faults reported:

- ``GatewayClassNotAccepted`` (error; warning while no controller has answered for more than
  five minutes): the class's ``Accepted`` condition is False, quoted, or still ``Pending``
  because no controller runs for its ``controllerName``. Fix: what the condition names, or
  install the controller.
- ``GatewayClassNotFound`` (error): a Gateway's ``gatewayClassName`` names no GatewayClass.
  Fix: set it to an existing class (``kubectl get gatewayclass``).
- ``GatewayNotAccepted`` / ``GatewayNotProgrammed`` (error; warning while still ``Unknown``
  after five minutes): the controller rejected the Gateway, or could not program it (no address
  assigned, invalid listeners); its condition and failing listeners are quoted. ``Pending`` and
  ``AddressNotAssigned`` (a load balancer being provisioned) count only after five minutes.
  Reported even when its GatewayClass is not accepted, if a controller did answer the Gateway
  with False. Fix: what the condition names.
- ``ListenersNotReady`` (error): the Gateway is programmed but some listeners are not (an
  unresolved certificate reference, a conflict). Fix: the listener's condition message.
- ``ParentNotFound`` (error): an HTTPRoute's ``parentRefs`` names a Gateway (or mesh Service)
  that does not exist, so no gateway serves it. Fix: correct ``spec.parentRefs``.
- ``RouteNotAccepted`` (error): a parent did not accept the route (``NotAllowedByListeners``,
  ``NoMatchingListenerHostname``, ...), quoted from ``status.parents``. Fix: allow the route's
  namespace on the listener, or correct hostnames and ``sectionName``.
- ``RouteNotAttached`` (warning): the parent Gateway is accepted but has not reported on the
  route for more than five minutes, so its controller does not see it.
- ``RefsNotResolved`` (error): ``ResolvedRefs`` is False for a reason other than a missing
  Service (``RefNotPermitted``: a missing ReferenceGrant, ``InvalidKind``).
- ``BackendNotFound`` / ``BackendPortNotFound`` (error): a ``backendRefs`` Service, or its port,
  does not exist; per the Gateway API, requests to that backend get HTTP 500. Fix: create the
  Service or correct the name or port.
- ``BackendUnavailable`` (error; warning when the backend's workload is scaled to zero): a
  ``backendRefs`` Service exists but has no ready endpoint (its pods are not ready, or there are
  none), so requests sent to it get 503 ("no healthy upstream"). A consequence: fix the
  Service's pods (see their findings); the route recovers by itself.

Not reported: anything when the Gateway API kinds are not served; missing Services or Gateways
that could not be listed or lay outside ``-n``/``-l``; parents and backends of kinds other than
Gateway and Service (implementation-specific); routes younger than five minutes without status;
backends without ready endpoints while their pods or Service are minutes old, or whose Service
has no selector, or when neither endpoints nor pods could be read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    conditions,
    describe_condition,
    describe_service_ports,
    format_duration,
    lacks_service_port,
    ns_flag,
)
from k8sdoctor.analysis.outage import WORKLOAD_KINDS, Outage, service_outage

GATEWAY_GROUP = "gateway.networking.k8s.io"
PENDING_GRACE_SECONDS = 5 * 60
_IN_PROGRESS_REASONS = frozenset({"Pending", "AddressNotAssigned"})
"""Reasons a controller gives while it provisions the Gateway (a load balancer, an address)."""
_KINDS = ("GatewayClass", "Gateway", "HTTPRoute")


def analyze(state: ClusterState) -> Iterator[Finding]:
    for gateway_class in state.objects("GatewayClass"):
        if finding := _check_class(state, gateway_class):
            yield finding
    for gateway in state.objects("Gateway"):
        if finding := _check_gateway(state, gateway):
            yield finding
    for route in state.objects("HTTPRoute"):
        yield from _check_parents(state, route)
        yield from _check_backends(state, route)


def _check_class(state: ClusterState, gateway_class: Mapping[str, Any]) -> Finding | None:
    name = gateway_class["metadata"]["name"]
    controller = (gateway_class.get("spec") or {}).get("controllerName", "")
    accepted = conditions(gateway_class).get("Accepted") or {}
    if accepted.get("status") == "True":
        return None
    if accepted.get("status") == "False":
        severity = Severity.ERROR
        message = (f"GatewayClass {name} was not accepted by its controller {controller}: "
                   f"{accepted.get('reason')}: {accepted.get('message', '')}")
    else:
        age = state.age_of(gateway_class["metadata"].get("creationTimestamp"))
        if age is None or age < PENDING_GRACE_SECONDS:
            return None
        severity = Severity.WARNING
        message = (f"GatewayClass {name} has waited {format_duration(age)} for a controller: "
                   f"nothing running answers for controllerName {controller}, so its Gateways "
                   "are not served.")
    return Finding.about(
        gateway_class, severity=severity, reason="GatewayClassNotAccepted", message=message,
        evidence=[f"spec.controllerName={controller}"]
                 + ([describe_condition(accepted)] if accepted else ["no Accepted condition"]),
        remediation=[f"kubectl describe gatewayclass {name}",
                     f"Install or fix the controller for {controller} (its pods and logs), or "
                     "correct spec.parametersRef if the condition names it."],
    )


def _check_gateway(state: ClusterState, gateway: Mapping[str, Any]) -> Finding | None:
    meta, spec = gateway["metadata"], gateway.get("spec") or {}
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    class_name = spec.get("gatewayClassName", "")
    gateway_class = state.get("GatewayClass", None, class_name)
    if gateway_class is None and state.has_kind("GatewayClass"):
        classes = ", ".join(sorted(c["metadata"]["name"] for c in state.objects("GatewayClass")))
        return Finding.about(
            gateway, severity=Severity.ERROR, reason="GatewayClassNotFound",
            message=f"Gateway {name} uses GatewayClass {class_name!r}, which does not exist "
                    f"(classes: {classes or 'none'}), so no controller serves it.",
            evidence=[f"spec.gatewayClassName={class_name}"],
            remediation=[f"Set spec.gatewayClassName of Gateway {name} to one of: "
                         f"{classes or 'none (install a Gateway API implementation)'}: "
                         f"kubectl edit gateway {name}{ns}"],
        )
    class_unaccepted = gateway_class is not None and (
        (conditions(gateway_class).get("Accepted") or {}).get("status") != "True")
    by_type = conditions(gateway)
    if class_unaccepted and not _rejected_by_controller(by_type):
        return None  # the class's own finding explains a Gateway no controller answered for
    listeners = _listener_problems(gateway)
    evidence = [describe_condition(c) for c in by_type.values()] + listeners
    age = state.age_of(meta.get("creationTimestamp")) or 0
    for kind in ("Accepted", "Programmed"):
        condition = by_type.get(kind) or {}
        status = condition.get("status")
        waiting = status == "Unknown" or (
            status == "False" and condition.get("reason") in _IN_PROGRESS_REASONS)
        # the CRD's default status dates its conditions 1970: never earlier than the Gateway
        transition = state.age_of(condition.get("lastTransitionTime"))
        waited = age if transition is None else min(age, transition)
        if status in ("False", "Unknown") and not (waiting and waited < PENDING_GRACE_SECONDS):
            return Finding.about(
                gateway, severity=Severity.ERROR if status == "False" else Severity.WARNING,
                reason=f"GatewayNot{kind}",
                message=f"Gateway {name} is not {kind.lower()}"
                        + (f" after {format_duration(waited)}" if waiting else "")
                        + f": {condition.get('reason')}: {condition.get('message', '')}",
                evidence=evidence,
                remediation=[f"kubectl describe gateway {name}{ns}",
                             "Fix what the condition names (listener ports and protocols, "
                             "certificate references, addresses), then check the controller's "
                             "logs."],
            )
    if listeners and all((by_type.get(k) or {}).get("status") == "True"
                         for k in ("Accepted", "Programmed")):
        return Finding.about(
            gateway, severity=Severity.ERROR, reason="ListenersNotReady",
            message=f"Gateway {name} is programmed but not all its listeners are: "
                    f"{listeners[0]}",
            evidence=evidence,
            remediation=[f"kubectl describe gateway {name}{ns}",
                         "Fix what the listener's condition names (a missing certificate "
                         "Secret, a port or hostname conflict)."],
        )
    return None


def _rejected_by_controller(by_type: Mapping[str, Mapping[str, Any]]) -> bool:
    """A controller wrote Accepted or Programmed False itself (the CRD's default is Unknown,
    Pending)."""
    return any((by_type.get(kind) or {}).get("status") == "False"
               and (by_type.get(kind) or {}).get("reason") not in _IN_PROGRESS_REASONS
               for kind in ("Accepted", "Programmed"))


def _listener_problems(gateway: Mapping[str, Any]) -> list[str]:
    problems = []
    for listener in (gateway.get("status") or {}).get("listeners") or ():
        for condition in listener.get("conditions") or ():
            bad = ("True" if condition.get("type") == "Conflicted" else "False")
            if condition.get("status") == bad:
                problems.append(f"listener {listener.get('name')}: {describe_condition(condition)}")
    return problems


def _check_parents(state: ClusterState, route: Mapping[str, Any]) -> Iterator[Finding]:
    meta = route["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    statuses = (route.get("status") or {}).get("parents") or ()
    backends_checked = all(absence_is_known(state, "Service", backend_ns)
                           for _, backend_ns, _ in _service_backends(route))
    missing, unattached, rejected, unresolved = [], [], [], []
    for ref in (route.get("spec") or {}).get("parentRefs") or ():
        kind = ref.get("kind", "Gateway")
        group = ref.get("group", GATEWAY_GROUP)
        parent_ns = ref.get("namespace", namespace)
        label = _parent_label(ref, namespace)
        if (kind, group) == ("Gateway", GATEWAY_GROUP):
            parent = state.get("Gateway", parent_ns, ref.get("name", ""))
            if parent is None and absence_is_known(state, "Gateway", parent_ns):
                missing.append(label)
                continue
        elif kind == "Service" and group in ("", "core"):
            parent = state.get("Service", parent_ns, ref.get("name", ""))
            if parent is None and absence_is_known(state, "Service", parent_ns):
                missing.append(label)
                continue
        else:
            continue
        status = _status_for(statuses, ref, namespace)
        if status is None:
            if kind == "Gateway" and parent is not None and _accepted(parent) and (
                (state.age_of(meta.get("creationTimestamp")) or 0) >= PENDING_GRACE_SECONDS
            ):
                unattached.append(label)
            continue
        by_type = conditions({"status": status})  # a RouteParentStatus holds its own conditions
        if (by_type.get("Accepted") or {}).get("status") == "False":
            rejected.append((label, by_type["Accepted"]))
        resolved = by_type.get("ResolvedRefs") or {}
        if resolved.get("status") == "False" and not (
            resolved.get("reason") == "BackendNotFound" and backends_checked
        ):  # a missing Service that _check_backends names itself
            unresolved.append((label, resolved))
    ns = ns_flag(namespace)
    fix = f"kubectl edit httproute {name}{ns}"
    if missing:
        yield Finding.about(
            route, severity=Severity.ERROR, reason="ParentNotFound",
            message=f"HTTPRoute {name} attaches to {', '.join(missing)}, which does not exist, "
                    "so no gateway serves its rules.",
            evidence=[f"spec.parentRefs: {label}" for label in missing],
            remediation=["kubectl get gateways -A", f"Correct spec.parentRefs: {fix}"],
        )
    if rejected:
        label, condition = rejected[0]
        yield Finding.about(
            route, severity=Severity.ERROR, reason="RouteNotAccepted",
            message=f"{label} did not accept HTTPRoute {name}: {condition.get('reason')}: "
                    f"{condition.get('message', '')}",
            evidence=[f"status.parents {lbl}: {describe_condition(c)}" for lbl, c in rejected],
            remediation=[f"kubectl describe httproute {name}{ns}",
                         "Allow the route's namespace in the listener's allowedRoutes, or "
                         f"correct hostnames / sectionName: {fix}"],
        )
    if unresolved:
        label, condition = unresolved[0]
        yield Finding.about(
            route, severity=Severity.ERROR, reason="RefsNotResolved",
            message=f"{label} could not resolve the references of HTTPRoute {name}: "
                    f"{condition.get('reason')}: {condition.get('message', '')}",
            evidence=[f"status.parents {lbl}: {describe_condition(c)}" for lbl, c in unresolved],
            remediation=[f"kubectl describe httproute {name}{ns}",
                         "For RefNotPermitted, add a ReferenceGrant in the backend's namespace "
                         "that allows HTTPRoutes from this one."],
        )
    if unattached:
        yield Finding.about(
            route, severity=Severity.WARNING, reason="RouteNotAttached",
            message=f"HTTPRoute {name} names {', '.join(unattached)} as parent but that "
                    "Gateway's controller has not reported on it, so it is not served.",
            evidence=["status.parents has no entry for: " + ", ".join(unattached)],
            remediation=[f"kubectl describe httproute {name}{ns}",
                         "Check that the route's namespace, hostnames and sectionName match a "
                         "listener, and the gateway controller's logs."],
        )


def _service_backends(route: Mapping[str, Any]) -> Iterator[tuple[str, str | None, Mapping]]:
    """``(field, namespace, backendRef)`` for each backendRef of the route that is a Service."""
    namespace = route["metadata"].get("namespace")
    for r, rule in enumerate((route.get("spec") or {}).get("rules") or ()):
        for b, ref in enumerate(rule.get("backendRefs") or ()):
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core"):
                yield f"spec.rules[{r}].backendRefs[{b}]", ref.get("namespace", namespace), ref


def _check_backends(state: ClusterState, route: Mapping[str, Any]) -> Iterator[Finding]:
    meta = route["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    missing, bad_ports, down = [], [], []
    outages: dict[str, Outage | None] = {}
    for where, backend_ns, ref in _service_backends(route):
        if not absence_is_known(state, "Service", backend_ns):
            continue
        service = state.get("Service", backend_ns, ref.get("name", ""))
        target = f"{backend_ns}/{ref.get('name')}"
        if service is None:
            missing.append(f"{where}: Service {target}")
        elif lacks_service_port(service, ref.get("port")):
            bad_ports.append(f"{where}: Service {target} port {ref['port']} "
                             f"(it exposes {describe_service_ports(service)})")
        else:
            if target not in outages:
                outages[target] = service_outage(state, service)
            if (outage := outages[target]) is not None:
                down.append((where, target, outage))
    ns = ns_flag(namespace)
    status = [describe_condition(c) for p in (route.get("status") or {}).get("parents") or ()
              for c in p.get("conditions") or () if c.get("type") == "ResolvedRefs"]
    for reason, problems, what in (("BackendNotFound", missing, "Services that do not exist"),
                                   ("BackendPortNotFound", bad_ports, "ports that do not exist")):
        if problems:
            yield Finding.about(
                route, severity=Severity.ERROR, reason=reason,
                message=f"HTTPRoute {name} sends traffic to {what}: {'; '.join(problems)}; "
                        "requests for those backends get HTTP 500.",
                evidence=problems + (status if reason == "BackendNotFound" else []),
                remediation=[f"kubectl get services{ns}",
                             f"Create the Service or correct the backendRefs name and port: "
                             f"kubectl edit httproute {name}{ns}"],
            )
    if down:
        yield _unavailable(route, down)


def _unavailable(route: Mapping[str, Any], down: list[tuple[str, str, Outage]]) -> Finding:
    name = route["metadata"]["name"]
    first_ns, _, first = down[0][1].partition("/")
    described = "; ".join(dict.fromkeys(f"Service {target} has no ready endpoint: {o.why}"
                                        for _, target, o in down))
    return Finding.about(
        route,
        severity=Severity.WARNING if all(o.scaled_to_zero for *_, o in down) else Severity.ERROR,
        reason="BackendUnavailable",
        message=f"HTTPRoute {name} sends traffic to backends with nothing ready behind them: "
                f"{described}; requests for them get 503.",
        evidence=[f"{where}: Service {target}" for where, target, _ in down]
                 + list(dict.fromkeys(e for *_, o in down for e in o.evidence)),
        remediation=[f"kubectl get endpointslices{ns_flag(first_ns)} -l "
                     f"kubernetes.io/service-name={first}",
                     f"Fix the pods behind Service {down[0][1]} (see its findings and its "
                     "workload's); the route serves again once an endpoint is ready."],
    )


def _status_for(statuses: Any, ref: Mapping[str, Any], namespace: str | None
                ) -> Mapping[str, Any] | None:
    for status in statuses:
        parent = status.get("parentRef") or {}
        if (parent.get("name") == ref.get("name")
                and parent.get("namespace", namespace) == ref.get("namespace", namespace)
                and parent.get("sectionName") == ref.get("sectionName")):
            return status
    return None


def _accepted(gateway: Mapping[str, Any]) -> bool:
    return (conditions(gateway).get("Accepted") or {}).get("status") == "True"


def _parent_label(ref: Mapping[str, Any], namespace: str | None) -> str:
    label = f"{ref.get('kind', 'Gateway')} {ref.get('namespace', namespace)}/{ref.get('name')}"
    return label + (f" (section {ref['sectionName']})" if ref.get("sectionName") else "")


ANALYZER = Analyzer(
    name="gateway",
    kinds=(*_KINDS, "Service", "EndpointSlice", "Endpoints", "Pod", *WORKLOAD_KINDS),
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
    spec_reasons=frozenset({
        "GatewayClassNotFound", "ParentNotFound", "BackendNotFound", "BackendPortNotFound"
    }),
)
