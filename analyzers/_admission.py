"""Why a controller could not create a pod, read from the API server's refusal.

The ReplicaSet, DaemonSet and Job controllers write the API server's error into a ``FailedCreate``
event (``Error creating: pods "web-7d4b9c8f5-" is forbidden: exceeded quota: ...``; the
StatefulSet controller writes ``create Pod web-0 in StatefulSet web failed error: ...``) and, for
ReplicaSets, a ``ReplicaFailure`` condition. This module sorts that text into a
cause (quota, Pod Security admission, a webhook, a LimitRange, a missing ServiceAccount) with
the fix for it, and finds the controller's latest such event. Private to the workload analyzers;
it declares no analyzer of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.cluster.state import ClusterState

_QUOTA = re.compile(r"exceeded quota: (?P<name>[^,]+)")
_FAILED_QUOTA = re.compile(r"failed quota: (?P<name>[^:]+):")
_PSA = re.compile(r'violates PodSecurity "(?P<level>[^"]+)"')
_WEBHOOK = re.compile(r'admission webhook "(?P<name>[^"]+)" denied the request')
_WEBHOOK_CALL = re.compile(r'failed calling webhook "(?P<name>[^"]+)"')
_SERVICE_ACCOUNT = re.compile(r'serviceaccount "(?P<name>[^"]+)" not found')


@dataclass(frozen=True)
class CreateFailure:
    """A refused pod creation: what kind of refusal, and what to do about it."""

    cause: str
    fix: str


def explain(message: str, namespace: str | None, workload: str) -> CreateFailure:
    """The cause and fix of a pod creation error. ``workload`` names where the pod template is,
    e.g. "the pod template of Deployment web"."""
    where = f" in namespace {namespace}" if namespace else ""
    if match := _QUOTA.search(message):
        return CreateFailure(
            f"ResourceQuota {match['name']} is exhausted",
            f"Raise ResourceQuota {match['name']}{where} (kubectl describe resourcequota "
            f"{match['name']}{' -n ' + namespace if namespace else ''}), free quota by scaling "
            f"something else down, or lower the requests and limits in {workload}.")
    if match := _FAILED_QUOTA.search(message):
        return CreateFailure(
            f"ResourceQuota {match['name']} requires requests or limits the pod does not set",
            f"Set the resources the message names on every container in {workload}, or add a "
            f"LimitRange{where} that gives defaults.")
    if match := _PSA.search(message):
        return CreateFailure(
            f"Pod Security admission rejects the pod at level {match['level']}",
            f"Change {workload} to meet the {match['level']} Pod Security Standard (set the "
            "securityContext fields the message names), or, if a laxer level is intended, "
            f"change the pod-security.kubernetes.io/enforce label of the namespace.")
    if match := _WEBHOOK.search(message):
        return CreateFailure(
            f"admission webhook {match['name']} denied the pod",
            f"Change {workload} to satisfy the policy behind webhook {match['name']}, or ask "
            "its owners for an exception.")
    if match := _WEBHOOK_CALL.search(message):
        return CreateFailure(
            f"admission webhook {match['name']} could not be called",
            f"The webhook {match['name']} is down (see the webhook findings): fix its Service "
            "and pods, or its failurePolicy.")
    if match := _SERVICE_ACCOUNT.search(message):
        return CreateFailure(
            f"ServiceAccount {match['name']} does not exist",
            f"Create ServiceAccount {match['name']}{where}, or fix serviceAccountName in "
            f"{workload}.")
    if "per Container" in message or "per Pod" in message:
        return CreateFailure(
            "a LimitRange rejects the pod's resources",
            f"Bring the requests and limits in {workload} within the namespace's LimitRange "
            "(kubectl describe limitrange).")
    if "security context constraint" in message:
        return CreateFailure(
            "no SecurityContextConstraints admits the pod",
            "Grant the pod's ServiceAccount an SCC that allows what it asks for, or make "
            f"{workload} ask for less.")
    return CreateFailure("the API server refused the pod",
                         f"Fix what the message names in {workload}.")


def failed_create_events(
    state: ClusterState, obj: Mapping[str, Any]
) -> Sequence[Mapping[str, Any]]:
    """The controller's ``FailedCreate`` events about ``obj``, oldest first."""
    return [e for e in state.events_for(obj) if e.get("reason") == "FailedCreate"]


def api_error(message: str) -> str:
    """The API server's words in a ``FailedCreate`` message, without the controller's own
    ``Error creating:`` or ``create Pod web-0 in StatefulSet web failed error:`` prefix."""
    message = message.strip()
    if message.startswith("create ") and " failed error: " in message:
        return message.split(" failed error: ", 1)[1].strip()
    return message.removeprefix("Error creating:").strip()
