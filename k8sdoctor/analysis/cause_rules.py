"""The edges of the cause graph: which findings explain a finding, read from the cluster state.

Each rule looks at one finding and names the findings that explain it, if any; the first rule
that names some wins. In order:

1. A failed pod of a Job past its backoff limit or deadline follows from that Job's failure.
2. A pod bound to a node that is down (NotReady, unreachable, under pressure) follows from the
   node when its finding names the node or says the pod was evicted or is stuck terminating.
3. A workload that is unavailable, stuck or failing to create pods follows from the findings on
   what it controls (ReplicaSets, pods, Jobs), else from the nodes its pods are bound to, else
   from the ResourceQuota that refused its pods.
4. On one object, a symptom (a pod stuck in CreateContainerConfigError, Unschedulable, a
   StatefulSet without ready replicas) follows from the finding that names its cause (the
   missing ConfigMap key, the GPU shortage, the missing StorageClass).
5. A pod follows from a finding on a PersistentVolumeClaim it mounts; a claim waiting for its
   first consumer follows from that pod's finding.
6. A Service without (ready) endpoints follows from the pods it selects, the workloads whose pod
   template it selects, or the nodes those pods are bound to.
7. An Ingress, HTTPRoute or webhook whose backend does not answer follows from its backend
   Service (or, failing that, the pods behind it).

Everything else is a root: a crash loop, a bad image, an unschedulable pod with no deeper cause
in the state, an HPA whose target has no requests, a PDB whose selector matches nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState, K8sObject, ObjectRef, ref_of

WORKLOAD_KINDS = frozenset({
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "ReplicationController",
})
ROUTE_KINDS = frozenset({"Ingress", "HTTPRoute", "GRPCRoute"})
WEBHOOK_KINDS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})

CONSEQUENCE_REASON = re.compile(
    r"Unavailable|NotReady|NoReady|NoEndpoints|NoReplicas|NotAvailable|ProgressDeadlineExceeded"
    r"|RolloutStuck|UpdateStuck|NotProgressing|ReplicaFailure|FailedCreate|NoRecentSuccess"
    r"|MisscheduledPods|DeadlineExceeded|Returns503|Unreachable|NoHealthy"
)
"""Reasons that describe a symptom of the objects below or behind, not a fault of their own."""
CREATE_FAILURES = frozenset({"ReplicaFailure", "FailedCreate"})
"""A controller that cannot create its pods: why it has no replicas."""
JOB_FAILURE_REASONS = frozenset({"BackoffLimitExceeded", "DeadlineExceeded",
                                 "PodFailurePolicy", "MaxFailedIndexesExceeded"})
"""A Job's own verdict: it gave up. Its failed pods follow from it, not the reverse."""
FAILED_POD_REASONS = re.compile(
    r"TerminatedWithError|OOMKilled|InitError|InitOOMKilled|Error|Failed|DeadlineExceeded"
    r"|BackoffLimitExceeded|\w*PodFailed|Job\w*Failed\w*"
)
"""A pod that ran and failed (``fullmatch``), as opposed to one that never started."""
POD_SYMPTOMS = frozenset({
    "CreateContainerConfigError", "CreateContainerError", "ContainerCreating", "FailedMount",
    "FailedAttachVolume", "Unschedulable", "ImagePullBackOff", "ErrImagePull", "Pending",
    "SchedulingGated", "RunContainerError", "FailedScheduling",
})
"""Pod reasons that say what the kubelet or scheduler saw, not why."""
CAUSE_ANALYZERS = frozenset({"references", "storage", "gpu", "quota", "node"})
"""Analyzers whose findings name a cause (a missing object, a shortage) rather than a state."""
NODE_DOWN_REASONS = re.compile(r"NodeStatusUnknown|NotReady|NetworkUnavailable|Pressure|Unreach")
NODE_CONSEQUENCE_WORDS = re.compile(r"evict|terminat|node", re.IGNORECASE)
QUOTA_REFUSAL = re.compile(r"exceeded quota: ([a-z0-9]([-a-z0-9.]*[a-z0-9])?)")


def is_consequence(finding: Finding) -> bool:
    """A reason that reports a symptom of other objects rather than a fault of this one."""
    if finding.kind == "Job" and finding.reason in JOB_FAILURE_REASONS:
        return False
    return bool(CONSEQUENCE_REASON.search(finding.reason))


def is_failed_pod(finding: Finding) -> bool:
    return finding.kind == "Pod" and bool(FAILED_POD_REASONS.fullmatch(finding.reason))


def is_symptom(finding: Finding) -> bool:
    reason = finding.reason.removeprefix("Init")
    return reason in POD_SYMPTOMS or is_consequence(finding)


class Rules:
    """The explained-by rules over one run's findings and state."""

    def __init__(self, findings: Sequence[Finding], state: ClusterState) -> None:
        self.state = state
        self.by_object: dict[ObjectRef, list[Finding]] = defaultdict(list)
        for finding in findings:
            self.by_object[finding.object_ref].append(finding)

    def explainers(self, finding: Finding) -> list[Finding]:
        """The findings that explain ``finding``, best first; empty for a root."""
        for rule in (self._failed_job_pod, self._pod_on_down_node, self._controlled,
                     self._same_object, self._claims, self._service, self._route_or_webhook):
            found = [f for f in rule(finding) if f is not finding]
            if found:
                return found
        return []

    # -- rules ----------------------------------------------------------------------------------

    def _failed_job_pod(self, finding: Finding) -> Iterator[Finding]:
        if finding.kind != "Pod" or not is_failed_pod(finding):
            return
        pod = self._obj(finding)
        job = self.state.controller_of(pod) if pod is not None else None
        if job is not None and job.get("kind") == "Job":
            yield from (f for f in self.by_object.get(ref_of(job), ())
                        if f.reason in JOB_FAILURE_REASONS)

    def _pod_on_down_node(self, finding: Finding) -> Iterator[Finding]:
        if finding.kind != "Pod":
            return
        node = self._node_of(self._obj(finding))
        if not node:
            return
        text = " ".join((finding.reason, finding.message, *finding.evidence))
        if node in text or NODE_CONSEQUENCE_WORDS.search(finding.reason):
            yield from self._down_node_findings(node)

    def _same_object(self, finding: Finding) -> Iterator[Finding]:
        if not is_symptom(finding):
            return
        for other in self.by_object.get(finding.object_ref, ()):
            if (other is not finding and other.reason in CREATE_FAILURES
                    and finding.reason not in CREATE_FAILURES):
                yield other  # no replica because none can be created
                continue
            if other is finding or is_symptom(other):
                continue
            if other.analyzer in CAUSE_ANALYZERS or (
                    other.analyzer == finding.analyzer and is_consequence(finding)):
                yield other

    def _claims(self, finding: Finding) -> Iterator[Finding]:
        if finding.kind == "Pod":
            pod = self._obj(finding)
            for claim in _claim_names(pod):
                yield from self.by_object.get(
                    ObjectRef("PersistentVolumeClaim", claim, finding.namespace), ())
        elif finding.kind == "PersistentVolumeClaim" and finding.reason == "ConsumerPodPending":
            for pod in self.state.in_namespace("Pod", finding.namespace):
                if finding.name in _claim_names(pod):
                    yield from self.by_object.get(ref_of(pod), ())

    def _controlled(self, finding: Finding) -> Iterator[Finding]:
        job_failed = finding.kind == "Job" and finding.reason in JOB_FAILURE_REASONS
        if finding.kind not in WORKLOAD_KINDS or not (is_consequence(finding) or job_failed):
            return
        obj = self._obj(finding)
        if obj is None:
            return
        below = list(_descendants(obj, self.state))
        found = [f for child in below for f in self.by_object.get(ref_of(child), ())
                 if not (job_failed and is_failed_pod(f))]
        if found:
            yield from found
            return
        for child in below:
            if child.get("kind") == "Pod":
                yield from self._down_node_findings(self._node_of(child))
        texts = [finding.message, *finding.evidence]
        texts += [event.get("message") or "" for o in (obj, *below)
                  for event in self.state.events_for(o) if event.get("reason") == "FailedCreate"]
        yield from self._quota_refusing(finding.namespace, texts)

    def _service(self, finding: Finding) -> Iterator[Finding]:
        if finding.kind != "Service" or not is_consequence(finding):
            return
        yield from self._behind_service(finding.namespace, finding.name)

    def _route_or_webhook(self, finding: Finding) -> Iterator[Finding]:
        if finding.kind not in ROUTE_KINDS | WEBHOOK_KINDS or not is_consequence(finding):
            return
        obj = self._obj(finding)
        if obj is None:
            return
        services = (_webhook_services(obj) if finding.kind in WEBHOOK_KINDS
                    else _route_services(obj))
        for namespace, name in services:
            on_service = self.by_object.get(ObjectRef("Service", name, namespace), ())
            yield from on_service or self._behind_service(namespace, name)

    # -- helpers --------------------------------------------------------------------------------

    def _behind_service(self, namespace: str | None, name: str) -> Iterator[Finding]:
        service = self.state.get("Service", namespace, name)
        selector = ((service or {}).get("spec") or {}).get("selector")
        if not selector:
            return
        pods = self.state.pods_matching(namespace, selector)
        found = [f for pod in pods for f in self.by_object.get(ref_of(pod), ())]
        if not found:
            found = [f for workload in self._workloads_selected(namespace, selector)
                     for f in self.by_object.get(ref_of(workload), ())]
        if not found:
            found = [f for pod in pods for f in self._down_node_findings(self._node_of(pod))]
        yield from found

    def _workloads_selected(self, namespace: str | None,
                            selector: Mapping[str, str]) -> Iterator[K8sObject]:
        """Workloads whose pod template carries every label of a Service's selector."""
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            for workload in self.state.in_namespace(kind, namespace):
                template = ((workload.get("spec") or {}).get("template") or {})
                labels = (template.get("metadata") or {}).get("labels") or {}
                if all(labels.get(k) == v for k, v in selector.items()):
                    yield workload

    def _quota_refusing(self, namespace: str | None, texts: Iterable[str]) -> Iterator[Finding]:
        """Findings on the ResourceQuotas that refused pods, as the API's error names them."""
        names = dict.fromkeys(m.group(1) for text in texts for m in QUOTA_REFUSAL.finditer(text))
        for name in names:
            yield from self.by_object.get(ObjectRef("ResourceQuota", name, namespace), ())

    def _down_node_findings(self, node: str) -> Iterator[Finding]:
        if node:
            yield from (f for f in self._node_findings.get(node, ())
                        if NODE_DOWN_REASONS.search(f.reason))

    @cached_property
    def _node_findings(self) -> dict[str, list[Finding]]:
        found: dict[str, list[Finding]] = defaultdict(list)
        for ref, findings in self.by_object.items():
            if ref.kind == "Node":
                found[ref.name].extend(findings)
        return found

    def _obj(self, finding: Finding) -> K8sObject | None:
        return self.state.get(finding.kind, finding.namespace, finding.name)

    @staticmethod
    def _node_of(pod: Mapping[str, Any] | None) -> str:
        return ((pod or {}).get("spec") or {}).get("nodeName") or ""


def _claim_names(pod: Mapping[str, Any] | None) -> list[str]:
    volumes = ((pod or {}).get("spec") or {}).get("volumes") or ()
    return [claim for volume in volumes
            if (claim := (volume.get("persistentVolumeClaim") or {}).get("claimName"))]


def _descendants(obj: Mapping[str, Any], state: ClusterState) -> Iterable[K8sObject]:
    seen: set[str] = set()
    stack = [obj]
    while stack:
        uid = (stack.pop().get("metadata") or {}).get("uid", "")
        for child in state.owned_by(uid):
            child_uid = (child.get("metadata") or {}).get("uid", "")
            if child_uid not in seen:
                seen.add(child_uid)
                stack.append(child)
                yield child


def _route_services(route: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    """(namespace, name) of every Service an Ingress or HTTPRoute sends traffic to."""
    namespace = (route.get("metadata") or {}).get("namespace")
    spec = route.get("spec") or {}
    backends = [spec.get("defaultBackend") or {}]
    for rule in spec.get("rules") or ():
        backends += [path.get("backend") or {} for path in (rule.get("http") or {}).get("paths")
                     or ()]
        for ref in rule.get("backendRefs") or ():
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") == "":
                yield ref.get("namespace") or namespace, ref.get("name", "")
    for backend in backends:
        name = (backend.get("service") or {}).get("name") or backend.get("serviceName")
        if name:
            yield namespace, name


def _webhook_services(config: Mapping[str, Any]) -> Iterator[tuple[str | None, str]]:
    for hook in config.get("webhooks") or ():
        service = (hook.get("clientConfig") or {}).get("service") or {}
        if service.get("name"):
            yield service.get("namespace"), service["name"]
