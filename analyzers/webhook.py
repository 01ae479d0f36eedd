"""Admission webhooks whose backing Service is missing or has nothing ready behind it.

Faults reported (for ValidatingWebhookConfigurations and MutatingWebhookConfigurations; critical
when the webhook's ``failurePolicy`` is ``Fail``, because the API server then rejects every
request the webhook's rules match; warning with ``Ignore``, because those requests are admitted
unchecked after waiting for the call to time out):

- ``WebhookServiceNotFound``: ``clientConfig.service`` names a Service that does not exist,
  typically left behind when the component that served it was uninstalled. Fix: reinstall the
  component, or delete the leftover configuration.
- ``WebhookServicePortNotFound``: the Service exists but has no port ``clientConfig.service.port``
  (default 443). Fix: correct the port in the configuration or the Service.
- ``WebhookNoReadyEndpoints``: the Service has no ready endpoint, so every call fails with
  ``no endpoints available for service``. Fix: bring the webhook's pods back; if they cannot
  start because the webhook blocks their own creation, delete the configuration and reinstall.

The rules and operations each webhook intercepts are named in the message.

Not reported: webhooks called by URL (nothing to check in the cluster); Services or endpoints
that could not be listed or were outside ``-n``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.endpoints import service_endpoints
from k8sdoctor.analysis.objects import (
    absence_is_known,
    describe_service_ports,
    lacks_service_port,
    ns_flag,
    selector_flag,
)

_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
_DEFAULT_TIMEOUT_SECONDS = 10


def analyze(state: ClusterState) -> Iterator[Finding]:
    for kind in _KINDS:
        for configuration in state.objects(kind):
            yield from _check(state, configuration)


def _check(state: ClusterState, configuration: Mapping[str, Any]) -> Iterator[Finding]:
    problems: dict[str, list[tuple[Mapping[str, Any], str, list[str]]]] = defaultdict(list)
    for webhook in configuration.get("webhooks") or ():
        ref = (webhook.get("clientConfig") or {}).get("service")
        if not ref or not absence_is_known(state, "Service", ref.get("namespace")):
            continue
        namespace, name, port = ref.get("namespace"), ref.get("name", ""), ref.get("port", 443)
        service = state.get("Service", namespace, name)
        where = f"{namespace}/{name}"
        if service is None:
            problems["WebhookServiceNotFound"].append(
                (webhook, f"its Service {where} does not exist", [])
            )
            continue
        if lacks_service_port(service, port):
            problems["WebhookServicePortNotFound"].append(
                (webhook, f"its Service {where} has no port {port} (it exposes "
                          f"{describe_service_ports(service)})", [])
            )
            continue
        if (service.get("spec") or {}).get("type") == "ExternalName":
            continue  # the API server calls the external name directly
        endpoints = service_endpoints(state, namespace, name)
        if endpoints is not None and not endpoints.ready:
            problems["WebhookNoReadyEndpoints"].append(
                (webhook, f"its Service {where} has no ready endpoint", [endpoints.summary()])
            )
    for reason, entries in problems.items():
        yield _finding(state, configuration, reason, entries)


def _finding(
    state: ClusterState,
    configuration: Mapping[str, Any],
    reason: str,
    entries: list[tuple[Mapping[str, Any], str, list[str]]],
) -> Finding:
    kind, name = configuration["kind"], configuration["metadata"]["name"]
    failing_closed = [w for w, _, _ in entries if _fails_closed(w)]
    webhook = entries[0][0]
    ref = webhook["clientConfig"]["service"]
    sentences = []
    for hook, text, _ in entries:
        effect = (
            f"the API server rejects every {_intercepts(hook)}"
            if _fails_closed(hook)
            else f"requests to {_intercepts(hook)} are admitted unchecked after each call "
                 f"times out ({hook.get('timeoutSeconds', _DEFAULT_TIMEOUT_SECONDS)}s)"
        )
        sentences.append(f"webhook {hook.get('name')}: {text}, so {effect}")
    message = f"{kind} {name}: " + "; ".join(sentences) + "."
    if failing_closed and reason != "WebhookServicePortNotFound":
        message += f" Requests fail with an error such as: {_api_error(failing_closed[0], reason)}"
    evidence = []
    for hook, _, extra in entries:
        service = hook["clientConfig"]["service"]
        evidence.append(
            f"webhook {hook.get('name')}: clientConfig.service {service.get('namespace')}/"
            f"{service.get('name')} port {service.get('port', 443)} path "
            f"{service.get('path', '/')}; failurePolicy={hook.get('failurePolicy', 'Fail')}"
        )
        evidence.extend(extra)
        for selector in ("namespaceSelector", "objectSelector"):
            if hook.get(selector):
                evidence.append(f"webhook {hook.get('name')}: {selector} "
                                f"{selector_flag(hook[selector])}")
    return Finding.about(
        configuration,
        severity=Severity.CRITICAL if failing_closed else Severity.WARNING,
        reason=reason,
        message=message,
        evidence=evidence,
        remediation=_remediation(state, kind, name, reason, ref, webhook),
    )


def _remediation(
    state: ClusterState, kind: str, name: str, reason: str, ref: Mapping[str, Any],
    webhook: Mapping[str, Any],
) -> list[str]:
    ns = ns_flag(ref.get("namespace"))
    delete = f"kubectl delete {kind.lower()} {name}"
    if reason == "WebhookServiceNotFound":
        return [f"kubectl get services{ns}",
                "Reinstall the component that serves this webhook, or, if it was uninstalled, "
                f"delete its leftover configuration: {delete}"]
    if reason == "WebhookServicePortNotFound":
        return [f"kubectl get service {ref.get('name')}{ns} -o yaml",
                f"Set clientConfig.service.port of webhook {webhook.get('name')} to a port the "
                f"Service exposes: kubectl edit {kind.lower()} {name}"]
    service = state.get("Service", ref.get("namespace"), ref.get("name", "")) or {}
    selector = (service.get("spec") or {}).get("selector")
    steps = [f"kubectl get pods{ns} -l {selector_flag(selector)}" if selector
             else f"kubectl get endpointslices{ns} -l "
                  f"kubernetes.io/service-name={ref.get('name')}",
             "Bring the webhook's pods back (see their findings)."]
    if _fails_closed(webhook) and _intercepts_pods(webhook):
        steps.append("If they cannot be recreated because this webhook also intercepts their "
                     f"own creation, delete the configuration ({delete}) and reinstall the "
                     "component.")
    return steps


def _fails_closed(webhook: Mapping[str, Any]) -> bool:
    return webhook.get("failurePolicy", "Fail") == "Fail"


def _intercepts(webhook: Mapping[str, Any]) -> str:
    """``CREATE, UPDATE of deployments.apps, pods`` for every rule of the webhook."""
    parts = []
    for rule in webhook.get("rules") or ():
        operations = rule.get("operations") or ["*"]
        ops = "every operation" if "*" in operations else ", ".join(operations)
        groups = rule.get("apiGroups") or [""]
        resources = [
            resource if group in ("", "*") else f"{resource}.{group}"
            for group in groups
            for resource in rule.get("resources") or ["*"]
        ]
        what = "all resources" if "*" in rule.get("resources", ["*"]) else ", ".join(resources)
        parts.append(f"{ops} on {what}")
    return "; ".join(parts) if parts else "the requests it matches"


def _intercepts_pods(webhook: Mapping[str, Any]) -> bool:
    return any(
        {"pods", "*"} & set(rule.get("resources") or ())
        and ("*" in (rule.get("operations") or ["*"]) or "CREATE" in rule.get("operations"))
        for rule in webhook.get("rules") or ()
    )


def _api_error(webhook: Mapping[str, Any], reason: str) -> str:
    """The error the API server returns to clients, as kube-apiserver words it when it routes to
    endpoints (with cluster-IP routing, a missing endpoint shows as a refused connection)."""
    ref = webhook["clientConfig"]["service"]
    timeout = webhook.get("timeoutSeconds", _DEFAULT_TIMEOUT_SECONDS)
    url = (f"https://{ref.get('name')}.{ref.get('namespace')}.svc:{ref.get('port', 443)}"
           f"{ref.get('path', '')}?timeout={timeout}s")
    cause = (f'service "{ref.get("name")}" not found' if reason == "WebhookServiceNotFound"
             else f'no endpoints available for service "{ref.get("name")}"')
    return (f'Internal error occurred: failed calling webhook "{webhook.get("name")}": failed '
            f'to call webhook: Post "{url}": {cause}')


ANALYZER = Analyzer(
    name="webhook",
    kinds=(*_KINDS, "Service", "EndpointSlice", "Endpoints"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"WebhookServiceNotFound", "WebhookServicePortNotFound"}),
)
