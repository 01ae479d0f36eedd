"""PodDisruptionBudgets that block every node drain, select no pods, or overlap.

Faults reported:

- ``NoDisruptionsAllowed`` (warning): even with every pod healthy the budget allows no
  eviction, so ``kubectl drain``, node upgrades and cluster-autoscaler scale-down hang on these
  pods. The cause is named: ``maxUnavailable`` is 0, ``minAvailable`` is at least the workload's
  replicas, or a percentage rounds up to all of them. Fix: allow at least one disruption
  (``maxUnavailable: 1``, or ``minAvailable`` below the replicas) or add replicas.
- ``NoPodsSelected`` (warning): the selector matches no pod, so the budget protects nothing
  (often a label typo). Fix: align ``spec.selector`` with the pod template's labels, or delete it.
- ``OverlappingBudgets`` (warning): some pods are selected by more than one budget; the
  eviction API refuses such pods ("This pod has more than one PodDisruptionBudget, which the
  eviction subresource does not support."), so drains fail on them. Fix: make the selectors
  disjoint.
- ``SyncFailed`` (warning): the disruption controller cannot evaluate the budget (for example
  a percentage or ``maxUnavailable`` over pods without a scalable controller); its message is
  quoted. Fix: use an integer ``minAvailable``, or manage the pods with a controller.

Not reported: disruptionsAllowed 0 while some expected pods are unhealthy (then refusing
evictions is exactly the protection wanted); budgets of workloads scaled to zero (their pod
template matches the selector); "no pods" when pods could not be listed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    conditions,
    describe_condition,
    is_terminated,
    ns_flag,
    selects_a_pod_template,
)
from k8sdoctor.cluster.state import ObjectRef

_SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def analyze(state: ClusterState) -> Iterator[Finding]:
    budgets_by_pod: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for budget in state.objects("PodDisruptionBudget"):
        pods = _selected_pods(state, budget)
        for pod in pods:
            budgets_by_pod[pod["metadata"].get("uid", "")].append(budget)
        yield from _check(state, budget, pods)
    yield from _overlaps(state, budgets_by_pod)


def _selected_pods(state: ClusterState, budget: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    namespace = budget["metadata"].get("namespace")
    selector = (budget.get("spec") or {}).get("selector")
    return [p for p in state.pods_selected_by(namespace, selector) if not is_terminated(p)]


def _check(
    state: ClusterState, budget: Mapping[str, Any], pods: list[Mapping[str, Any]]
) -> Iterator[Finding]:
    meta, spec = budget["metadata"], budget.get("spec") or {}
    status = budget.get("status") or {}
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    by_type = conditions(budget)
    expected = status.get("expectedPods", 0)
    healthy = status.get("currentHealthy", 0)
    evidence = [
        _rule(spec),
        f"status expectedPods={expected} currentHealthy={healthy} "
        f"desiredHealthy={status.get('desiredHealthy', 0)} "
        f"disruptionsAllowed={status.get('disruptionsAllowed', 0)}",
        *(describe_condition(c) for c in by_type.values()),
    ]

    sync = by_type.get("DisruptionAllowed") or {}
    if sync.get("status") == "False" and sync.get("reason") == "SyncFailed":
        yield Finding.about(
            budget, severity=Severity.WARNING, reason="SyncFailed",
            message=f"PodDisruptionBudget {name} cannot be evaluated: {sync.get('message', '')}",
            evidence=evidence,
            remediation=["Use an integer spec.minAvailable (percentages and maxUnavailable need "
                         "pods owned by a Deployment, StatefulSet or ReplicaSet), or give the "
                         "pods a controller.", f"kubectl describe pdb {name}{ns}"],
        )
        return

    if not pods and expected == 0:
        if absence_is_known(state, "Pod", namespace) and not selects_a_pod_template(
                state, namespace, spec.get("selector"), _SCALABLE):
            yield Finding.about(
                budget, severity=Severity.WARNING, reason="NoPodsSelected",
                message=f"PodDisruptionBudget {name} selects no pods, so it protects nothing.",
                evidence=[*evidence, f"selector {_selector_text(spec.get('selector'))}"],
                remediation=[
                    f"kubectl get pods{ns} --show-labels  # compare with the selector",
                    f"Fix spec.selector (kubectl edit pdb {name}{ns}) or delete the budget.",
                ],
            )
        return

    replicas, owners = _replicas(state, pods, expected)
    if replicas <= 0:
        return
    cause = _blocking_cause(spec, replicas, owners)
    all_healthy = expected > 0 and healthy >= expected
    if cause is None and all_healthy and status.get("disruptionsAllowed", 0) == 0:
        cause = (f"{status.get('desiredHealthy', 0)} of its {expected} pods must stay healthy "
                 f"({_rule(spec)})")
    if cause is None:
        return
    yield Finding.about(
        budget, severity=Severity.WARNING, reason="NoDisruptionsAllowed",
        message=f"PodDisruptionBudget {name} allows no voluntary disruption even when all pods "
                f"are healthy: {cause}; node drains and upgrades will hang on these pods.",
        evidence=evidence,
        remediation=[
            f"kubectl patch pdb {name}{ns} --type merge -p "
            "'{\"spec\":{\"minAvailable\":null,\"maxUnavailable\":1}}'",
            f"Or scale {owners or 'the workload'} above minAvailable.",
        ],
    )


def _replicas(
    state: ClusterState, pods: list[Mapping[str, Any]], expected: int
) -> tuple[int, str]:
    """The replicas of the workloads owning ``pods`` (what the controller counts), and their
    names; the budget's own ``expectedPods`` when the workloads are not known."""
    workloads: dict[ObjectRef, int] = {}
    for pod in pods:
        ref = state.workload_of(pod)
        if ref is None or ref.kind not in _SCALABLE or ref in workloads:
            continue
        workload = state.get(ref.kind, ref.namespace, ref.name)
        if workload is not None:
            workloads[ref] = (workload.get("spec") or {}).get("replicas", 1)
    if not workloads:
        return max(expected, len(pods)), ""
    if len(workloads) == 1:
        ref = next(iter(workloads))
        return workloads[ref], f"{ref.kind} {ref.name}"
    names = ", ".join(f"{ref.kind} {ref.name} ({count})"
                      for ref, count in sorted(workloads.items()))
    return sum(workloads.values()), names


def _blocking_cause(spec: Mapping[str, Any], replicas: int, owners: str) -> str | None:
    """Why the budget's rule leaves no disruption for ``replicas`` healthy pods, if it does."""
    of = f" of {owners}" if owners else ""
    if "maxUnavailable" in spec and spec["maxUnavailable"] is not None:
        allowed = _scaled(spec["maxUnavailable"], replicas)
        if allowed is not None and allowed <= 0:
            return f"maxUnavailable is {spec['maxUnavailable']}"
        return None
    if spec.get("minAvailable") is None:
        return None
    must_stay = _scaled(spec["minAvailable"], replicas)
    if must_stay is None or must_stay < replicas:
        return None
    if isinstance(spec["minAvailable"], str) and spec["minAvailable"].endswith("%"):
        return (f"minAvailable {spec['minAvailable']} of {replicas} pods rounds up to "
                f"{must_stay}{of}")
    return f"minAvailable {spec['minAvailable']} is not below the {replicas} replicas{of}"


def _scaled(value: int | str, replicas: int) -> int | None:
    """An IntOrString budget value as a pod count (percentages round up, as the API does)."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return math.ceil(replicas * int(text[:-1]) / 100)
        return int(text)
    except ValueError:
        return None


def _overlaps(
    state: ClusterState, budgets_by_pod: Mapping[str, list[Mapping[str, Any]]]
) -> Iterator[Finding]:
    reported: set[str] = set()
    for pod_uid, budgets in budgets_by_pod.items():
        if len(budgets) < 2:
            continue
        pod = state.by_uid(pod_uid)
        pod_name = pod["metadata"]["name"] if pod else pod_uid
        names = sorted(b["metadata"]["name"] for b in budgets)
        for budget in budgets:
            key = budget["metadata"].get("uid") or budget["metadata"]["name"]
            if key in reported:
                continue
            reported.add(key)
            name = budget["metadata"]["name"]
            others = ", ".join(n for n in names if n != name)
            yield Finding.about(
                budget, severity=Severity.WARNING, reason="OverlappingBudgets",
                message=f"PodDisruptionBudget {name} and {others} both select pod {pod_name}; "
                        "evictions of such pods fail with \"This pod has more than one "
                        "PodDisruptionBudget, which the eviction subresource does not "
                        "support.\"",
                evidence=[f"pod {pod_name} is selected by: {', '.join(names)}"],
                remediation=[f"Make the selectors of {', '.join(names)} disjoint, or delete "
                             "the redundant budget."],
            )


def _rule(spec: Mapping[str, Any]) -> str:
    if spec.get("maxUnavailable") is not None:
        return f"maxUnavailable={spec['maxUnavailable']}"
    if spec.get("minAvailable") is not None:
        return f"minAvailable={spec['minAvailable']}"
    return "neither minAvailable nor maxUnavailable set"


def _selector_text(selector: Mapping[str, Any] | None) -> str:
    if selector is None:
        return "null (selects nothing)"
    labels = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    labels += [f"{e.get('key')} {e.get('operator')} {e.get('values') or ''}".strip()
               for e in selector.get("matchExpressions") or ()]
    return ", ".join(labels) or "{} (all pods)"


ANALYZER = Analyzer(
    name="pdb",
    kinds=("PodDisruptionBudget", "Pod", "Deployment", "StatefulSet", "ReplicaSet"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"NoPodsSelected", "OverlappingBudgets"}),
)
