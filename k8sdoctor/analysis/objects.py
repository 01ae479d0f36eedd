"""Small readers of API objects that many analyzers share: conditions, selectors, kubectl flags.

Plugin authors may use them too; they only read the dicts they are given.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from typing import Any


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``status.conditions`` by type."""
    return {
        c.get("type", ""): c
        for c in (obj.get("status") or {}).get("conditions") or ()
        if isinstance(c, Mapping)
    }


def describe_condition(condition: Mapping[str, Any]) -> str:
    """``condition Ready=False reason=KubeletNotReady: message`` for evidence lists."""
    text = f"condition {condition.get('type')}={condition.get('status')}"
    if condition.get("reason"):
        text += f" reason={condition['reason']}"
    if condition.get("message"):
        text += f": {condition['message']}"
    return text


def ns_flag(namespace: str | None) -> str:
    """`` -n NAMESPACE`` for a kubectl command line, empty for cluster-scoped objects."""
    return f" -n {namespace}" if namespace else ""


def selector_flag(selector: Mapping[str, Any] | None) -> str:
    """A ``LabelSelector`` or Service selector as a shell-quoted ``-l`` argument."""
    if not selector:
        return ""
    if "matchLabels" in selector or "matchExpressions" in selector:
        labels = selector.get("matchLabels") or {}
        parts = [f"{k}={v}" for k, v in labels.items()]
        for expr in selector.get("matchExpressions") or ():
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or ()
            if op == "In":
                parts.append(f"{key} in ({','.join(values)})")
            elif op == "NotIn":
                parts.append(f"{key} notin ({','.join(values)})")
            elif op == "Exists":
                parts.append(str(key))
            elif op == "DoesNotExist":
                parts.append(f"!{key}")
    else:
        parts = [f"{k}={v}" for k, v in selector.items()]
    return shlex.quote(",".join(parts))


def all_containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``("initContainers" | "containers" | "ephemeralContainers", container)`` pairs."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(field) or ():
            yield field, container


def pod_template_spec(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec of a Pod, a workload's template, or a CronJob's job template."""
    if workload.get("kind") == "Pod":
        return workload.get("spec") or {}
    spec = workload.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec["jobTemplate"] or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}
