"""Where cluster objects come from (a live API server or a snapshot) and the state built of them.
"""

from k8sdoctor.cluster.state import ClusterState, ObjectRef, Scope

__all__ = ["ClusterState", "ObjectRef", "Scope"]
