"""Operator Lifecycle Manager catalogs, subscriptions, install plans and operators that failed.

Reads OLM v0 (``operators.coreos.com``: CatalogSource, Subscription, InstallPlan,
ClusterServiceVersion, OperatorGroup) and OLM v1 (``olm.operatorframework.io``: ClusterCatalog,
ClusterExtension). Where those CRDs are not served nothing is listed and nothing is reported.
Faults reported:

- ``CatalogSourceUnhealthy`` (error): the CatalogSource's registry connection is in
  ``TRANSIENT_FAILURE``: its registry pod is down or unreachable, so no Subscription can resolve
  or upgrade from it. Fix: the registry pod in the catalog's namespace (``kubectl get pods -l
  olm.catalogSource=NAME``), its image and pull secret.
- ``CatalogNotServing`` (error): a ClusterCatalog is not ``Serving``, and ``Progressing`` says
  ``Retrying`` (or ``Blocked``): its image cannot be unpacked, quoted from the condition. Fix:
  the image reference and its pull secret.
- ``ExtensionNotInstalled`` (error): a ClusterExtension's ``Installed`` condition is False; its
  ``Progressing`` message is quoted. Fix: what it names (package or version not found, service
  account permissions).
- ``InvalidExtensionSpec`` (error): ``spec.source.sourceType`` is not ``Catalog`` or
  ``spec.source.catalog.upgradeConstraintPolicy`` is not ``CatalogProvided`` or
  ``SelfCertified``. Fix: correct the field.
- ``CSVFailed`` (error): a ClusterServiceVersion is in phase ``Failed``; its reason and message
  are quoted (``RequirementsNotMet``: an unresolved dependency or missing permission,
  ``InstallComponentFailed``, ``TooManyOperatorGroups``...). Fix: what the message names.
- ``InstallPlanFailed`` (error): an InstallPlan is in phase ``Failed``; its ``Installed``
  condition is quoted. Fix: what it names, then delete the InstallPlan so OLM makes a new one.
- ``TooManyOperatorGroups`` (error): a namespace holds more than one OperatorGroup, so OLM
  installs no operator there. Fix: delete all but one.
- ``SubscriptionNotAtLatest`` (error): a Subscription is not ``AtLatestKnown`` because a
  catalog source it resolves from is unhealthy (``CatalogSourcesUnhealthy``), or resolution
  failed (``ResolutionFailed``, quoted). Fix: the catalog source's registry, or what the
  resolution message names.

Not reported: copied ClusterServiceVersions (the copies OLM puts in each target namespace carry
their original's fault); CatalogSources that are still ``CONNECTING`` or ``IDLE``; Subscriptions
at ``AtLatestKnown`` whatever their catalogs' health.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, ns_flag

COPIED_LABEL = "olm.copiedFrom"
SOURCE_TYPES = frozenset({"Catalog"})
UPGRADE_POLICIES = frozenset({"CatalogProvided", "SelfCertified"})
_KINDS = ("CatalogSource", "ClusterCatalog", "ClusterExtension", "ClusterServiceVersion",
          "InstallPlan", "OperatorGroup", "Subscription")


def analyze(state: ClusterState) -> Iterator[Finding]:
    for catalog in state.objects("CatalogSource"):
        yield from _catalog_source(catalog)
    for catalog in state.objects("ClusterCatalog"):
        yield from _cluster_catalog(catalog)
    for extension in state.objects("ClusterExtension"):
        yield from _cluster_extension(extension)
    for csv in state.objects("ClusterServiceVersion"):
        yield from _csv(csv)
    for plan in state.objects("InstallPlan"):
        yield from _install_plan(plan)
    yield from _operator_groups(state)
    for subscription in state.objects("Subscription"):
        yield from _subscription(subscription)


def _catalog_source(catalog: Mapping[str, Any]) -> Iterator[Finding]:
    meta, status = catalog["metadata"], catalog.get("status") or {}
    connection = status.get("connectionState") or {}
    if connection.get("lastObservedState") != "TRANSIENT_FAILURE":
        return
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    yield Finding.about(
        catalog, severity=Severity.ERROR, reason="CatalogSourceUnhealthy",
        message=f"CatalogSource {name} cannot reach its registry at "
                f"{connection.get('address') or 'its service'} (TRANSIENT_FAILURE): "
                "Subscriptions cannot resolve or upgrade operators from it.",
        evidence=[f"status.connectionState.lastObservedState=TRANSIENT_FAILURE "
                  f"lastConnect={connection.get('lastConnect')}",
                  f"spec.image={(catalog.get('spec') or {}).get('image')}"],
        remediation=[f"kubectl get pods{ns} -l olm.catalogSource={name}  # the registry pod",
                     f"kubectl describe catalogsource {name}{ns}"],
    )


def _cluster_catalog(catalog: Mapping[str, Any]) -> Iterator[Finding]:
    by_type = conditions(catalog)
    serving, progressing = by_type.get("Serving") or {}, by_type.get("Progressing") or {}
    if serving.get("status") == "True" or progressing.get("reason") not in ("Retrying", "Blocked"):
        return
    name = catalog["metadata"]["name"]
    image = (((catalog.get("spec") or {}).get("source") or {}).get("image") or {}).get("ref")
    yield Finding.about(
        catalog, severity=Severity.ERROR, reason="CatalogNotServing",
        message=f"ClusterCatalog {name} is not being served: {progressing.get('reason')}: "
                f"{progressing.get('message', '')}",
        evidence=[describe_condition(c) for c in (serving, progressing) if c]
                 + ([f"spec.source.image.ref={image}"] if image else []),
        remediation=[f"kubectl describe clustercatalog {name}",
                     "Check the image reference and that the cluster may pull it."],
    )


def _cluster_extension(extension: Mapping[str, Any]) -> Iterator[Finding]:
    name = extension["metadata"]["name"]
    source = (extension.get("spec") or {}).get("source") or {}
    source_type = source.get("sourceType")
    policy = (source.get("catalog") or {}).get("upgradeConstraintPolicy")
    invalid = []
    if source_type not in SOURCE_TYPES:
        invalid.append(f"spec.source.sourceType={source_type!r} (must be Catalog)")
    if policy is not None and policy not in UPGRADE_POLICIES:
        invalid.append(f"spec.source.catalog.upgradeConstraintPolicy={policy!r} (must be "
                       "CatalogProvided or SelfCertified)")
    if invalid:
        yield Finding.about(
            extension, severity=Severity.ERROR, reason="InvalidExtensionSpec",
            message=f"ClusterExtension {name} has an invalid spec: {'; '.join(invalid)}.",
            evidence=invalid,
            remediation=[f"kubectl edit clusterextension {name}"],
        )
    by_type = conditions(extension)
    installed = by_type.get("Installed") or {}
    if installed.get("status") != "False":
        return
    progressing = by_type.get("Progressing") or {}
    why = progressing.get("message") or installed.get("message") or installed.get("reason", "")
    yield Finding.about(
        extension, severity=Severity.ERROR, reason="ExtensionNotInstalled",
        message=f"ClusterExtension {name} is not installed: {why}",
        evidence=[describe_condition(c) for c in (installed, progressing) if c],
        remediation=[f"kubectl describe clusterextension {name}",
                     "Fix what the Progressing condition names (package or version not in the "
                     "catalog, the installer service account's permissions)."],
    )


def _csv(csv: Mapping[str, Any]) -> Iterator[Finding]:
    meta, status = csv["metadata"], csv.get("status") or {}
    if status.get("phase") != "Failed" or COPIED_LABEL in (meta.get("labels") or {}):
        return
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    unmet = [f"requirement {r.get('kind')} {r.get('name')}: {r.get('status')}"
             + (f" ({r['message']})" if r.get("message") else "")
             for r in status.get("requirementStatus") or () if r.get("status") != "Present"]
    yield Finding.about(
        csv, severity=Severity.ERROR, reason="CSVFailed",
        message=f"ClusterServiceVersion {name} failed: {status.get('reason', 'Failed')}: "
                f"{status.get('message', '')}",
        evidence=[f"status.phase=Failed reason={status.get('reason')}", *unmet[:5]],
        remediation=[f"kubectl describe csv {name}{ns}",
                     "Fix what the message names (a missing dependency, permissions, a second "
                     "OperatorGroup), then OLM retries."],
    )


def _install_plan(plan: Mapping[str, Any]) -> Iterator[Finding]:
    meta, status = plan["metadata"], plan.get("status") or {}
    if status.get("phase") != "Failed":
        return
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    installed = conditions(plan).get("Installed") or {}
    csvs = ", ".join((plan.get("spec") or {}).get("clusterServiceVersionNames") or ())
    yield Finding.about(
        plan, severity=Severity.ERROR, reason="InstallPlanFailed",
        message=f"InstallPlan {name} ({csvs or 'no CSV named'}) failed: "
                f"{installed.get('reason', 'Failed')}: {installed.get('message', '')}",
        evidence=["status.phase=Failed", *([describe_condition(installed)] if installed else [])],
        remediation=[f"kubectl describe installplan {name}{ns}",
                     f"Fix what it names, then kubectl delete installplan {name}{ns}  # OLM "
                     "makes a new one"],
    )


def _operator_groups(state: ClusterState) -> Iterator[Finding]:
    by_namespace: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for group in state.objects("OperatorGroup"):
        by_namespace[group["metadata"].get("namespace") or ""].append(group)
    for namespace, groups in sorted(by_namespace.items()):
        if len(groups) < 2:
            continue
        names = sorted(g["metadata"]["name"] for g in groups)
        for group in groups:
            yield Finding.about(
                group, severity=Severity.ERROR, reason="TooManyOperatorGroups",
                message=f"Namespace {namespace} holds {len(groups)} OperatorGroups "
                        f"({', '.join(names)}); OLM installs no operator in a namespace with "
                        "more than one.",
                evidence=[f"OperatorGroups in {namespace}: {', '.join(names)}"],
                remediation=[f"kubectl delete operatorgroup <all but one of: {', '.join(names)}>"
                             f"{ns_flag(namespace)}"],
            )


def _subscription(subscription: Mapping[str, Any]) -> Iterator[Finding]:
    meta, status = subscription["metadata"], subscription.get("status") or {}
    state_ = status.get("state")
    if state_ == "AtLatestKnown":
        return
    by_type = conditions(subscription)
    unhealthy = by_type.get("CatalogSourcesUnhealthy") or {}
    failed = by_type.get("ResolutionFailed") or {}
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    sick = [f"{(h.get('catalogSourceRef') or {}).get('namespace')}/"
            f"{(h.get('catalogSourceRef') or {}).get('name')}"
            for h in status.get("catalogHealth") or () if h.get("healthy") is False]
    if unhealthy.get("status") == "True":
        why = f"catalog source {', '.join(sick) or 'it resolves from'} is unhealthy"
        condition = unhealthy
    elif failed.get("status") == "True":
        why = f"resolution failed: {failed.get('message', '')}"
        condition = failed
    else:
        return
    spec = subscription.get("spec") or {}
    yield Finding.about(
        subscription, severity=Severity.ERROR, reason="SubscriptionNotAtLatest",
        message=f"Subscription {name} ({spec.get('name')} from {spec.get('source')}) is not at "
                f"the latest version (state {state_ or 'unknown'}): {why}.",
        evidence=[describe_condition(condition),
                  f"status.currentCSV={status.get('currentCSV')} "
                  f"installedCSV={status.get('installedCSV')}"],
        remediation=[f"kubectl describe subscription {name}{ns}",
                     f"kubectl get catalogsource {spec.get('source')} -n "
                     f"{spec.get('sourceNamespace') or meta.get('namespace')} -o yaml  # its "
                     "connectionState"],
    )


ANALYZER = Analyzer(
    name="olm",
    kinds=_KINDS,
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
    spec_reasons=frozenset({"InvalidExtensionSpec", "TooManyOperatorGroups"}),
)
