"""Findings, the analyzer plugin API and the engine that runs analyzers over a cluster state.

Analyzer authors need only what this module exports.
"""

from k8sdoctor.analysis.finding import Explanation, Finding, Severity
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.state import ClusterState, K8sObject, ObjectRef

__all__ = [
    "Analyzer",
    "ClusterState",
    "Explanation",
    "Finding",
    "K8sObject",
    "ObjectRef",
    "Severity",
]
