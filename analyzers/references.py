"""Pods that reference ConfigMaps, keys, Secrets, ServiceAccounts or pull Secrets that do not exist.

Faults reported (for pods that are not finished; each pod of a workload is reported with the
same message, so findings group by workload):

- ``ConfigMapNotFound`` (error): a volume, projected volume, ``env`` ``configMapKeyRef`` or
  ``envFrom`` of an init, app or ephemeral container names a ConfigMap that does not exist and is
  not ``optional: true``. The kubelet cannot mount the volume (``FailedMount``) or create the
  container (``CreateContainerConfigError``). Fix: create the ConfigMap, correct the name in the
  pod template, or mark the reference optional.
- ``ConfigMapKeyNotFound`` (error): the ConfigMap exists but lacks a key that a
  ``configMapKeyRef`` or a volume's ``items`` names (``data`` and ``binaryData`` are searched).
  Fix: add the key, or correct the reference.
- ``SecretNotFound`` (error): the same for Secrets (existence only: Secret values are never read).
- ``ServiceAccountNotFound`` (error): ``spec.serviceAccountName`` names a ServiceAccount that was
  deleted; new pods are rejected and tokens cannot be refreshed. Fix: recreate it.
- ``ImagePullSecretNotFound`` (warning): an ``imagePullSecrets`` entry does not exist; the kubelet
  pulls anonymously (``FailedToRetrieveImagePullSecret``), which fails for private images. Fix:
  create the docker-registry Secret or remove the entry.
- ``ConfigMapTooLarge`` (error): the ConfigMap's ``data`` and ``binaryData`` hold more than
  1 MiB, the API server's limit (``Too long: must have at most 1048576 bytes``): the object
  cannot be created or updated as it is, and etcd and every watcher pay for its size. Fix: split
  it, or move the content to a volume or an image.
- ``EmptyConfigMap`` (info): the ConfigMap has no ``data`` and no ``binaryData``; whatever reads
  it gets nothing. Fix: fill it or delete it.
- ``UnusedConfigMap`` (info): no pod and no pod template of a Deployment, ReplicaSet,
  StatefulSet, DaemonSet, Job or CronJob in the namespace references the ConfigMap, in any of the
  places above, and no container command, argument or env value names it. Fix: delete it once you
  are sure nothing reads it through the API.

Not reported: Secret or key checks when that kind could not be listed (or was filtered by ``-n``);
references marked ``optional: true``; finished pods. Never called empty or unused:
``kube-root-ca.crt`` and other CA bundles injected into every namespace, ConfigMaps in
kube-system, kube-public and kube-node-lease, ones with ownerReferences, leader-election locks,
ones loaded by label by sidecars (Grafana dashboards and datasources, Prometheus rules). Never
called unused either: Helm release records, ones that
share an ``app.kubernetes.io/instance`` or ``part-of`` label with a pod of their namespace (apps
such as Argo CD read theirs through the API), ones younger than an hour, and none at all when a
``-l`` selector was applied or pods or workloads could not be listed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import (
    POD_TEMPLATE_KINDS,
    absence_is_known,
    all_containers,
    describe_event,
    is_terminated,
    ns_flag,
    pod_template_spec,
)
from k8sdoctor.cluster.snapshot import DATA_SIZES

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
INJECTED_CONFIGMAPS = frozenset({"kube-root-ca.crt", "openshift-service-ca.crt",
                                 "istio-ca-root-cert"})
"""CA bundles controllers publish into every namespace for any pod that may want them."""
CONTROLLER_ANNOTATIONS = ("control-plane.alpha.kubernetes.io/leader",)
SIDECAR_LABELS = ("grafana_dashboard", "grafana_datasource", "prometheus_rule", "fluentd_config")
HELM_RELEASE_OWNERS = frozenset({"helm", "TILLER"})
APP_LABELS = ("app.kubernetes.io/instance", "app.kubernetes.io/part-of")
UNUSED_MIN_AGE_SECONDS = 3600
MAX_CONFIGMAP_BYTES = 1024 * 1024
"""The API server refuses a ConfigMap whose data and binaryData hold more."""
_CONTAINER_WORDS = {"initContainers": "init container", "containers": "container",
                    "ephemeralContainers": "ephemeral container"}


class Reference(NamedTuple):
    """One place a pod spec names another object."""

    kind: str
    """``ConfigMap``, ``Secret``, ``ServiceAccount`` or ``ImagePullSecret``."""
    name: str
    where: str
    """``volume config``, ``env LOG_LEVEL of container app``, ``envFrom of init container x``."""
    optional: bool = False
    keys: tuple[str, ...] = ()
    mounted: bool = False
    """A volume (the kubelet cannot mount it) rather than env (it cannot create the container)."""


def pod_references(spec: Mapping[str, Any]) -> list[Reference]:
    """Every ConfigMap, Secret, ServiceAccount and pull Secret a pod spec references."""
    found: list[Reference] = []
    for volume in spec.get("volumes") or ():
        if source := volume.get("configMap"):
            found.append(_from_source("ConfigMap", source, "name", volume))
        if source := volume.get("secret"):
            found.append(_from_source("Secret", source, "secretName", volume))
        if projected := volume.get("projected"):
            for projection in projected.get("sources") or ():
                if source := projection.get("configMap"):
                    found.append(_from_source("ConfigMap", source, "name", volume, "projected "))
                if source := projection.get("secret"):
                    found.append(_from_source("Secret", source, "name", volume, "projected "))
    for field in _CONTAINER_WORDS:
        for container in spec.get(field) or ():
            if container.get("env") or container.get("envFrom"):
                found += _container_references(container, field)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    found.append(Reference("ServiceAccount", account, "spec.serviceAccountName"))
    for pull_secret in spec.get("imagePullSecrets") or ():
        if pull_secret.get("name"):
            found.append(Reference("ImagePullSecret", pull_secret["name"],
                                   "spec.imagePullSecrets"))
    return found


def _from_source(kind: str, source: Mapping[str, Any], name_field: str,
                 volume: Mapping[str, Any], projected: str = "") -> Reference:
    items = source.get("items")
    keys = tuple([item.get("key", "") for item in items]) if items else ()
    return Reference(kind, source.get(name_field, ""),
                     f"{projected}volume {volume.get('name', '')}", bool(source.get("optional")),
                     keys, True)


def _container_references(container: Mapping[str, Any], field: str) -> list[Reference]:
    owner = f"{_CONTAINER_WORDS[field]} {container.get('name')}"
    found: list[Reference] = []
    for env in container.get("env") or ():
        if value_from := env.get("valueFrom"):
            for kind, ref_field in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                if ref := value_from.get(ref_field):
                    found.append(Reference(kind, ref.get("name", ""),
                                           f"env {env.get('name')} of {owner}",
                                           bool(ref.get("optional")), (ref.get("key", ""),)))
    for env_from in container.get("envFrom") or ():
        for kind, ref_field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if ref := env_from.get(ref_field):
                found.append(Reference(kind, ref.get("name", ""), f"envFrom of {owner}",
                                       bool(ref.get("optional"))))
    return found


def analyze(state: ClusterState) -> Iterator[Finding]:
    pods = [(pod, pod_references(pod.get("spec") or {})) for pod in state.objects("Pod")]
    verdicts: dict[tuple[str, str | None, str, tuple[str, ...]], _Verdict] = {}
    for pod, references in pods:
        if not is_terminated(pod):
            yield from _check_pod(state, pod, references, verdicts)
    yield from _unused_configmaps(state, pods)
    for configmap in state.objects("ConfigMap"):
        yield from _check_contents(state, configmap)


# -- missing references -------------------------------------------------------------------------


_Verdict = tuple[str, tuple[str, ...]] | None
"""What is wrong with one reference: the finding's reason and the keys absent; None if nothing
(or nothing that can be known)."""
_UNSEEN: Any = object()


def _check_pod(
    state: ClusterState,
    pod: Mapping[str, Any],
    references: Iterable[Reference],
    verdicts: dict[tuple[str, str | None, str, tuple[str, ...]], _Verdict],
) -> list[Finding]:
    """``verdicts`` remembers each (kind, namespace, name, keys) already looked up: the pods of
    one workload all name the same objects."""
    namespace = pod["metadata"].get("namespace")
    missing: dict[str, list[tuple[Reference, tuple[str, ...]]]] = {}
    for ref in references:
        if ref.optional:
            continue
        key = (ref.kind, namespace, ref.name, ref.keys)
        verdict = verdicts.get(key, _UNSEEN)
        if verdict is _UNSEEN:
            verdict = verdicts[key] = _verdict(state, ref, namespace)
        if verdict is not None:
            missing.setdefault(verdict[0], []).append((ref, verdict[1]))
    return [_missing_finding(state, pod, reason, entries) for reason, entries in missing.items()]


def _verdict(state: ClusterState, ref: Reference, namespace: str | None) -> _Verdict:
    kind = "Secret" if ref.kind == "ImagePullSecret" else ref.kind
    if not absence_is_known(state, kind, namespace):
        return None
    target = state.get(kind, namespace, ref.name)
    if target is None:
        return f"{ref.kind}NotFound", ()
    if ref.kind == "ConfigMap" and (absent := _absent_keys(target, ref.keys)):
        return "ConfigMapKeyNotFound", absent
    return None


def _absent_keys(configmap: Mapping[str, Any], keys: Iterable[str]) -> tuple[str, ...]:
    present = {*(configmap.get("data") or {}), *(configmap.get("binaryData") or {})}
    return tuple(key for key in keys if key not in present)


def _missing_finding(
    state: ClusterState,
    pod: Mapping[str, Any],
    reason: str,
    entries: list[tuple[Reference, tuple[str, ...]]],
) -> Finding:
    meta = pod["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    parent = state.workload_of(pod)
    template = f"the pod template of {parent.kind} {parent.name}" if parent else f"Pod {name}"
    by_name: dict[str, list[str]] = defaultdict(list)
    for ref, _ in entries:
        by_name[ref.name].append(ref.where)
    listed = "; ".join(f"{target} ({', '.join(dict.fromkeys(wheres))})"
                       for target, wheres in by_name.items())
    first_ref, first_absent = entries[0]
    kind = first_ref.kind
    names = list(by_name)
    mounted = any(ref.mounted for ref, _ in entries)
    if reason == "ConfigMapKeyNotFound":
        lacking = "; ".join(f"key {key} of ConfigMap {ref.name} ({ref.where})"
                            for ref, absent in entries for key in absent)
        message = f"Pod {name} reads keys that do not exist: {lacking}; {_effect(pod, mounted)}."
        configmap = state.get("ConfigMap", namespace, first_ref.name) or {}
        has = sorted({*(configmap.get("data") or {}), *(configmap.get("binaryData") or {})})
        extra = [f"ConfigMap {first_ref.name} has keys: {', '.join(has) or 'none'}"]
        remediation = [f"Add key {first_absent[0]} to ConfigMap {first_ref.name}: "
                       f"kubectl edit configmap {first_ref.name}{ns}",
                       f"Or correct the key in {template} ({first_ref.where})."]
    elif reason == "ServiceAccountNotFound":
        message = (f"Pod {name} runs as ServiceAccount {names[0]}, which no longer exists in "
                   f"namespace {namespace}; new pods of it are rejected and its token cannot be "
                   "refreshed.")
        extra = []
        remediation = [f"kubectl create serviceaccount {names[0]}{ns}  # then restore its "
                       "RoleBindings", f"Or correct spec.serviceAccountName in {template}."]
    elif reason == "ImagePullSecretNotFound":
        message = (f"Pod {name} lists image pull Secret(s) {', '.join(names)} that do not exist "
                   f"in namespace {namespace}; the kubelet pulls its images anonymously, which "
                   "fails for private registries.")
        extra = []
        remediation = [f"Create docker-registry Secret {names[0]} in namespace {namespace} with "
                       "the registry's credentials (see kubectl create secret docker-registry "
                       "--help)", f"Or remove it from spec.imagePullSecrets in {template}."]
    else:
        message = (f"Pod {name} references {kind}(s) that do not exist in namespace "
                   f"{namespace}: {listed}; {_effect(pod, mounted)}.")
        extra = []
        remediation = [f"kubectl get {kind.lower()}s{ns}",
                       f"Create {kind} {names[0]} in namespace {namespace}, correct the name in "
                       f"{template} ({first_ref.where}), or mark the reference optional: true "
                       "if the pod can run without it."]
    target_kind = "Secret" if kind == "ImagePullSecret" else kind
    evidence = [f"{ref.where}: {'Secret' if ref.kind == 'ImagePullSecret' else ref.kind} {ref.name}"
                + (f" key {', '.join(absent)} absent" if absent else " not found")
                for ref, absent in entries]
    evidence += extra + _kubelet_evidence(state, pod, names)
    return Finding.about(
        pod, severity=Severity.WARNING if reason == "ImagePullSecretNotFound" else Severity.ERROR,
        reason=reason, message=message, evidence=evidence, remediation=remediation,
        parent=parent, refers_to=ObjectRef(target_kind, first_ref.name, namespace),
    )


def _effect(pod: Mapping[str, Any], mounted: bool) -> str:
    if (pod.get("status") or {}).get("phase") == "Running":
        # deleted after the pod started: it runs on what it read, until it is replaced
        return ("it keeps what it read when it started, but a restarted container or a "
                "replacement pod will fail")
    if mounted:
        return "the kubelet cannot mount the volume, so the pod cannot start"
    return "the kubelet cannot create the container (CreateContainerConfigError)"


def _kubelet_evidence(state: ClusterState, pod: Mapping[str, Any], names: list[str]) -> list[str]:
    """The pod's events and waiting containers that name one of ``names``."""
    lines = [describe_event(e) for e in state.events_for(pod)
             if any(f'"{n}"' in (e.get("message") or "") or f"({n})" in (e.get("message") or "")
                    or f"/{n}" in (e.get("message") or "") for n in names)]
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") == "CreateContainerConfigError":
            lines.append(f"container {status.get('name')} waiting: CreateContainerConfigError: "
                         f"{waiting.get('message', '')}")
    return lines[-5:]


# -- unused ConfigMaps --------------------------------------------------------------------------


def _unused_configmaps(
    state: ClusterState, pods: Iterable[tuple[Mapping[str, Any], list[Reference]]]
) -> Iterator[Finding]:
    listed = ("Pod", "ConfigMap", *POD_TEMPLATE_KINDS)
    if state.scope.selector or not all(state.has_kind(kind) for kind in listed):
        return
    # The ConfigMaps that could be unused, by namespace; each pod and pod template strikes off
    # the ones it names, and a namespace with none left is not searched further.
    candidates: dict[str, set[str]] = defaultdict(set)
    for configmap in state.objects("ConfigMap"):
        if not _exempt(state, configmap):
            meta = configmap["metadata"]
            candidates[meta.get("namespace") or ""].add(meta["name"])
    if not candidates:
        return
    # Then the ConfigMaps left are looked for in the commands, arguments and env values of the
    # namespace: once per distinct text, as the pods of a workload and its template repeat them.
    texts: dict[str, set[str]] = defaultdict(set)
    app_labels: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for pod, references in pods:
        namespace = pod["metadata"].get("namespace") or ""
        labels = pod["metadata"].get("labels") or {}
        app_labels[namespace].update((k, labels[k]) for k in APP_LABELS if k in labels)
        if left := candidates.get(namespace):
            _strike(left, references, pod.get("spec") or {}, texts[namespace])
    for kind in POD_TEMPLATE_KINDS:
        for workload in state.objects(kind):
            namespace = workload["metadata"].get("namespace") or ""
            if left := candidates.get(namespace):
                spec = pod_template_spec(workload)
                _strike(left, pod_references(spec), spec, texts[namespace])
    for namespace, named in texts.items():
        left = candidates[namespace]
        for text in named:
            if not left:
                break
            if any(name in text for name in left):
                left.difference_update(_WORD.findall(text))
    for configmap in state.objects("ConfigMap"):
        meta = configmap["metadata"]
        name, namespace = meta["name"], meta.get("namespace") or ""
        labels = meta.get("labels") or {}
        if name not in candidates.get(namespace, ()) or any(
            (k, labels[k]) in app_labels[namespace] for k in APP_LABELS if k in labels
        ):
            continue
        yield Finding.about(
            configmap, severity=Severity.INFO, reason="UnusedConfigMap",
            message=f"ConfigMap {name} is not referenced by any pod or pod template in namespace "
                    f"{namespace} (volumes, projected volumes, env and envFrom of init, app and "
                    "ephemeral containers, workloads and CronJobs).",
            evidence=[f"{len(state.in_namespace('Pod', namespace))} pods and the pod templates "
                      f"of {', '.join(POD_TEMPLATE_KINDS)} searched in namespace {namespace}",
                      f"created {meta.get('creationTimestamp')}"],
            remediation=[f"kubectl delete configmap {name}{ns_flag(namespace)}  # once you are "
                         "sure no application reads it through the API"],
        )


def _strike(left: set[str], references: Iterable[Reference], spec: Mapping[str, Any],
            texts: set[str]) -> None:
    """Remove from ``left`` the ConfigMaps ``spec`` references; while any are left, add the
    commands, arguments and env values of its containers to ``texts``."""
    for ref in references:
        if ref.kind == "ConfigMap":
            left.discard(ref.name)
    if left:
        texts.update(_container_texts(spec))


def _check_contents(state: ClusterState, configmap: Mapping[str, Any]) -> Iterator[Finding]:
    meta = configmap["metadata"]
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    data, binary = configmap.get("data") or {}, configmap.get("binaryData") or {}
    size = _recorded_size(meta)
    if size is None:
        size = sum(len(str(v).encode()) for v in data.values()) + sum(
            _decoded_length(str(v)) for v in binary.values())
    if size > MAX_CONFIGMAP_BYTES:
        yield Finding.about(
            configmap, severity=Severity.ERROR, reason="ConfigMapTooLarge",
            message=f"ConfigMap {name} holds {size:,} bytes of data, over the API server's "
                    f"limit of {MAX_CONFIGMAP_BYTES:,} (1 MiB): it cannot be created or updated "
                    "as it is (Too long: must have at most 1048576 bytes).",
            evidence=[f"{len(data)} data and {len(binary)} binaryData keys, {size:,} bytes"],
            remediation=["Split the ConfigMap, or ship large content in a volume or the image: "
                         f"kubectl get configmap {name}{ns} -o yaml"],
        )
    elif not data and not binary and not _managed(configmap):
        yield Finding.about(
            configmap, severity=Severity.INFO, reason="EmptyConfigMap",
            message=f"ConfigMap {name} has no data and no binaryData: whatever reads it gets "
                    "nothing.",
            evidence=["data: {}, binaryData: {}"],
            remediation=[f"Fill it, or delete it: kubectl delete configmap {name}{ns}"],
        )


def _recorded_size(meta: Mapping[str, Any]) -> int | None:
    """The size ``k8sdoctor snapshot`` recorded when it left the values out, if it did."""
    recorded = (meta.get("annotations") or {}).get(DATA_SIZES)
    try:
        sizes = json.loads(recorded) if recorded else None
        return sum(int(n) for n in sizes.values()) if isinstance(sizes, dict) else None
    except (ValueError, TypeError):
        return None


def _decoded_length(base64_text: str) -> int:
    text = base64_text.strip()
    return len(text) * 3 // 4 - text[-2:].count("=")


def _managed(configmap: Mapping[str, Any]) -> bool:
    """Published or owned by a controller, in a system namespace, or a leader lock or a
    sidecar's input: never called empty or unused."""
    meta = configmap["metadata"]
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    return (
        meta["name"] in INJECTED_CONFIGMAPS
        or (meta.get("namespace") or "") in SYSTEM_NAMESPACES
        or bool(meta.get("ownerReferences"))
        or any(a in annotations for a in CONTROLLER_ANNOTATIONS)
        or any(label in labels for label in SIDECAR_LABELS)
    )


def _exempt(state: ClusterState, configmap: Mapping[str, Any]) -> bool:
    """Never called unused, whatever uses it (sharing an app label with a pod is checked later,
    on the few that are left)."""
    meta = configmap["metadata"]
    labels = meta.get("labels") or {}
    age = state.age_of(meta.get("creationTimestamp"))
    return (
        _managed(configmap)
        or (labels.get("owner") or labels.get("OWNER")) in HELM_RELEASE_OWNERS
        or age is None or age < UNUSED_MIN_AGE_SECONDS
    )


_WORD = re.compile(r"[\w.-]+")
"""A run of the characters an object name can hold: a name mentioned in text is one whole run."""


def _container_texts(spec: Mapping[str, Any]) -> Iterator[str]:
    """Commands, arguments and literal env values, where controllers are told which ConfigMap
    to read (``--configmap=$(POD_NAMESPACE)/ingress-nginx-controller``); a ConfigMap is named
    there when it is one whole word of ``_WORD``."""
    for _, container in all_containers(spec):
        yield from container.get("command") or ()
        yield from container.get("args") or ()
        for env in container.get("env") or ():
            yield env.get("value") or ""


ANALYZER = Analyzer(
    name="references",
    kinds=("Pod", "ConfigMap", "Secret", "ServiceAccount", "Event", *POD_TEMPLATE_KINDS),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({
        "ConfigMapNotFound", "ConfigMapKeyNotFound", "SecretNotFound", "ImagePullSecretNotFound",
        "ConfigMapTooLarge", "EmptyConfigMap"
    }),
)
