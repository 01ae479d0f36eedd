"""HorizontalPodAutoscalers that cannot scale, target nothing, or are pinned at their maximum.

Faults reported:

- ``ScaleTargetNotFound`` (error): ``scaleTargetRef`` names a Deployment, StatefulSet or
  ReplicaSet that does not exist. Fix: correct ``spec.scaleTargetRef.name`` or delete the HPA.
- ``UnsupportedScaleTarget`` (error): the target is a kind with no ``scale`` subresource
  (DaemonSet, Job, CronJob, Pod, Service...). Fix: point the HPA at a Deployment or
  StatefulSet.
- ``MissingResourceRequest`` (error): the HPA scales on a resource's utilization (a percentage
  of the request) but a container of the target (sidecars included) sets no request for it, so
  the controller cannot compute utilization (``missing request for cpu in container app of Pod
  web-...``). An HPA with no ``spec.metrics`` (and, in ``autoscaling/v1``, no
  ``targetCPUUtilizationPercentage``) scales on the default, 80% CPU utilization, and is judged
  as one that names it. Fix: set ``resources.requests.<resource>`` on every container of the
  target's pod template.
- ``FailedGetResourceMetric`` / ``FailedGetPodsMetric`` / ``FailedGetObjectMetric`` /
  ``FailedGetExternalMetric`` / ``FailedGetContainerResourceMetric`` / ``InvalidSelector`` ...
  (error): ScalingActive has been False for 5 minutes; the controller's reason and message are
  quoted. Fix: metrics-server (``kubectl top pods``) for resource metrics, the metrics adapter
  (prometheus-adapter, KEDA) for custom and external ones.
- ``FailedGetScale`` / ``FailedUpdateScale`` (error): AbleToScale is False because the
  controller cannot read or write the target's scale (RBAC, admission webhook, missing CRD).
- ``PinnedAtMaxReplicas`` (warning): the HPA wants more replicas than ``maxReplicas`` allows
  (ScalingLimited True, TooManyReplicas) and runs at the maximum, so load above it is not
  absorbed. Fix: raise ``spec.maxReplicas`` (and check the cluster has room), or make each
  replica handle more.

Not reported: ScalingActive False with ``ScalingDisabled`` (the target is scaled to zero on
purpose); AbleToScale False for back-off (``BackoffBoth``, ``BackoffDownscale``: normal
stabilisation); metric errors younger than 5 minutes (new pods have no metrics yet);
"missing requests" in a pod template when a LimitRange gives the namespace default requests and
no pod exists to check, or in a pod that sets pod-level ``resources.requests``; a missing target
when its kind could not be listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    conditions,
    container_request,
    describe_condition,
    describe_event,
    format_duration,
    is_terminated,
    ns_flag,
    pod_template_spec,
    running_containers,
)

METRIC_ERROR_GRACE_SECONDS = 300
LISTED_TARGET_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")
UNSCALABLE_KINDS = frozenset({"DaemonSet", "Job", "CronJob", "Pod", "Service", "ConfigMap",
                              "Secret", "Node", "Namespace"})
_BACKOFF = frozenset({"BackoffBoth", "BackoffDownscale", "BackoffUpscale"})


def analyze(state: ClusterState) -> Iterator[Finding]:
    for hpa in state.objects("HorizontalPodAutoscaler"):
        yield from _check(state, hpa)


def _check(state: ClusterState, hpa: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = hpa["metadata"], hpa.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    ref = spec.get("scaleTargetRef") or {}
    kind, target_name = ref.get("kind", ""), ref.get("name", "")
    by_type = conditions(hpa)
    able, active = by_type.get("AbleToScale") or {}, by_type.get("ScalingActive") or {}
    evidence = [f"scaleTargetRef {kind}/{target_name}", _replicas(hpa),
                *(describe_condition(c) for c in by_type.values())]

    if kind in UNSCALABLE_KINDS:
        yield Finding.about(
            hpa, severity=Severity.ERROR, reason="UnsupportedScaleTarget",
            message=f"HorizontalPodAutoscaler {name} targets {kind} {target_name}, which has no "
                    "scale subresource and cannot be autoscaled.",
            evidence=evidence,
            remediation=[f"Point spec.scaleTargetRef at a Deployment or StatefulSet: "
                         f"kubectl edit hpa {name}{ns}"],
        )
        return
    target = state.get(kind, namespace, target_name)
    if target is None and kind in LISTED_TARGET_KINDS and absence_is_known(state, kind, namespace):
        quoted = f" ({able['message']})" if able.get("reason") == "FailedGetScale" else ""
        yield Finding.about(
            hpa, severity=Severity.ERROR, reason="ScaleTargetNotFound",
            message=f"HorizontalPodAutoscaler {name} scales {kind} {target_name}, which does "
                    f"not exist{quoted}.",
            evidence=evidence,
            remediation=[f"kubectl get {kind.lower()}{ns}  # is the name misspelt?",
                         f"Fix spec.scaleTargetRef.name, or delete the HPA: kubectl delete hpa "
                         f"{name}{ns}"],
        )
        return

    missing = _missing_requests(state, hpa, target) if target is not None else []
    if missing:
        yield _missing_request_finding(hpa, target, missing, active, evidence)

    if able.get("status") == "False" and able.get("reason") not in _BACKOFF:
        yield Finding.about(
            hpa, severity=Severity.ERROR, reason=able.get("reason") or "AbleToScaleFalse",
            message=f"HorizontalPodAutoscaler {name} cannot scale {kind} {target_name}: "
                    f"{able.get('message', '')}",
            evidence=evidence,
            remediation=[f"kubectl describe hpa {name}{ns}",
                         "Check the controller may get and update the target's scale "
                         "subresource (RBAC, admission webhooks, the CRD's scale subresource)."],
        )

    stuck_for = state.age_of(active.get("lastTransitionTime"))
    if (active.get("status") == "False" and active.get("reason") != "ScalingDisabled"
            and not (missing and "missing request" in active.get("message", ""))
            and (stuck_for is None or stuck_for >= METRIC_ERROR_GRACE_SECONDS)):
        since = f" (for {format_duration(stuck_for)})" if stuck_for is not None else ""
        yield Finding.about(
            hpa, severity=Severity.ERROR, reason=active.get("reason") or "ScalingInactive",
            message=f"HorizontalPodAutoscaler {name} cannot compute a replica count{since}: "
                    f"{active.get('message', '')}",
            evidence=[*evidence, *(describe_event(e) for e in state.events_for(hpa)[-2:]
                                   if e.get("type") == "Warning")],
            remediation=_metric_steps(name, ns, active.get("message", "")),
        )

    limited = by_type.get("ScalingLimited") or {}
    current, maximum = (hpa.get("status") or {}).get("currentReplicas", 0), spec.get(
        "maxReplicas", 0)
    pinned = limited.get("status") == "True" and limited.get("reason") == "TooManyReplicas"
    if pinned and maximum and current >= maximum:
        since = state.age_of(limited.get("lastTransitionTime"))
        yield Finding.about(
            hpa, severity=Severity.WARNING, reason="PinnedAtMaxReplicas",
            message=f"HorizontalPodAutoscaler {name} is pinned at maxReplicas {maximum}"
                    + (f" for {format_duration(since)}" if since is not None else "")
                    + f": {limited.get('message', 'it wants more replicas')}"
                    + (f" ({_metrics_summary(hpa)})" if _metrics_summary(hpa) else "") + ".",
            evidence=evidence,
            remediation=[
                f"kubectl patch hpa {name}{ns} -p '{{\"spec\":{{\"maxReplicas\":"
                f"{maximum * 2}}}}}'  # if the cluster has room for more replicas",
                f"kubectl top pods{ns}  # or make each replica of {kind} {target_name} "
                "handle more load",
            ],
        )


def _missing_requests(
    state: ClusterState, hpa: Mapping[str, Any], target: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """``(resource, container)`` pairs whose request utilization metrics need and lack: as the
    controller computes utilization, every app and sidecar container needs one, unless the pod
    sets pod-level ``resources.requests``.

    Judged on the target's live pods (admission may have filled in LimitRange defaults);
    from the pod template only when no pod exists and no LimitRange sets defaults.
    """
    wanted = _utilization_resources(hpa)
    if not wanted:
        return []
    namespace = hpa["metadata"].get("namespace")
    selector = (target.get("spec") or {}).get("selector")
    pods = [p for p in state.pods_selected_by(namespace, selector) if not is_terminated(p)]
    if pods:
        specs: Sequence[Mapping[str, Any]] = [p.get("spec") or {} for p in pods]
    elif _limit_range_defaults(state, namespace, {resource for resource, _ in wanted}):
        return []
    else:
        specs = [pod_template_spec(target)]
    missing = []
    for resource, only_container in wanted:
        for pod_spec in specs:
            pod_level = ((pod_spec.get("resources") or {}).get("requests") or {}).get(resource)
            if only_container is None and pod_level is not None:
                continue  # pod-level resources stand in for the containers' requests
            for container in running_containers(pod_spec):
                if only_container and container.get("name") != only_container:
                    continue
                if container_request(container, resource) is None:
                    missing.append((resource, container.get("name", "")))
    return list(dict.fromkeys(missing))


def _utilization_resources(hpa: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """``(resource, container or None)`` for each metric that targets a request percentage."""
    spec = hpa.get("spec") or {}
    if uses_default_metric(hpa):
        return [("cpu", None)]
    wanted: list[tuple[str, str | None]] = []
    if spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
        wanted.append(("cpu", None))
    for metric in spec.get("metrics") or ():
        if metric.get("type") == "Resource":
            source, container = metric.get("resource") or {}, None
        elif metric.get("type") == "ContainerResource":
            source = metric.get("containerResource") or {}
            container = source.get("container")
        else:
            continue
        if (source.get("target") or {}).get("type") == "Utilization":
            wanted.append((source.get("name", ""), container))
    return wanted


def uses_default_metric(hpa: Mapping[str, Any]) -> bool:
    """No metric named: the controller scales on its default, 80% CPU utilization (the API
    server writes that default into ``autoscaling/v2`` objects; manifests often leave it out)."""
    spec = hpa.get("spec") or {}
    return not spec.get("metrics") and spec.get("targetCPUUtilizationPercentage") is None


def _limit_range_defaults(state: ClusterState, namespace: str | None, resources: set[str]) -> bool:
    for limit_range in state.in_namespace("LimitRange", namespace):
        for limit in (limit_range.get("spec") or {}).get("limits") or ():
            if limit.get("type") != "Container":
                continue
            defaults = {**(limit.get("default") or {}), **(limit.get("defaultRequest") or {})}
            if resources & defaults.keys():
                return True
    return False


def _missing_request_finding(
    hpa: Mapping[str, Any],
    target: Mapping[str, Any],
    missing: list[tuple[str, str]],
    active: Mapping[str, Any],
    evidence: list[str],
) -> Finding:
    name, namespace = hpa["metadata"]["name"], hpa["metadata"].get("namespace")
    kind, target_name = target.get("kind", ""), target["metadata"]["name"]
    what = "; ".join(f"container {container} has no {resource} request"
                     for resource, container in missing)
    quoted = (f" The controller says: {active['message']}"
              if "missing request" in active.get("message", "") else "")
    default = uses_default_metric(hpa)
    how = ("names no metric, so it scales on the default 80% CPU utilization, a percentage of "
           "the request" if default else "scales on utilization, a percentage of the request")
    return Finding.about(
        hpa, severity=Severity.ERROR, reason="MissingResourceRequest",
        message=f"HorizontalPodAutoscaler {name} {how}, but in {kind} {target_name}, "
                f"{what}.{quoted}",
        evidence=[*evidence, *(["spec.metrics is empty: default cpu Utilization 80%"]
                               if default else [])],
        remediation=[
            f"kubectl set resources {kind.lower()}/{target_name} -c {container} "
            f"--requests={resource}=<amount>{ns_flag(namespace)}"
            for resource, container in missing
        ] + ["Or scale on an AverageValue target instead of Utilization."],
    )


def _metric_steps(name: str, ns: str, message: str) -> list[str]:
    steps = [f"kubectl describe hpa {name}{ns}"]
    if "custom.metrics.k8s.io" in message or "external.metrics.k8s.io" in message:
        steps += ["kubectl get apiservice | grep metrics  # is the metrics adapter "
                  "(prometheus-adapter, KEDA) Available?",
                  "Check that the metric name and selector in spec.metrics exist in the adapter."]
    elif "metrics.k8s.io" in message or "resource metric" in message or "utilization" in message:
        steps += ["kubectl top pods" + ns + "  # does metrics-server answer?",
                  "kubectl get apiservice v1beta1.metrics.k8s.io  # Available=True?"]
    else:
        steps.append("Check spec.metrics against what the metrics APIs serve.")
    return steps


def _replicas(hpa: Mapping[str, Any]) -> str:
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    return (f"replicas current={status.get('currentReplicas', 0)} "
            f"desired={status.get('desiredReplicas', 0)} min={spec.get('minReplicas', 1)} "
            f"max={spec.get('maxReplicas')}")


def _metrics_summary(hpa: Mapping[str, Any]) -> str:
    targets = {}
    for metric in (hpa.get("spec") or {}).get("metrics") or ():
        source = metric.get(_SOURCE_FIELD.get(metric.get("type", ""), "")) or {}
        name = source.get("name") or (source.get("metric") or {}).get("name")
        targets[name] = source.get("target") or {}
    parts = []
    for metric in (hpa.get("status") or {}).get("currentMetrics") or ():
        source = metric.get(_SOURCE_FIELD.get(metric.get("type", ""), "")) or {}
        name = source.get("name") or (source.get("metric") or {}).get("name")
        current = source.get("current") or {}
        target = targets.get(name) or {}
        if current.get("averageUtilization") is not None:
            parts.append(f"{name} at {current['averageUtilization']}% of request, target "
                         f"{target.get('averageUtilization', '?')}%")
        elif current.get("averageValue") is not None:
            parts.append(f"{name} at {current['averageValue']}, target "
                         f"{target.get('averageValue', '?')}")
        elif current.get("value") is not None:
            parts.append(f"{name} at {current['value']}, target {target.get('value', '?')}")
    return "; ".join(parts)


_SOURCE_FIELD = {"Resource": "resource", "ContainerResource": "containerResource",
                 "Pods": "pods", "Object": "object", "External": "external"}


ANALYZER = Analyzer(
    name="hpa",
    kinds=("HorizontalPodAutoscaler", "Deployment", "StatefulSet", "ReplicaSet", "Pod",
           "LimitRange", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({
        "ScaleTargetNotFound", "UnsupportedScaleTarget", "MissingResourceRequest"
    }),
)
