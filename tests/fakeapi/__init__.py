"""A fake Kubernetes API server for tests: real HTTP on 127.0.0.1, answering as kube-apiserver does.

It serves ``/version``, discovery (``/api``, ``/apis`` and an ``APIResourceList`` per
group/version, with verbs and shortNames), Lists per resource in the wire format (``PodList``
items carry no ``kind``/``apiVersion``), all-namespaces and namespaced paths, ``limit``/
``continue`` paging, ``labelSelector``, ``PartialObjectMetadataList`` for the metadata-only Accept
header, single GETs and pod logs. Tests can require a bearer token (401 otherwise), serve TLS with
client certificates, make a group/version unserved, inject a failure or a stall on any path, and
read a log of every request to assert what the client asked for.

Objects come from the same YAML files snapshots are made of, so one fixture feeds both paths.
"""

from tests.fakeapi.kubeconfig import kubeconfig, write_kubeconfig
from tests.fakeapi.server import FakeApiServer, Fault, RecordedRequest, TlsFiles
from tests.fakeapi.wire import CI_USER, NOT_SERVED_BY_DEFAULT, forbidden_message, status_body

__all__ = [
    "CI_USER",
    "NOT_SERVED_BY_DEFAULT",
    "FakeApiServer",
    "Fault",
    "RecordedRequest",
    "TlsFiles",
    "forbidden_message",
    "kubeconfig",
    "status_body",
    "write_kubeconfig",
]
