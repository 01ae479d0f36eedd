"""ResourceQuotas that are exhausted, nearly so, or are refusing new pods right now.

Faults reported:

- ``QuotaExhausted`` (error): a resource's usage has reached its hard limit
  (``requests.cpu 4 of 4``), so any new object that needs more of it is refused; recent
  ``FailedCreate ... exceeded quota`` events are quoted. Fix: raise ``spec.hard`` or free
  usage (scale down, delete finished pods, lower requests).
- ``QuotaExceeded`` (error): within the last hour a controller could not create pods because
  the request would exceed this quota, although no resource is at 100% (one large request does
  not fit in what is left). The controller's message is quoted. Fix: as above, or make the
  request smaller.
- ``QuotaNearlyExhausted`` (warning): a resource is at 90% or more of its hard limit; the next
  scale-up or rollout (which briefly runs old and new pods) may be refused. Fix: raise the
  limit before it bites.

Each finding names every resource at 90% or more with its numbers
(``requests.cpu 3800m of 4 (95%)``).

Not reported: a hard limit of 0 that nothing uses (a deliberate ban, such as
``services.loadbalancers: "0"``) unless creations are being refused; events older than an hour.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import ns_flag
from k8sdoctor.cluster.quantity import parse_quantity
from k8sdoctor.cluster.state import event_time

NEARLY_EXHAUSTED = 0.9
RECENT_EVENT_SECONDS = 3600


def analyze(state: ClusterState) -> Iterator[Finding]:
    for quota in state.objects("ResourceQuota"):
        finding = _check(state, quota)
        if finding:
            yield finding


def _check(state: ClusterState, quota: Mapping[str, Any]) -> Finding | None:
    name, namespace = quota["metadata"]["name"], quota["metadata"].get("namespace")
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    hot: list[tuple[str, float]] = []
    for resource, limit_text in sorted(hard.items()):
        try:
            limit = parse_quantity(limit_text)
            usage = parse_quantity(used.get(resource, "0"))
        except ValueError:
            continue
        if limit <= 0:
            if usage > 0:
                hot.append((resource, float("inf")))
            continue
        if usage / limit >= NEARLY_EXHAUSTED:
            hot.append((resource, usage / limit))
    refusals = _refusals(state, namespace, name)
    if not hot and not refusals:
        return None

    def describe(resource: str, ratio: float) -> str:
        share = "over" if ratio == float("inf") else f"{ratio:.0%}"
        return f"{resource} {used.get(resource, '0')} of {hard[resource]} ({share})"

    exhausted = [describe(r, ratio) for r, ratio in hot if ratio >= 1]
    nearly = [describe(r, ratio) for r, ratio in hot if ratio < 1]
    ns = ns_flag(namespace)
    evidence = [f"used {describe(r, ratio)}" for r, ratio in hot]
    evidence += [f"event {e.get('reason')} on {(e.get('involvedObject') or {}).get('kind')}/"
                 f"{(e.get('involvedObject') or {}).get('name')} (x{e.get('count') or 1}): "
                 f"{e.get('message', '')}" for e in refusals[-3:]]
    remediation = [
        f"kubectl describe resourcequota {name}{ns}",
        f"Raise the limit in spec.hard (kubectl edit resourcequota {name}{ns}), or free usage: "
        f"scale down or delete what you do not need (kubectl get pods{ns}), lower requests.",
    ]
    refused = (f"; creations are being refused: {refusals[-1].get('message', '')}"
               if refusals else "")
    if exhausted:
        return Finding.about(
            quota, severity=Severity.ERROR, reason="QuotaExhausted",
            message=f"ResourceQuota {name} is exhausted: {', '.join(exhausted)}"
                    + (f" (and near the limit: {', '.join(nearly)})" if nearly else "")
                    + refused + ".",
            evidence=evidence, remediation=remediation,
        )
    if refusals:
        return Finding.about(
            quota, severity=Severity.ERROR, reason="QuotaExceeded",
            message=f"ResourceQuota {name} refused new pods in the last hour: "
                    f"{refusals[-1].get('message', '')}"
                    + (f" (near the limit: {', '.join(nearly)})" if nearly else ""),
            evidence=evidence, remediation=remediation,
        )
    return Finding.about(
        quota, severity=Severity.WARNING, reason="QuotaNearlyExhausted",
        message=f"ResourceQuota {name} is nearly exhausted: {', '.join(nearly)}; the next "
                "scale-up or rollout may be refused.",
        evidence=evidence, remediation=remediation,
    )


def _refusals(
    state: ClusterState, namespace: str | None, quota_name: str
) -> list[Mapping[str, Any]]:
    """Recent events saying a creation exceeded this quota, oldest first."""
    marker = f"exceeded quota: {quota_name},"
    refusals = []
    for event in state.in_namespace("Event", namespace):
        message = event.get("message") or event.get("note") or ""
        if marker not in message:
            continue
        age = state.age_of(event_time(event))
        if age is not None and age <= RECENT_EVENT_SECONDS:
            refusals.append(event)
    return sorted(refusals, key=event_time)


ANALYZER = Analyzer(
    name="quota",
    kinds=("ResourceQuota", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
)
