"""Services with nothing ready behind them, selectors that match no pod, unexposed target ports.

Faults reported:

- ``NoReadyEndpoints`` (critical): the Service's pods exist but not one is ready, so every
  connection to it fails; the not-ready pods are named. Fix: the pods' own fault (readiness probe,
  crash); ``kubectl describe pod POD``.
- ``NoEndpoints`` (critical; error when pods could not be read): the Service has a selector but
  no endpoint at all, e.g. its Deployment has no pods, or its pods have no IP yet. Fix: see the
  workload's findings; ``kubectl get endpointslices -l kubernetes.io/service-name=NAME``.
- ``NotReadyEndpoints`` (warning): some endpoints have been not ready for more than five minutes;
  the others carry the traffic. Fix: the not-ready pods' fault.
- ``SelectorMatchesNoPods`` (error): no pod and no workload's pod template carries the selector's
  labels; the pods whose labels come closest are shown. Fix: make ``spec.selector`` and the pod
  template labels agree.
- ``TargetPortNotExposed`` (error for a named ``targetPort`` no container declares: the
  endpoints controller cannot resolve it, so traffic goes nowhere; warning for a number that no
  container declares while every app container declares its ports - declared ports are only
  informational, so the app may still listen there). Fix: point ``spec.ports[].targetPort`` at
  a declared port, or declare it.
- ``LoadBalancerPending`` (warning): a ``type: LoadBalancer`` Service has had no ingress address
  for more than ten minutes; the service controller's events (``SyncLoadBalancerFailed``) are
  quoted. Fix: what the event names; a cluster with no load-balancer implementation needs one
  (a cloud controller manager, MetalLB) or a NodePort Service.
- ``BackendScaledToZero`` (info): the workload the selector matches is scaled to zero.

Not reported: Services without a selector (endpoints managed by hand) and ExternalName Services;
readiness of Services with ``publishNotReadyAddresses``; Services whose only pods are finished
(Succeeded / Failed Job pods); no ready endpoint while every selected pod was created less than
five minutes ago (a new app, or a ``Recreate`` rollout, still starting); endpoints that are
terminating; pod-based checks when a ``-l`` selector was applied or pods could not be listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.endpoints import Endpoint, endpoints_from_pods, service_endpoints
from k8sdoctor.analysis.objects import (
    LabelValues,
    PodLabelVariants,
    absence_is_known,
    conditions,
    describe_condition,
    describe_event,
    format_duration,
    is_terminated,
    ns_flag,
    pod_template_labels,
    running_containers,
    selector_flag,
)
from k8sdoctor.cluster.selectors import matches_map

NOT_READY_GRACE_SECONDS = 5 * 60
"""A pod not ready for less than this is starting or rolling; a warning would be noise."""
LOAD_BALANCER_GRACE_SECONDS = 10 * 60
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
_SHOWN = 3


def analyze(state: ClusterState) -> Iterator[Finding]:
    variants = PodLabelVariants(state)
    for service in state.objects("Service"):
        spec = service.get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            yield from _check_load_balancer(state, service)
        if spec.get("type") != "ExternalName" and spec.get("selector"):
            yield from _check_backends(state, service, variants)


def _check_backends(
    state: ClusterState, service: Mapping[str, Any], variants: PodLabelVariants
) -> Iterator[Finding]:
    meta, spec = service["metadata"], service["spec"]
    name, namespace = meta["name"], meta.get("namespace")
    selector: Mapping[str, str] = spec["selector"]
    pods_known = absence_is_known(state, "Pod", namespace)
    pods = state.pods_matching(namespace, selector) if pods_known else ()
    active = [pod for pod in pods if not is_terminated(pod)]
    if pods_known and not pods:
        yield _no_pods(state, service, variants)
        return
    if pods_known and not active:
        return  # only finished Job pods: nothing is meant to answer
    if active and (finding := _unexposed_target_ports(service, active)):
        yield finding
    if spec.get("publishNotReadyAddresses"):
        return
    endpoints = service_endpoints(state, namespace, name)
    if endpoints is None and pods_known:
        endpoints = endpoints_from_pods(active)
    if endpoints is None:
        return

    def evidence() -> list[str]:  # only for a finding: most Services have none
        lines = [f"selector {_labels(selector)}", endpoints.summary()]
        return lines + [_pod_state(pod) for pod in active[:_SHOWN]] if pods_known else lines

    ns = ns_flag(namespace)
    if endpoints.ready:
        if late := _not_ready_for_long(state, endpoints.not_ready, active):
            yield Finding.about(
                service, severity=Severity.WARNING, reason="NotReadyEndpoints",
                message=f"{len(late)} of {len(endpoints.endpoints)} endpoints of Service {name} "
                        f"are not ready ({_names(late)}); only {len(endpoints.ready)} "
                        "ready endpoint(s) carry its traffic.",
                evidence=evidence(),
                remediation=[f"kubectl describe pod {late[0].label}{ns}",
                             "Fix what keeps those pods from passing their readiness probe "
                             "(see the pods' findings)."],
            )
        return
    if _all_starting(state, active):
        return  # a new app, or a Recreate rollout, whose pods are minutes old
    if endpoints.not_ready:
        not_ready = endpoints.not_ready
        yield Finding.about(
            service, severity=Severity.CRITICAL, reason="NoReadyEndpoints",
            message=f"Service {name} has no ready endpoint: its {len(not_ready)} pod(s) "
                    f"({_names(not_ready)}) are not ready, so every connection to it fails.",
            evidence=evidence(),
            remediation=[f"kubectl describe pod {not_ready[0].label}{ns}",
                         f"kubectl get endpointslices{ns} -l kubernetes.io/service-name={name}",
                         "Fix what keeps the pods from passing their readiness probe (see the "
                         "pods' findings)."],
        )
        return
    yield Finding.about(
        service,
        severity=Severity.CRITICAL if pods_known else Severity.ERROR,
        reason="NoEndpoints",
        message=f"Service {name} has no endpoints"
                + (f" although its selector matches {len(active)} pod(s): "
                   f"{_phases(active)}." if active else "."),
        evidence=evidence(),
        remediation=[f"kubectl get endpointslices{ns} -l kubernetes.io/service-name={name}",
                     f"kubectl get pods{ns} -l {selector_flag(selector)} -o wide"],
    )


def _no_pods(
    state: ClusterState, service: Mapping[str, Any], variants: PodLabelVariants
) -> Finding:
    """Nothing carries the selector's labels: a scaled-down or failing workload, or a typo."""
    meta, selector = service["metadata"], service["spec"]["selector"]
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    workloads = [
        workload
        for kind in _WORKLOAD_KINDS
        for workload in state.in_namespace(kind, namespace)
        if matches_map(selector, pod_template_labels(workload))
    ]
    if workloads:
        wanted = [(w, _desired(w)) for w in workloads]
        described = ", ".join(f"{w['kind']} {w['metadata']['name']} ({n} desired)"
                              for w, n in wanted)
        evidence = [f"selector {_labels(selector)}", f"pods matched: none; workloads: {described}"]
        if all(n == 0 for _, n in wanted):
            return Finding.about(
                service, severity=Severity.INFO, reason="BackendScaledToZero",
                message=f"Service {name} has no endpoints because {described}, whose pods it "
                        "selects, is scaled to zero.",
                evidence=evidence,
                remediation=[f"kubectl get {w['kind'].lower()} {w['metadata']['name']}{ns}"
                             for w in workloads]
                            + [f"kubectl delete service {name}{ns}  # if it is no longer used"],
            )
        return Finding.about(
            service, severity=Severity.CRITICAL, reason="NoEndpoints",
            message=f"Service {name} has no endpoints: {described}, whose pods it selects, has "
                    "no pods.",
            evidence=evidence,
            remediation=[f"kubectl describe {workloads[0]['kind'].lower()} "
                         f"{workloads[0]['metadata']['name']}{ns}  # why no pods are created"],
        )
    nearby = _closest_pods(variants(namespace, selector), selector)
    if nearby:
        closest = "; ".join(f"{_name(pod)} has {_labels_for(pod, selector)}" for pod in nearby)
        hint = f" The closest pods: {closest}."
    else:
        hint = f" No pod in namespace {namespace} carries any of these label keys."
    return Finding.about(
        service, severity=Severity.ERROR, reason="SelectorMatchesNoPods",
        message=f"Service {name} selects pods labelled {_labels(selector)} but no pod in "
                f"namespace {namespace} has these labels, so it has no endpoints.{hint}",
        evidence=[f"selector {_labels(selector)}",
                  f"{len(state.in_namespace('Pod', namespace))} pods in namespace {namespace}, "
                  "none matching"]
                 + [f"pod {_name(p)} labels {_labels(p['metadata'].get('labels') or {})}"
                    for p in nearby],
        remediation=[f"kubectl get pods{ns} --show-labels",
                     f"Make spec.selector of Service {name} and the pod template labels of its "
                     "workload agree (edit whichever is wrong): "
                     f"kubectl edit service {name}{ns}",
                     f"kubectl delete service {name}{ns}  # if its workload is gone"],
    )


def _unexposed_target_ports(
    service: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]
) -> Finding | None:
    meta = service["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    declared = [_declared_ports(pod) for pod in pods]
    every_app_container_declares = all(complete for _, _, complete in declared)
    named, numbered = [], []
    for index, port in enumerate(service["spec"].get("ports") or ()):
        target = port.get("targetPort", port.get("port"))
        label = f"port {port.get('name') or port.get('port')}"
        if isinstance(target, str) and not target.isdigit():
            if not any(target in names for names, _, _ in declared):
                named.append((index, f"{label} targets the named port {target!r}", target))
        elif target is not None and every_app_container_declares and not any(
                int(target) in numbers for _, numbers, _ in declared):
            numbered.append((index, f"{label} targets port {target}", target))
    problems = named + numbered
    if not problems:
        return None
    first = pods[0]
    offered = ", ".join(_describe_ports(first)) or "none"
    described = "; ".join(text for _, text, _ in problems)
    effect = ("the endpoints controller cannot resolve a port name no container declares" if named
              else "declared ports are only informational, but if nothing listens there every "
                   "connection is refused")
    return Finding.about(
        service, severity=Severity.ERROR if named else Severity.WARNING,
        reason="TargetPortNotExposed",
        message=f"Service {name}: {described}, which no container of its {len(pods)} selected "
                f"pod(s) declares (pod {_name(first)} declares: {offered}); {effect}.",
        evidence=[f"spec.ports[{i}].targetPort={target}" for i, _, target in problems]
                 + [f"pod {_name(first)} container ports: {offered}"],
        remediation=[f"Set spec.ports[{problems[0][0]}].targetPort of Service {name} to a port "
                     "the container listens on, or declare that port under the container's "
                     f"ports: kubectl edit service {name}{ns_flag(namespace)}"],
    )


def _check_load_balancer(state: ClusterState, service: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = service["metadata"], service["spec"]
    if ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        return
    age = state.age_of(meta.get("creationTimestamp"))
    if age is None or age < LOAD_BALANCER_GRACE_SECONDS:
        return
    name, namespace = meta["name"], meta.get("namespace")
    events = state.events_for(service)
    warnings = [e for e in events if e.get("type") == "Warning"]
    if warnings:
        cause = f": {warnings[-1].get('message', '').strip()}"
    elif spec.get("loadBalancerClass"):
        cause = (f"; no controller for loadBalancerClass {spec['loadBalancerClass']!r} has "
                 "acted on it.")
    elif not events:
        cause = ("; no controller has acted on it (no cloud controller manager or "
                 "load-balancer implementation seems to run in this cluster).")
    else:
        cause = "."
    yield Finding.about(
        service, severity=Severity.WARNING, reason="LoadBalancerPending",
        message=f"LoadBalancer Service {name} has had no external address for "
                f"{format_duration(age)}{cause}",
        evidence=["status.loadBalancer.ingress is empty"]
                 + [describe_event(e) for e in events[-5:]],
        remediation=[f"kubectl describe service {name}{ns_flag(namespace)}",
                     "Fix what the service controller's event names (quota, subnets, "
                     "permissions) in the cloud controller manager or load-balancer controller "
                     "logs; on a cluster without one, install one (e.g. MetalLB) or use "
                     "type: NodePort."],
    )


# -- helpers ------------------------------------------------------------------------------------


def _not_ready_for_long(
    state: ClusterState, not_ready: Sequence[Endpoint], pods: Sequence[Mapping[str, Any]]
) -> list[Endpoint]:
    by_name = {_name(pod): pod for pod in pods}
    late = []
    for endpoint in not_ready:
        pod = by_name.get(endpoint.target_name or "") if endpoint.target_kind == "Pod" else None
        since = (conditions(pod).get("Ready") or {}).get("lastTransitionTime") if pod else None
        age = state.age_of(since)
        if age is None or age >= NOT_READY_GRACE_SECONDS:
            late.append(endpoint)
    return late


def _all_starting(state: ClusterState, pods: Sequence[Mapping[str, Any]]) -> bool:
    """True when every one of ``pods`` was created less than the grace period ago."""
    ages = [state.age_of(pod["metadata"].get("creationTimestamp")) for pod in pods]
    return bool(ages) and all(age is not None and age < NOT_READY_GRACE_SECONDS for age in ages)


def _closest_pods(
    variants: Mapping[LabelValues, Mapping[str, Any]], selector: Mapping[str, str]
) -> list[Mapping[str, Any]]:
    """One live pod per distinct set of values for the selector's keys (replicas look alike):
    those sharing the most selector pairs first; failing any pair, those sharing the most keys."""
    scored = []
    for values, pod in variants.items():
        pairs = sum(have == want for have, want in zip(values, selector.values(), strict=True))
        keys = sum(have is not None for have in values)
        if keys:
            scored.append((pairs, keys, pod))
    if any(pairs for pairs, _, _ in scored):
        scored = [item for item in scored if item[0]]
    scored.sort(key=lambda item: (-item[0], -item[1], _name(item[2])))
    return [pod for _, _, pod in scored[:_SHOWN]]


def _declared_ports(pod: Mapping[str, Any]) -> tuple[set[str], set[int], bool]:
    """Port names and numbers the pod's app containers (and sidecars) declare, and whether every
    app container declares at least one (only then is an undeclared number telling)."""
    spec = pod.get("spec") or {}
    names: set[str] = set()
    numbers: set[int] = set()
    for container in running_containers(spec):
        for port in container.get("ports") or ():
            if port.get("name"):
                names.add(port["name"])
            if port.get("containerPort") is not None:
                numbers.add(int(port["containerPort"]))
    app_containers = spec.get("containers") or ()
    complete = bool(app_containers) and all(c.get("ports") for c in app_containers)
    return names, numbers, complete


def _describe_ports(pod: Mapping[str, Any]) -> list[str]:
    described = []
    for container in running_containers(pod.get("spec") or {}):
        for port in container.get("ports") or ():
            text = f"{container.get('name')}: {port.get('containerPort')}/"
            text += port.get("protocol", "TCP")
            if port.get("name"):
                text += f" {port['name']!r}"
            described.append(text)
    return described


def _phases(pods: Sequence[Mapping[str, Any]]) -> str:
    """``2 Pending (no pod IP)`` style summary of why pods may not be endpoints yet."""
    counts = Counter(
        (pod.get("status") or {}).get("phase", "Unknown")
        + ("" if (pod.get("status") or {}).get("podIP") else " (no pod IP)")
        for pod in pods
    )
    return ", ".join(f"{n} {phase}" for phase, n in sorted(counts.items()))


def _pod_state(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    ready = conditions(pod).get("Ready")
    text = f"pod {_name(pod)} phase={status.get('phase', 'Unknown')}"
    return f"{text} {describe_condition(ready)}" if ready else text


def _desired(workload: Mapping[str, Any]) -> int:
    if workload.get("kind") == "DaemonSet":
        return int((workload.get("status") or {}).get("desiredNumberScheduled", 0))
    return int((workload.get("spec") or {}).get("replicas", 1))


def _labels_for(pod: Mapping[str, Any], selector: Mapping[str, str]) -> str:
    labels = pod["metadata"].get("labels") or {}
    return ", ".join(f"{k}={labels[k]}" if k in labels else f"no {k} label" for k in selector)


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _names(endpoints: Sequence[Endpoint]) -> str:
    names = [e.label for e in endpoints[:_SHOWN]]
    more = len(endpoints) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _name(obj: Mapping[str, Any]) -> str:
    return obj["metadata"]["name"]


ANALYZER = Analyzer(
    name="service",
    kinds=("Service", "EndpointSlice", "Endpoints", "Pod", "Event", *_WORKLOAD_KINDS),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"SelectorMatchesNoPods", "TargetPortNotExposed"}),
)
