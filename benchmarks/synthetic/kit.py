"""The core of the synthetic cluster: a ``Cluster`` that holds objects by kind and hands out
deterministic uids, resource versions, pod IPs and timestamps relative to a fixed capture time,
builds metadata as the API server fills it in, and records Events the way kubelet, the scheduler
and the controllers write them.

Everything derives from names and indexes, never from a random source, so the same cluster comes
out byte for byte on every run.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

Obj = dict[str, Any]
MINUTE, HOUR, DAY = 60, 3600, 86400
NOW = datetime(2026, 11, 20, 10, 17, 42, tzinfo=timezone.utc)
REGISTRY = "registry.example.com"
_UIDS = uuid.UUID("3b0e6c1a-52f4-4c8e-9d17-5a2f0b8c7e41")
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def fraction(*parts: object) -> float:
    """A number in [0, 1) derived from ``parts``: variety without a random source."""
    return int(digest(*parts)[:8], 16) / 0x1_0000_0000


def suffix(length: int, *parts: object) -> str:
    """A name suffix like the ones controllers generate (``7d4b9c8f5``, ``x2x7k``)."""
    number = int(digest(*parts), 16)
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(_SAFE_ALPHABET))
        chars.append(_SAFE_ALPHABET[index])
    return "".join(chars)


def at(ago: float) -> str:
    """The RFC 3339 time ``ago`` seconds before the capture time."""
    return (NOW - timedelta(seconds=ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def owner_ref(owner: Mapping[str, Any]) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def quantity_cpu(cores: float) -> str:
    """Cores as the API writes them: ``250m``, or ``4`` when whole."""
    millicores = round(cores * 1000)
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def quantity_memory(size: float) -> str:
    mebibytes = round(size / 2**20)
    return f"{mebibytes // 1024}Gi" if mebibytes % 1024 == 0 else f"{mebibytes}Mi"


class Cluster:
    """The objects of one synthetic cluster, by kind."""

    def __init__(self) -> None:
        self.objects: dict[str, list[Obj]] = defaultdict(list)
        self._resource_version = 48_000_000
        self._pod_ips = 0

    def add(self, obj: Obj) -> Obj:
        self.objects[obj["kind"]].append(obj)
        return obj

    def uid(self, *parts: object) -> str:
        return str(uuid.uuid5(_UIDS, "/".join(map(str, parts))))

    def pod_ip(self) -> str:
        self._pod_ips += 1
        n = self._pod_ips
        return f"10.{64 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"

    def meta(self, kind: str, name: str, namespace: str | None = None, *, age: float,
             labels: Mapping[str, str] | None = None,
             annotations: Mapping[str, str] | None = None,
             owner: Mapping[str, Any] | None = None, generation: int | None = None,
             generate_name: str | None = None) -> Obj:
        meta: Obj = {}
        if annotations:
            meta["annotations"] = dict(annotations)
        meta["creationTimestamp"] = at(age)
        if generate_name:
            meta["generateName"] = generate_name
        if generation is not None:
            meta["generation"] = generation
        if labels:
            meta["labels"] = dict(labels)
        meta["name"] = name
        if namespace:
            meta["namespace"] = namespace
        if owner is not None:
            meta["ownerReferences"] = [owner_ref(owner)]
        self._resource_version += 3 + len(name) % 17
        meta["resourceVersion"] = str(self._resource_version)
        meta["uid"] = self.uid(kind, namespace or "", name)
        return meta

    def event(self, obj: Mapping[str, Any], reason: str, message: str, *, first: float,
              last: float | None = None, count: int = 1, warning: bool = True,
              component: str = "kubelet", host: str | None = None,
              field_path: str | None = None) -> Obj:
        """A core/v1 Event as kubelet and most controllers record it."""
        event = self._event_base(obj, reason, message, first, warning, field_path)
        event.update({"count": count, "eventTime": None, "firstTimestamp": at(first),
                      "lastTimestamp": at(first if last is None else last),
                      "reportingComponent": component, "reportingInstance": host or "",
                      "source": {"component": component, **({"host": host} if host else {})}})
        return self.add(event)

    def scheduler_event(self, pod: Mapping[str, Any], message: str, *, first: float,
                        count: int) -> Obj:
        """``FailedScheduling`` as the scheduler writes it (events.k8s.io, read as core/v1)."""
        event = self._event_base(pod, "FailedScheduling", message, first, True, None)
        event.update({"action": "Scheduling", "eventTime": at(first)[:-1] + ".118204Z",
                      "firstTimestamp": None, "lastTimestamp": None,
                      "reportingComponent": "default-scheduler",
                      "reportingInstance": "default-scheduler-kube-scheduler",
                      "series": {"count": count, "lastObservedTime": at(25)[:-1] + ".503117Z"},
                      "source": {}})
        return self.add(event)

    def _event_base(self, obj: Mapping[str, Any], reason: str, message: str, first: float,
                    warning: bool, field_path: str | None) -> Obj:
        meta = obj["metadata"]
        involved: Obj = {"apiVersion": obj["apiVersion"]}
        if field_path:
            involved["fieldPath"] = field_path
        involved.update({"kind": obj["kind"], "name": meta["name"]})
        if meta.get("namespace"):
            involved["namespace"] = meta["namespace"]
        involved.update({"resourceVersion": meta["resourceVersion"], "uid": meta["uid"]})
        nanos = int((NOW - timedelta(seconds=first)).timestamp()) * 10**9 + int(
            digest(meta["uid"], reason)[:7], 16)
        name = f"{meta['name']}.{nanos:x}"
        namespace = meta.get("namespace") or "default"
        self._resource_version += 5
        return {"apiVersion": "v1", "kind": "Event", "involvedObject": involved,
                "message": message,
                "metadata": {"creationTimestamp": at(first), "name": name,
                             "namespace": namespace,
                             "resourceVersion": str(self._resource_version),
                             "uid": self.uid("Event", namespace, name)},
                "reason": reason, "type": "Warning" if warning else "Normal"}
