"""k8sdoctor: finds what is broken in a Kubernetes cluster and says why and how to fix it."""

__version__ = "0.1.0"
