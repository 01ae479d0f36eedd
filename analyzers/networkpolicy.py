"""NetworkPolicies that select no pods, and namespace-wide default-deny policies described as such.

Faults reported:

- ``SelectsNoPods`` (warning; info when the namespace has no pods at all): the policy's
  ``podSelector`` matches no pod and no workload's pod template in its namespace, so it protects
  nothing - usually a label typo that leaves the intended pods unrestricted. The labels the
  namespace's pods do carry for those keys are shown. Fix: correct ``spec.podSelector``.
- ``DefaultDenyIngress`` / ``DefaultDenyEgress`` / ``DefaultDenyAll`` (info): an empty
  ``podSelector`` with a policy type and no rules for it denies all ingress to (or egress from)
  every pod in the namespace, except what other policies allow. For egress, the message says when
  no other NetworkPolicy in the namespace allows any egress, so not even DNS resolves unless a
  cluster-wide policy (AdminNetworkPolicy, Calico or Cilium global policies) allows it. Fix:
  nothing if intended; otherwise add policies that allow the traffic the pods need.

Not reported: an empty ``podSelector`` is never "selects no pods" and never "allows all" unless
its rules do allow everything (which is not a fault); policies whose selector matches the pod
template of a workload that has no pods right now (a CronJob between runs, a Deployment scaled to
zero); any "selects no pods" when a ``-l`` selector was applied or pods could not be listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    POD_TEMPLATE_KINDS,
    PodLabelVariants,
    absence_is_known,
    ns_flag,
    selector_flag,
    selects_a_pod_template,
)

_SHOWN = 5


def analyze(state: ClusterState) -> Iterator[Finding]:
    variants = PodLabelVariants(state)
    for policy in state.objects("NetworkPolicy"):
        selector = (policy.get("spec") or {}).get("podSelector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            finding = _default_deny(state, policy)
        elif absence_is_known(state, "Pod", policy["metadata"].get("namespace")):
            finding = _selects_nothing(state, policy, selector, variants)
        else:
            finding = None
        if finding:
            yield finding


def policy_types(policy: Mapping[str, Any]) -> set[str]:
    """``spec.policyTypes``, defaulted as the API server does: Ingress always, Egress when the
    policy has egress rules."""
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress", "Egress"} if spec.get("egress") else {"Ingress"}


def _default_deny(state: ClusterState, policy: Mapping[str, Any]) -> Finding | None:
    meta, spec = policy["metadata"], policy.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    types = policy_types(policy)
    denies_ingress = "Ingress" in types and not spec.get("ingress")
    denies_egress = "Egress" in types and not spec.get("egress")
    if not denies_ingress and not denies_egress:
        return None
    direction = ("ingress and egress of" if denies_ingress and denies_egress
                 else "ingress to" if denies_ingress else "egress from")
    message = (f"NetworkPolicy {name} denies all {direction} every pod in namespace {namespace}, "
               "except what other NetworkPolicies there allow.")
    others = [p for p in state.in_namespace("NetworkPolicy", namespace) if p is not policy]
    if denies_egress and not any((p.get("spec") or {}).get("egress") for p in others):
        message += (f" No other NetworkPolicy in {namespace} allows any egress, so unless a "
                    "cluster-wide policy (AdminNetworkPolicy, Calico or Cilium global policies) "
                    "does, its pods cannot even resolve DNS names.")
    reason = ("DefaultDenyAll" if denies_ingress and denies_egress
              else "DefaultDenyIngress" if denies_ingress else "DefaultDenyEgress")
    return Finding.about(
        policy, severity=Severity.INFO, reason=reason, message=message,
        evidence=["spec.podSelector is empty: the policy selects every pod in the namespace",
                  f"policyTypes: {', '.join(sorted(types))}",
                  f"ingress rules: {len(spec.get('ingress') or ())}, "
                  f"egress rules: {len(spec.get('egress') or ())}",
                  f"other NetworkPolicies in {namespace}: "
                  f"{', '.join(p['metadata']['name'] for p in others) or 'none'}"],
        remediation=[f"kubectl get networkpolicy{ns_flag(namespace)}",
                     "Nothing to do if the deny is intended; otherwise add NetworkPolicies that "
                     "allow the traffic the pods need (for egress, DNS to kube-system first)."],
    )


def _selects_nothing(
    state: ClusterState, policy: Mapping[str, Any], selector: Mapping[str, Any],
    variants: PodLabelVariants,
) -> Finding | None:
    meta = policy["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    if state.pods_selected_by(namespace, selector):
        return None
    if selects_a_pod_template(state, namespace, selector):
        return None  # its pods come and go: a CronJob between runs, a scaled-down app
    pods = state.in_namespace("Pod", namespace)
    carried = _carried_labels(variants, namespace, selector)
    where = f"; pods in {namespace} carry {carried}" if carried else ""
    return Finding.about(
        policy,
        severity=Severity.WARNING if pods else Severity.INFO,
        reason="SelectsNoPods",
        message=f"NetworkPolicy {name} selects no pod: no pod or pod template in namespace "
                f"{namespace} matches its podSelector {selector_flag(selector)}{where}.",
        evidence=[f"spec.podSelector {selector_flag(selector)}",
                  f"{len(pods)} pods in namespace {namespace}, none matching"],
        remediation=[f"kubectl get pods{ns_flag(namespace)} --show-labels",
                     f"Correct spec.podSelector of NetworkPolicy {name} so it selects the pods it "
                     f"should restrict: kubectl edit networkpolicy {name}{ns_flag(namespace)}"],
    )


def _carried_labels(
    variants: PodLabelVariants, namespace: str | None, selector: Mapping[str, Any]
) -> str:
    """``app=api, app=web`` - the values the namespace's live pods have for the selector's
    keys."""
    keys = list(selector.get("matchLabels") or {})
    keys += [e.get("key") for e in selector.get("matchExpressions") or () if e.get("key")]
    seen = sorted({f"{key}={value}" for values in variants(namespace, keys)
                   for key, value in zip(keys, values, strict=True) if value is not None})
    more = len(seen) - _SHOWN
    return ", ".join(seen[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


ANALYZER = Analyzer(
    name="networkpolicy",
    kinds=("NetworkPolicy", "Pod", *POD_TEMPLATE_KINDS),
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
    spec_reasons=frozenset({"SelectsNoPods"}),
)
