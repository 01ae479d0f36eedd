"""Helpers for the fixture-cluster and report tests: loading a snapshot as the CLI does, checking
that a fixture is internally consistent the way a real cluster is (owners, events, endpoints,
service accounts and clocks agree), and naming expected findings compactly.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope, event_time, parse_time

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO = REPOSITORY / "k8sdoctor" / "data" / "demo.yaml"
HEALTHY = REPOSITORY / "tests" / "fixtures" / "healthy"


def load_snapshot(path: Path | str) -> ClusterState:
    return SnapshotSource(str(path)).load(set(KNOWN_KINDS), Scope()).state


def all_objects(state: ClusterState) -> Iterator[Mapping[str, Any]]:
    for kind in sorted(state.kinds):
        yield from state.objects(kind)


@dataclass(frozen=True)
class Expect:
    """A finding the catalogue promises: ``name`` is a glob (pod names carry hashes)."""

    analyzer: str
    kind: str
    namespace: str | None
    name: str
    reason: str | None = None
    """None when the analyzer has not fixed its reason names yet: any reason counts."""
    severity: Severity | None = None
    """The exact severity the catalogue prescribes; None means warning or above."""
    says: tuple[str, ...] = ()
    """Text the message must contain."""

    @property
    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.analyzer}:{self.kind}/{where}{self.name}:{self.reason or '*'}"

    def matches(self, finding: Finding) -> bool:
        return (
            finding.analyzer == self.analyzer
            and finding.kind == self.kind
            and finding.namespace == self.namespace
            and fnmatch.fnmatchcase(finding.name, self.name)
            and (self.reason is None or finding.reason == self.reason)
        )


def on_object(finding: Finding, kind: str, namespace: str | None, name: str) -> bool:
    return (finding.kind == kind and finding.namespace == namespace
            and fnmatch.fnmatchcase(finding.name, name))


def describe(findings: Iterable[Finding]) -> str:
    return "\n".join(
        f"  {f.severity.value} {f.analyzer} {f.kind}/{f.namespace or '-'}/{f.name} {f.reason}: "
        f"{f.message}"
        for f in findings
    )


# -- fixture consistency ----------------------------------------------------------------------


def consistency_problems(state: ClusterState) -> list[str]:
    """What would be impossible in a real cluster: dangling owners, events about objects that
    are not there, endpoints that disagree with their pods, missing service accounts, times
    after the capture."""
    problems: list[str] = []
    objects = list(all_objects(state))
    uids = [o["metadata"].get("uid") for o in objects if o["metadata"].get("uid")]
    if len(uids) != len(set(uids)):
        problems.append("duplicate uids")
    for obj in objects:
        problems += _owner_problems(state, obj)
        problems += _time_problems(state, obj)
    for event in state.objects("Event"):
        target = event.get("involvedObject") or {}
        found = state.by_uid(target.get("uid", ""))
        if found is None or found["metadata"]["name"] != target.get("name"):
            problems.append(f"event {event['metadata']['name']} is about a missing object")
    for pod in state.objects("Pod"):
        problems += _pod_problems(state, pod)
    for eps in state.objects("EndpointSlice"):
        problems += _slice_problems(state, eps)
    namespaces = {o["metadata"]["name"] for o in state.objects("Namespace")}
    for namespace in namespaces:
        if state.get("ConfigMap", namespace, "kube-root-ca.crt") is None:
            problems.append(f"namespace {namespace} has no kube-root-ca.crt")
    return problems


def _owner_problems(state: ClusterState, obj: Mapping[str, Any]) -> list[str]:
    problems = []
    meta = obj["metadata"]
    for ref in meta.get("ownerReferences") or ():
        owner = state.by_uid(ref.get("uid", ""))
        if owner is None or (owner["kind"], owner["metadata"]["name"]) != (ref["kind"],
                                                                          ref["name"]):
            problems.append(f"{obj['kind']} {meta['name']}: owner {ref['kind']}/{ref['name']} "
                            "is not in the snapshot")
            continue
        selector = ((owner.get("spec") or {}).get("selector") or {}).get("matchLabels")
        if obj["kind"] == "Pod" and selector and not all(
                (meta.get("labels") or {}).get(k) == v for k, v in selector.items()):
            problems.append(f"pod {meta['name']} does not carry its owner's selector labels")
    return problems


def _time_problems(state: ClusterState, obj: Mapping[str, Any]) -> list[str]:
    times = [obj["metadata"].get("creationTimestamp")]
    if obj["kind"] == "Event":
        times.append(event_time(obj))
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    times += [c.get("lastTransitionTime") for c in status.get("conditions") or ()]
    late = [t for t in times if t and (moment := parse_time(t)) and moment > state.now]
    return [f"{obj['kind']} {obj['metadata']['name']}: {t} is after the capture time"
            for t in late]


def _pod_problems(state: ClusterState, pod: Mapping[str, Any]) -> list[str]:
    problems = []
    meta, spec = pod["metadata"], pod["spec"]
    account = spec.get("serviceAccountName")
    if account and state.get("ServiceAccount", meta["namespace"], account) is None:
        problems.append(f"pod {meta['name']}: ServiceAccount {account} does not exist")
    node = spec.get("nodeName")
    if node and state.get("Node", None, node) is None:
        problems.append(f"pod {meta['name']}: node {node} does not exist")
    created = parse_time(meta.get("creationTimestamp"))
    started = parse_time((pod.get("status") or {}).get("startTime"))
    if created and started and started < created:
        problems.append(f"pod {meta['name']} started before it was created")
    return problems


def _slice_problems(state: ClusterState, eps: Mapping[str, Any]) -> list[str]:
    problems = []
    for endpoint in eps.get("endpoints") or ():
        target = endpoint.get("targetRef")
        if target is None:  # the API servers' own endpoints, and hand-made ones
            continue
        pod = state.by_uid(target.get("uid", ""))
        if pod is None:
            problems.append(f"EndpointSlice {eps['metadata']['name']}: pod {target.get('name')} "
                            "is missing")
            continue
        ready = any(c["type"] == "Ready" and c["status"] == "True"
                    for c in pod["status"].get("conditions") or ())
        if endpoint["conditions"].get("ready") != ready:
            problems.append(f"EndpointSlice {eps['metadata']['name']}: readiness of "
                            f"{target['name']} disagrees with the pod")
        if endpoint["addresses"] != [pod["status"].get("podIP")]:
            problems.append(f"EndpointSlice {eps['metadata']['name']}: address of "
                            f"{target['name']} is not its pod IP")
    return problems
