"""What a partial input could not check: references to kinds the input does not hold.

A plain ``kubectl get ingress,svc -o yaml`` file says nothing about the kinds it leaves out, so
analyzers never call an object of such a kind missing (``ClusterState.has_kind``). Holding that
back silently would read as "all is well"; this module lists each reference that was not
checked, with the object, the field and the kubectl command that would complete the input, so
the report can say so and ``--strict`` can fail on it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import RunError
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.state import ClusterState, ObjectRef, ref_of

_HPA_TARGETS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
_BUILT_IN_INGRESS_CLASSES = frozenset({"gce", "gce-internal"})
_GATEWAY_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class NotChecked:
    """One reference whose target could not be looked up, because its kind is not in the input."""

    source: ObjectRef
    """The object that holds the reference."""
    field: str
    """Where: ``spec.rules[0].http.paths[0].backend.service``."""
    target: ObjectRef

    @property
    def command(self) -> str:
        """The kubectl command whose output, added to the input, would settle it."""
        known = KNOWN_KINDS.get(self.target.kind)
        plural = known.plural if known else self.target.kind.lower()
        where = f" -n {self.target.namespace}" if self.target.namespace else ""
        return f"kubectl get {plural}{where} -o yaml"

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": _ref_dict(self.source),
            "reference": self.field,
            "target": _ref_dict(self.target),
            "command": self.command,
        }

    def __str__(self) -> str:
        return f"{self.source} {self.field} -> {self.target}"


def unchecked_references(state: ClusterState, kinds: Collection[str]) -> list[NotChecked]:
    """Every reference, from an object of one of ``kinds`` to an object of one of ``kinds``, whose
    target kind the input does not hold; one entry per target."""
    wanted = set(kinds)
    found: dict[ObjectRef, NotChecked] = {}
    for source_kind in sorted(_REFERENCES.keys() & wanted):
        for obj in state.objects(source_kind):
            for field, target in _REFERENCES[source_kind](obj):
                if target.kind in wanted and not state.has_kind(target.kind):
                    found.setdefault(target, NotChecked(ref_of(obj), field, target))
    return sorted(found.values(), key=lambda n: (n.target, n.source))


def coverage_errors(not_checked: list[NotChecked]) -> list[RunError]:
    """One ``fetch`` error per kind the input lacks, saying how many references went unchecked."""
    by_kind: dict[str, list[NotChecked]] = {}
    for entry in not_checked:
        by_kind.setdefault(entry.target.kind, []).append(entry)
    errors = []
    for kind, entries in sorted(by_kind.items()):
        count = len(entries)
        first = entries[0]
        errors.append(RunError(
            "fetch", kind,
            f"not in the input, so {count} reference{'s' if count != 1 else ''} to "
            f"{kind} {'were' if count != 1 else 'was'} not checked (first: {first}); add the "
            f"output of `{first.command}` to the input, or declare the kinds it fully covers "
            "with --snapshot-kinds",
        ))
    return errors


def _ref_dict(ref: ObjectRef) -> dict[str, Any]:
    return {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}


# -- the references analyzers follow, by the kind that holds them --------------------------------

Reference = tuple[str, ObjectRef]


def _ingress(obj: Mapping[str, Any]) -> Iterator[Reference]:
    spec, namespace = obj.get("spec") or {}, _namespace(obj)
    class_name = spec.get("ingressClassName")
    if class_name and class_name not in _BUILT_IN_INGRESS_CLASSES:
        yield "spec.ingressClassName", ObjectRef("IngressClass", class_name)
    default = ((spec.get("defaultBackend") or {}).get("service") or {}).get("name")
    if default:
        yield "spec.defaultBackend.service", ObjectRef("Service", default, namespace)
    for r, rule in enumerate(spec.get("rules") or ()):
        for p, path in enumerate((rule.get("http") or {}).get("paths") or ()):
            service = ((path.get("backend") or {}).get("service") or {}).get("name")
            if service:
                yield (f"spec.rules[{r}].http.paths[{p}].backend.service",
                       ObjectRef("Service", service, namespace))
    for t, tls in enumerate(spec.get("tls") or ()):
        secret = tls.get("secretName")
        if secret and "/" not in secret:
            yield f"spec.tls[{t}].secretName", ObjectRef("Secret", secret, namespace)


def _pod(obj: Mapping[str, Any]) -> Iterator[Reference]:
    if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return
    spec, namespace = obj.get("spec") or {}, _namespace(obj)
    for volume in spec.get("volumes") or ():
        where = f"spec.volumes[{volume.get('name')}]"
        if (source := volume.get("configMap")) and not source.get("optional"):
            yield where, ObjectRef("ConfigMap", source.get("name", ""), namespace)
        if (source := volume.get("secret")) and not source.get("optional"):
            yield where, ObjectRef("Secret", source.get("secretName", ""), namespace)
        if claim := (volume.get("persistentVolumeClaim") or {}).get("claimName"):
            yield where, ObjectRef("PersistentVolumeClaim", claim, namespace)
        for projection in (volume.get("projected") or {}).get("sources") or ():
            for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                if (source := projection.get(key)) and not source.get("optional"):
                    yield where, ObjectRef(kind, source.get("name", ""), namespace)
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or ():
            where = f"spec.{field}[{container.get('name')}]"
            for env in container.get("env") or ():
                value_from = env.get("valueFrom") or {}
                for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    if (ref := value_from.get(key)) and not ref.get("optional"):
                        yield (f"{where}.env[{env.get('name')}]",
                               ObjectRef(kind, ref.get("name", ""), namespace))
            for env_from in container.get("envFrom") or ():
                for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if (ref := env_from.get(key)) and not ref.get("optional"):
                        yield f"{where}.envFrom", ObjectRef(kind, ref.get("name", ""), namespace)
    account = spec.get("serviceAccountName")
    if account and account != "default":
        yield "spec.serviceAccountName", ObjectRef("ServiceAccount", account, namespace)


def _hpa(obj: Mapping[str, Any]) -> Iterator[Reference]:
    target = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    if target.get("kind") in _HPA_TARGETS:
        yield ("spec.scaleTargetRef",
               ObjectRef(target["kind"], target.get("name", ""), _namespace(obj)))


def _gateway(obj: Mapping[str, Any]) -> Iterator[Reference]:
    if class_name := (obj.get("spec") or {}).get("gatewayClassName"):
        yield "spec.gatewayClassName", ObjectRef("GatewayClass", class_name)


def _http_route(obj: Mapping[str, Any]) -> Iterator[Reference]:
    spec, namespace = obj.get("spec") or {}, _namespace(obj)
    for index, ref in enumerate(spec.get("parentRefs") or ()):
        if ref.get("kind", "Gateway") == "Gateway" and ref.get("group",
                                                                _GATEWAY_GROUP) == _GATEWAY_GROUP:
            yield (f"spec.parentRefs[{index}]",
                   ObjectRef("Gateway", ref.get("name", ""), ref.get("namespace", namespace)))
    for r, rule in enumerate(spec.get("rules") or ()):
        for b, ref in enumerate(rule.get("backendRefs") or ()):
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core"):
                yield (f"spec.rules[{r}].backendRefs[{b}]",
                       ObjectRef("Service", ref.get("name", ""), ref.get("namespace", namespace)))


def _claim(obj: Mapping[str, Any]) -> Iterator[Reference]:
    if storage_class := (obj.get("spec") or {}).get("storageClassName"):
        yield "spec.storageClassName", ObjectRef("StorageClass", storage_class)


def _namespace(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("namespace")


_REFERENCES = {
    "Ingress": _ingress,
    "Pod": _pod,
    "HorizontalPodAutoscaler": _hpa,
    "Gateway": _gateway,
    "HTTPRoute": _http_route,
    "PersistentVolumeClaim": _claim,
}
