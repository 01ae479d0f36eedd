"""What every cluster runs besides its teams' workloads: namespaces with their defaults, the
bootstrap RBAC (and a CI account someone bound to cluster-admin), StorageClasses and the
IngressClass, the node agents (kube-proxy, node-exporter, fluent-bit, the NVIDIA device plugin)
as DaemonSets, CoreDNS, metrics-server, ingress-nginx, cert-manager and Gatekeeper with their
Services, and the admission webhooks of the last three - plus one an uninstalled Istio left
behind.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .capacity import Nodes
from .controllers import daemonset, deployment
from .kit import DAY, Cluster, Obj
from .pods import container, pod_spec
from .services import network_policy, service

PROVISIONER = "ebs.csi.aws.com"
LOAD_BALANCER = "a3f1c9e2b7d64e0c8a5b1f2d3e4c5b6a-1a2b3c4d5e6f7a8b.elb.eu-west-1.amazonaws.com"
BOOTSTRAP = {"kubernetes.io/bootstrapping": "rbac-defaults"}
RBAC = "rbac.authorization.k8s.io/v1"
EVERYWHERE = [{"operator": "Exists"}]
"""The toleration of node agents: every taint."""


class Component(NamedTuple):
    """A cluster add-on run as a Deployment, with the Services in front of it."""

    namespace: str
    name: str
    image: str
    replicas: int
    account: str
    ports: list[tuple[str, int]]
    services: list[tuple[str, list[tuple[str, int, int | str]], str | None]]
    """Name, ports (name, port, target) and load balancer hostname of each."""


COMPONENTS = [
    Component("kube-system", "coredns", "registry.k8s.io/coredns/coredns:v1.11.3", 2, "coredns",
              [("dns-tcp", 53), ("metrics", 9153)],
              [("kube-dns", [("dns-tcp", 53, "dns-tcp"), ("metrics", 9153, "metrics")], None)]),
    Component("kube-system", "metrics-server",
              "registry.k8s.io/metrics-server/metrics-server:v0.7.2", 2, "metrics-server",
              [("https", 10250)], [("metrics-server", [("https", 443, "https")], None)]),
    Component("ingress-nginx", "ingress-nginx-controller",
              "registry.k8s.io/ingress-nginx/controller:v1.12.0", 2, "ingress-nginx",
              [("http", 80), ("https", 443), ("webhook", 8443)],
              [("ingress-nginx-controller", [("http", 80, "http"), ("https", 443, "https")],
                LOAD_BALANCER),
               ("ingress-nginx-controller-admission", [("https-webhook", 443, "webhook")],
                None)]),
    Component("cert-manager", "cert-manager", "quay.io/jetstack/cert-manager-controller:v1.16.2",
              1, "cert-manager", [("http-metrics", 9402)], []),
    Component("cert-manager", "cert-manager-webhook",
              "quay.io/jetstack/cert-manager-webhook:v1.16.2", 1, "cert-manager-webhook",
              [("https", 10250)], [("cert-manager-webhook", [("https", 443, "https")], None)]),
    Component("gatekeeper-system", "gatekeeper-controller-manager",
              "docker.io/openpolicyagent/gatekeeper:v3.18.0", 3, "gatekeeper-admin",
              [("webhook-server", 8443), ("metrics", 8888)],
              [("gatekeeper-webhook-service", [("https-webhook-server", 443, "webhook-server")],
                None)]),
]


def namespace(cluster: Cluster, name: str, *, team: bool) -> None:
    """A Namespace with what every namespace has; a team's also gets its pull Secret, batch
    ServiceAccount, default-deny policy, RBAC and LimitRange."""
    age = 90 * DAY
    cluster.add({"apiVersion": "v1", "kind": "Namespace",
                 "metadata": cluster.meta("Namespace", name, age=age,
                                          labels={"kubernetes.io/metadata.name": name}),
                 "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap",
                 "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIDBTCCAe2gAwIBAgIIQ2s3"
                                    "\n-----END CERTIFICATE-----\n"},
                 "metadata": cluster.meta("ConfigMap", "kube-root-ca.crt", name, age=age)})
    service_account(cluster, name, "default")
    if not team:
        return
    secret(cluster, name, "regcred")
    service_account(cluster, name, "batch-runner")
    network_policy(cluster, name, "default-deny-ingress", {}, [])
    cluster.add({"apiVersion": RBAC, "kind": "Role",
                 "metadata": cluster.meta("Role", "config-reader", name, age=age),
                 "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                            "verbs": ["get", "list", "watch"]}]})
    cluster.add({"apiVersion": RBAC, "kind": "RoleBinding",
                 "metadata": cluster.meta("RoleBinding", "team-edit", name, age=age),
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                             "name": "edit"},
                 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                               "name": f"{name}-developers"}]})
    cluster.add({"apiVersion": "v1", "kind": "LimitRange",
                 "metadata": cluster.meta("LimitRange", "storage-limits", name, age=age),
                 "spec": {"limits": [{"max": {"storage": "500Gi"}, "min": {"storage": "1Gi"},
                                      "type": "PersistentVolumeClaim"}]}})


def service_account(cluster: Cluster, namespace: str, name: str) -> None:
    cluster.add({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": cluster.meta("ServiceAccount", name, namespace, age=60 * DAY)})


def secret(cluster: Cluster, namespace: str, name: str, **extra: Any) -> None:
    """A Secret as k8sdoctor lists it: metadata only."""
    cluster.add({"apiVersion": "v1", "kind": "Secret",
                 "metadata": cluster.meta("Secret", name, namespace, age=60 * DAY, **extra)})


def cluster_objects(cluster: Cluster) -> None:
    """Bootstrap RBAC, a CI account bound to cluster-admin, StorageClasses and the IngressClass."""
    age = 400 * DAY
    for role, rules in (("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"],
                                            "verbs": ["*"]},
                                           {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
                        ("admin", [{"apiGroups": ["", "apps", "batch"], "resources": ["*"],
                                    "verbs": ["create", "delete", "get", "list", "patch",
                                              "update", "watch"]}]),
                        ("edit", [{"apiGroups": ["", "apps", "batch"],
                                   "resources": ["configmaps", "deployments", "jobs", "pods",
                                                 "services"],
                                   "verbs": ["create", "delete", "get", "list", "patch",
                                             "update", "watch"]}]),
                        ("view", [{"apiGroups": ["", "apps", "batch"],
                                   "resources": ["configmaps", "deployments", "jobs", "pods",
                                                 "services"],
                                   "verbs": ["get", "list", "watch"]}])):
        cluster.add({"apiVersion": RBAC, "kind": "ClusterRole", "rules": rules,
                     "metadata": cluster.meta("ClusterRole", role, age=age, labels=BOOTSTRAP)})
    for name, subject in (("cluster-admin", {"apiGroup": "rbac.authorization.k8s.io",
                                             "kind": "Group", "name": "system:masters"}),
                          ("ci-deployer-admin", {"kind": "ServiceAccount",
                                                 "name": "ci-deployer", "namespace": "ci"})):
        cluster.add({"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                     "metadata": cluster.meta("ClusterRoleBinding", name, age=age,
                                              labels=BOOTSTRAP if name == "cluster-admin"
                                              else None),
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": "cluster-admin"},
                     "subjects": [subject]})
    service_account(cluster, "ci", "ci-deployer")
    for name, binding, provisioner, parameters in (
            ("gp3", "WaitForFirstConsumer", PROVISIONER, {"type": "gp3"}),
            ("io2-encrypted", "Immediate", PROVISIONER,
             {"encrypted": "true", "iops": "4000", "type": "io2",
              "kmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef"}),
            ("efs-sc", "Immediate", "efs.csi.aws.com", {"provisioningMode": "efs-ap"})):
        cluster.add({"allowVolumeExpansion": True, "apiVersion": "storage.k8s.io/v1",
                     "kind": "StorageClass",
                     "metadata": cluster.meta(
                         "StorageClass", name, age=age,
                         annotations={"storageclass.kubernetes.io/is-default-class": "true"}
                         if name == "gp3" else None),
                     "parameters": parameters, "provisioner": provisioner,
                     "reclaimPolicy": "Delete", "volumeBindingMode": binding})
    cluster.add({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                 "metadata": cluster.meta(
                     "IngressClass", "nginx", age=age, generation=1,
                     annotations={"ingressclass.kubernetes.io/is-default-class": "true"}),
                 "spec": {"controller": "k8s.io/ingress-nginx"}})


def platform(cluster: Cluster, nodes: Nodes) -> None:
    """Node agents, cluster add-ons and their webhooks. fluent-bit is OOMKilled on one node in
    fifty (it buffers more logs than its limit allows there)."""
    age = 300 * DAY
    for namespace, account in (("kube-system", "kube-proxy"), ("monitoring", "node-exporter"),
                               ("logging", "fluent-bit"), ("gpu-operator", "nvidia-device-plugin"),
                               *((part.namespace, part.account) for part in COMPONENTS)):
        service_account(cluster, namespace, account)

    def host(name: str, path: str, mount: str, *, read_only: bool = True) -> tuple[Obj, Obj]:
        return ({"hostPath": {"path": path, "type": ""}, "name": name},
                {"mountPath": mount, "name": name, **({"readOnly": True} if read_only else {})})

    modules, modules_mount = host("lib-modules", "/lib/modules", "/lib/modules")
    daemonset(cluster, "kube-system", "kube-proxy", labels={"k8s-app": "kube-proxy"},
              nodes=nodes.all, age=age, spec=pod_spec(
                  [container("kube-proxy", "registry.k8s.io/kube-proxy:v1.31.2",
                             requests={"cpu": "100m"}, mounts=[modules_mount],
                             security={"privileged": True})],
                  service_account="kube-proxy", non_root=False, hostNetwork=True,
                  priorityClassName="system-node-critical", tolerations=EVERYWHERE,
                  volumes=[modules]))
    root, root_mount = host("root", "/", "/host/root")
    daemonset(cluster, "monitoring", "node-exporter",
              labels={"app.kubernetes.io/name": "node-exporter"}, nodes=nodes.all, age=age,
              spec=pod_spec([container("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2",
                                       ports=[("metrics", 9100)], mounts=[root_mount],
                                       requests={"cpu": "50m", "memory": "64Mi"},
                                       limits={"memory": "128Mi"}, probe_port="metrics")],
                            service_account="node-exporter", hostNetwork=True, hostPID=True,
                            tolerations=EVERYWHERE, volumes=[root]))
    logs, logs_mount = host("varlog", "/var/log", "/var/log")
    daemonset(cluster, "logging", "fluent-bit", labels={"app.kubernetes.io/name": "fluent-bit"},
              nodes=nodes.all, age=age, crashing={i for i in range(len(nodes.all)) if i % 50 == 17},
              spec=pod_spec([container("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit:3.2.2",
                                       ports=[("http", 2020)], mounts=[logs_mount],
                                       requests={"cpu": "100m", "memory": "128Mi"},
                                       limits={"memory": "128Mi"}, probe_port="http")],
                            service_account="fluent-bit", tolerations=EVERYWHERE, volumes=[logs]))
    plugins, plugins_mount = host("device-plugin", "/var/lib/kubelet/device-plugins",
                                  "/var/lib/kubelet/device-plugins", read_only=False)
    daemonset(cluster, "gpu-operator", "nvidia-device-plugin-daemonset",
              labels={"name": "nvidia-device-plugin-ds"}, nodes=nodes.gpus, age=age,
              spec=pod_spec([container("nvidia-device-plugin-ctr",
                                       "nvcr.io/nvidia/k8s-device-plugin:v0.17.0",
                                       mounts=[plugins_mount])],
                            service_account="nvidia-device-plugin", non_root=False,
                            nodeSelector={"nvidia.com/gpu.present": "true"},
                            priorityClassName="system-node-critical",
                            tolerations=[{"effect": "NoSchedule", "key": "nvidia.com/gpu",
                                          "operator": "Exists"}], volumes=[plugins]))
    for part in COMPONENTS:
        labels = {"app.kubernetes.io/name": part.name, "app.kubernetes.io/component": "controller"}
        spec = pod_spec([container(part.name.removesuffix("-controller"), part.image,
                                   ports=part.ports, probe_port=part.ports[0][0],
                                   requests={"cpu": "100m", "memory": "128Mi"},
                                   limits={"memory": "256Mi"})], service_account=part.account)
        _, pods = deployment(cluster, nodes.place, part.namespace, part.name,
                             replicas=part.replicas, labels=labels, spec=spec, age=age,
                             updated=20 * DAY)
        for service_name, ports, load_balancer in part.services:
            service(cluster, part.namespace, service_name, age=age, selector=labels, ports=ports,
                    pods=pods, load_balancer=load_balancer)
    _webhooks(cluster)


def _webhooks(cluster: Cluster) -> None:
    def rule(groups: list[str], resources: list[str], operations: list[str]) -> Obj:
        return {"apiGroups": groups, "apiVersions": ["*" if groups == ["*"] else "v1"],
                "operations": operations, "resources": resources, "scope": "*"}

    def hook(name: str, namespace: str, service_name: str, path: str, policy: str,
             rules: list[Obj], selector: Obj | None = None, mutating: bool = False) -> Obj:
        made: Obj = {"admissionReviewVersions": ["v1"], "clientConfig": {
            "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
            "service": {"name": service_name, "namespace": namespace, "path": path,
                        "port": 443}},
            "failurePolicy": policy, "matchPolicy": "Equivalent", "name": name,
            "namespaceSelector": selector or {}, "objectSelector": {}, "rules": rules,
            "sideEffects": "None", "timeoutSeconds": 10}
        if mutating:
            made["reinvocationPolicy"] = "Never"
        return made

    cert_manager = [rule(["cert-manager.io", "acme.cert-manager.io"], ["*/*"],
                         ["CREATE", "UPDATE"])]
    not_disabled = {"matchExpressions": [{"key": "cert-manager.io/disable-validation",
                                          "operator": "NotIn", "values": ["true"]}]}
    configurations: list[tuple[str, str, list[Obj]]] = [
        ("ValidatingWebhookConfiguration", "ingress-nginx-admission", [hook(
            "validate.nginx.ingress.kubernetes.io", "ingress-nginx",
            "ingress-nginx-controller-admission", "/networking/v1/ingresses", "Fail",
            [rule(["networking.k8s.io"], ["ingresses"], ["CREATE", "UPDATE"])])]),
        ("ValidatingWebhookConfiguration", "cert-manager-webhook", [hook(
            "webhook.cert-manager.io", "cert-manager", "cert-manager-webhook", "/validate",
            "Fail", cert_manager, not_disabled)]),
        ("MutatingWebhookConfiguration", "cert-manager-webhook", [hook(
            "webhook.cert-manager.io", "cert-manager", "cert-manager-webhook", "/mutate", "Fail",
            cert_manager, mutating=True)]),
        ("ValidatingWebhookConfiguration", "gatekeeper-validating-webhook-configuration", [hook(
            "validation.gatekeeper.sh", "gatekeeper-system", "gatekeeper-webhook-service",
            "/v1/admit", "Ignore", [rule(["*"], ["*"], ["CREATE", "UPDATE"])],
            {"matchExpressions": [{"key": "admission.gatekeeper.sh/ignore",
                                   "operator": "DoesNotExist"}]})]),
        # Istio was uninstalled, its injector configuration was not: pod creation fails in every
        # namespace still labelled for injection.
        ("MutatingWebhookConfiguration", "istio-sidecar-injector", [hook(
            "namespace.sidecar-injector.istio.io", "istio-system", "istiod", "/inject", "Fail",
            [rule([""], ["pods"], ["CREATE"])],
            {"matchLabels": {"istio-injection": "enabled"}}, mutating=True)]),
    ]
    for kind, name, hooks in configurations:
        cluster.add({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                     "metadata": cluster.meta(kind, name, age=120 * DAY, generation=1),
                     "webhooks": hooks})
