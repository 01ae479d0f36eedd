"""Pods with host or root access, wildcard RBAC granted to subjects, and default-token exposure.

Faults reported (per workload: the Deployment, StatefulSet, DaemonSet, CronJob or Job that owns
the pods, else the pod; containers are named):

- ``PrivilegedContainer`` (warning): ``securityContext.privileged: true``, or capabilities
  ``ALL`` / ``SYS_ADMIN`` added: the container is root on the node. Fix: drop it, or add only
  the capability needed.
- ``HostNamespaces`` (warning): ``hostNetwork``, ``hostPID`` or ``hostIPC``: the pod sees the
  node's network stack, processes or shared memory. Fix: remove the field.
- ``HostPathVolume`` (warning when mounted writable, info when every mount is read-only): a
  ``hostPath`` volume exposes the node's filesystem. Fix: use a PersistentVolume, ConfigMap or
  emptyDir.
- ``RunsAsRoot`` (warning): ``runAsUser: 0`` is set explicitly. Fix: run as a non-zero UID and
  set ``runAsNonRoot: true``.
- ``AllowPrivilegeEscalation`` (warning): ``allowPrivilegeEscalation: true`` is set explicitly
  on an unprivileged container (setuid binaries can gain privileges). Fix: set it to false.
- ``RunAsNonRootNotSet`` (info): neither the pod nor the container sets ``runAsNonRoot: true``
  and no non-zero ``runAsUser`` is given, so the image's user (often root) applies.
- ``DefaultServiceAccountToken`` (info; warning when RoleBindings grant the namespace's
  ``default`` ServiceAccount permissions): the pod runs as ``default`` with its API token
  mounted, so every such pod carries those permissions. Fix: a dedicated ServiceAccount, and
  ``automountServiceAccountToken: false`` where the API is not used.
- ``WildcardRBAC`` (warning for a ClusterRoleBinding, info for a RoleBinding or when every
  subject is a kube-system ServiceAccount): a binding grants a role with ``*`` verbs or
  resources (``cluster-admin`` included) to users, groups or ServiceAccounts. Fix: a role
  listing only the verbs and resources needed.

Noise choices: pods of DaemonSets, static (mirror) pods and pods in ``kube-system`` are node
agents and control-plane components whose job needs host access (CNI, CSI node plugins, log
shippers, kube-proxy): their host-access findings are info, not warning. Not reported: Kubernetes'
own RBAC (bindings and roles named ``system:...`` or labelled
``kubernetes.io/bootstrapping: rbac-defaults``, ``cluster-admin`` bound to ``system:masters``),
subjects named ``system:...``; ``allowPrivilegeEscalation`` left unset (the default, reported by
Pod Security admission's restricted profile, would flag nearly every pod); finished pods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import is_static_pod, ns_flag, one_pod_per_workload

SYSTEM_NAMESPACES = frozenset({"kube-system"})
_DANGEROUS_CAPABILITIES = frozenset({"ALL", "SYS_ADMIN"})
_BUILT_IN_PREFIXES = ("system:",)


def analyze(state: ClusterState) -> Iterator[Finding]:
    grants = _default_account_grants(state)
    for pod, owner in one_pod_per_workload(state):
        yield from _pod_findings(state, pod, owner, grants)
    yield from _wildcard_bindings(state)


def _pod_findings(
    state: ClusterState, pod: Mapping[str, Any], owner: ObjectRef | None,
    grants: Mapping[str, list[str]],
) -> Iterator[Finding]:
    spec = pod.get("spec") or {}
    namespace = pod["metadata"].get("namespace")
    target = (state.get(owner.kind, owner.namespace, owner.name) if owner else None) or pod
    parent = owner if target is pod else None
    static = is_static_pod(pod)
    what = (f"{owner.kind} {owner.name}" if owner
            else f"{'static ' if static else ''}pod {pod['metadata']['name']}")
    if static:
        where = (f"Edit the static pod manifest on node {spec.get('nodeName')} (the kubelet's "
                 "staticPodPath, usually /etc/kubernetes/manifests)")
    else:
        where = (f"kubectl edit {owner.kind.lower()} {owner.name}" if owner
                 else f"kubectl edit pod {pod['metadata']['name']}") + ns_flag(namespace)
    node_agent = (namespace in SYSTEM_NAMESPACES or static
                  or (owner is not None and owner.kind == "DaemonSet"))
    host_severity = Severity.INFO if node_agent else Severity.WARNING
    agent_note = " (expected for a node agent or system component)" if node_agent else ""
    pod_context = spec.get("securityContext") or {}
    containers = [c for field in ("initContainers", "containers")
                  for c in spec.get(field) or ()]

    def finding(severity: Severity, reason: str, message: str, evidence: Sequence[str],
                fix: str) -> Finding:
        return Finding.about(target, severity=severity, reason=reason, message=message,
                             evidence=evidence, remediation=[f"{where}  # {fix}"], parent=parent)

    privileged = [c["name"] for c in containers if _privileged(c)]
    if privileged:
        yield finding(host_severity, "PrivilegedContainer",
                      f"{what} runs privileged containers: {', '.join(privileged)}{agent_note}.",
                      [f"container {n}: privileged or CAP_SYS_ADMIN/ALL" for n in privileged],
                      "remove securityContext.privileged; add only the capabilities needed")
    host = [f for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]
    if host:
        yield finding(host_severity, "HostNamespaces",
                      f"{what} shares the node's {', '.join(host)}{agent_note}.",
                      [f"spec.{f}=true" for f in host], f"remove {', '.join(host)}")
    yield from _host_paths(spec, containers, what, agent_note, node_agent, finding)

    root = [c["name"] for c in containers if _effective(c, pod_context, "runAsUser") == 0]
    if root:
        yield finding(Severity.WARNING, "RunsAsRoot",
                      f"{what} runs as root (runAsUser: 0): {', '.join(root)}.",
                      [f"container {n}: runAsUser=0" for n in root],
                      "set a non-zero runAsUser and runAsNonRoot: true")
    escalating = [c["name"] for c in containers if c["name"] not in privileged and (
        (c.get("securityContext") or {}).get("allowPrivilegeEscalation") is True)]
    if escalating:
        yield finding(host_severity, "AllowPrivilegeEscalation",
                      f"{what} allows privilege escalation in {', '.join(escalating)}.",
                      [f"container {n}: allowPrivilegeEscalation=true" for n in escalating],
                      "set securityContext.allowPrivilegeEscalation: false")
    unguarded = [c["name"] for c in containers if c["name"] not in root and not (
        _effective(c, pod_context, "runAsNonRoot") is True
        or (_effective(c, pod_context, "runAsUser") or 0) > 0)]
    if unguarded and not privileged:
        yield finding(Severity.INFO, "RunAsNonRootNotSet",
                      f"{what} does not require a non-root user in {', '.join(unguarded)}; "
                      "the image's user (often root) applies.",
                      ["runAsNonRoot unset and no non-zero runAsUser"],
                      "set securityContext.runAsNonRoot: true (and runAsUser) in the pod spec")
    token = None if static else _default_token(state, spec, namespace, grants)  # static: none
    if token is not None:
        yield finding(Severity.WARNING if token else Severity.INFO, "DefaultServiceAccountToken",
                      f"{what} runs as the default ServiceAccount with its API token mounted"
                      + (f"; that account is granted {', '.join(token)}" if token else "")
                      + ".",
                      ["serviceAccountName=default", "automountServiceAccountToken not false",
                       *(f"bound: {b}" for b in token)],
                      "set a dedicated serviceAccountName, or automountServiceAccountToken: false")


_FindingMaker = Callable[[Severity, str, str, Sequence[str], str], Finding]


def _host_paths(
    spec: Mapping[str, Any],
    containers: Sequence[Mapping[str, Any]],
    what: str,
    agent_note: str,
    node_agent: bool,
    finding: _FindingMaker,
) -> Iterator[Finding]:
    paths = {v["name"]: (v.get("hostPath") or {}).get("path", "")
             for v in spec.get("volumes") or () if "hostPath" in v}
    if not paths:
        return
    writable = sorted({paths[m["name"]] for c in containers for m in c.get("volumeMounts") or ()
                       if m.get("name") in paths and not m.get("readOnly")})
    severity = Severity.INFO if node_agent or not writable else Severity.WARNING
    detail = (f"writable: {', '.join(writable)}" if writable
              else "all mounted read-only")
    yield finding(severity, "HostPathVolume",
                  f"{what} mounts node paths {', '.join(sorted(set(paths.values())))} ({detail})"
                  f"{agent_note}.",
                  [f"volume {name}: hostPath {path}" for name, path in sorted(paths.items())],
                  "replace hostPath volumes with a PersistentVolumeClaim, ConfigMap or emptyDir")


def _privileged(container: Mapping[str, Any]) -> bool:
    context = container.get("securityContext") or {}
    added = {str(cap).upper().removeprefix("CAP_")
             for cap in (context.get("capabilities") or {}).get("add") or ()}
    return bool(context.get("privileged")) or bool(added & _DANGEROUS_CAPABILITIES)


def _effective(container: Mapping[str, Any], pod_context: Mapping[str, Any], field: str) -> Any:
    """A securityContext field as it applies: the container's, else the pod's."""
    value = (container.get("securityContext") or {}).get(field)
    return pod_context.get(field) if value is None else value


def _default_token(
    state: ClusterState, spec: Mapping[str, Any], namespace: str | None,
    grants: Mapping[str, list[str]],
) -> list[str] | None:
    """None when the pod does not run as ``default`` with a token; else the bindings that grant
    that ServiceAccount permissions (empty when none do)."""
    if (spec.get("serviceAccountName") or spec.get("serviceAccount") or "default") != "default":
        return None
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        account = state.get("ServiceAccount", namespace, "default") or {}
        automount = account.get("automountServiceAccountToken")
    if automount is False:
        return None
    return grants.get(namespace or "", [])


def _default_account_grants(state: ClusterState) -> dict[str, list[str]]:
    """``RoleBinding web-reader (view)`` for each binding that grants a namespace's ``default``
    ServiceAccount permissions, by namespace."""
    grants: dict[str, list[str]] = defaultdict(list)
    for binding in _bindings(state):
        if _built_in(binding):
            continue
        text = (f"{binding['kind']} {binding['metadata']['name']} "
                f"({(binding.get('roleRef') or {}).get('name')})")
        for subject in binding.get("subjects") or ():
            namespace = subject.get("namespace") or binding["metadata"].get("namespace") or ""
            if (subject.get("kind") == "ServiceAccount" and subject.get("name") == "default"
                    and text not in grants[namespace]):
                grants[namespace].append(text)
    return grants


def _bindings(state: ClusterState) -> list[Mapping[str, Any]]:
    return [*state.objects("ClusterRoleBinding"), *state.objects("RoleBinding")]


def _built_in(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata") or {}
    return (meta.get("name", "").startswith(_BUILT_IN_PREFIXES)
            or (meta.get("labels") or {}).get("kubernetes.io/bootstrapping") == "rbac-defaults")


def _wildcard_bindings(state: ClusterState) -> Iterator[Finding]:
    for binding in _bindings(state):
        if _built_in(binding):
            continue
        ref = binding.get("roleRef") or {}
        namespace = binding["metadata"].get("namespace")
        role = (state.get("ClusterRole", None, ref.get("name", "")) if ref.get("kind") ==
                "ClusterRole" else state.get("Role", namespace, ref.get("name", "")))
        wild = [_rule_text(r) for r in (role or {}).get("rules") or () if _wildcard(r)]
        subjects = [s for s in binding.get("subjects") or ()
                    if not s.get("name", "").startswith(_BUILT_IN_PREFIXES)]
        if not wild or not subjects:
            continue
        system_only = all(s.get("kind") == "ServiceAccount"
                          and (s.get("namespace") or namespace) in SYSTEM_NAMESPACES
                          for s in subjects)
        cluster_wide = binding["kind"] == "ClusterRoleBinding"
        who = ", ".join(_subject_text(s, namespace) for s in subjects)
        scope = "cluster-wide" if cluster_wide else f"in namespace {namespace}"
        yield Finding.about(
            binding,
            severity=Severity.WARNING if cluster_wide and not system_only else Severity.INFO,
            reason="WildcardRBAC",
            message=f"{binding['kind']} {binding['metadata']['name']} grants {ref.get('kind')} "
                    f"{ref.get('name')} ({'; '.join(wild)}) {scope} to {who}.",
            evidence=[f"rule: {w}" for w in wild] + [f"subject: {_subject_text(s, namespace)}"
                                                     for s in subjects],
            remediation=[
                f"kubectl auth can-i --list --as={_impersonation(subjects[0], namespace)}"
                "  # what the subject can do",
                f"Bind a role listing only the verbs and resources needed instead of "
                f"{ref.get('name')}.",
            ],
        )


def _wildcard(rule: Mapping[str, Any]) -> bool:
    return bool(rule.get("resources")) and (
        "*" in (rule.get("verbs") or ()) or "*" in (rule.get("resources") or ()))


def _rule_text(rule: Mapping[str, Any]) -> str:
    groups = ",".join(g or '""' for g in rule.get("apiGroups") or ()) or '""'
    return (f"verbs {','.join(rule.get('verbs') or ())} on resources "
            f"{','.join(rule.get('resources') or ())} in apiGroups {groups}")


def _subject_text(subject: Mapping[str, Any], namespace: str | None) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f"ServiceAccount {subject.get('namespace') or namespace}/{subject.get('name')}"
    return f"{subject.get('kind')} {subject.get('name')}"


def _impersonation(subject: Mapping[str, Any], namespace: str | None) -> str:
    if subject.get("kind") == "ServiceAccount":
        return (f"system:serviceaccount:{subject.get('namespace') or namespace}:"
                f"{subject.get('name')}")
    if subject.get("kind") == "Group":
        return f"any --as-group={subject.get('name')}"
    return str(subject.get("name"))


ANALYZER = Analyzer(
    name="security",
    kinds=("Pod", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
           "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"),
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
    spec_reasons=frozenset({
        "AllowPrivilegeEscalation", "DefaultServiceAccountToken", "HostNamespaces",
        "HostPathVolume", "PrivilegedContainer", "RunAsNonRootNotSet", "RunsAsRoot", "WildcardRBAC"
    }),
)
