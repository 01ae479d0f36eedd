"""The teams' workloads, each broken in a few percent of cases the way real ones break.

- Applications: a Deployment with its ConfigMap, Secret, ServiceAccount and Service; one in three
  has an HPA, one in two a PDB and an allow NetworkPolicy, one in five an Ingress with a TLS
  Secret. One in twenty is broken: crash-looping (OOMKilled), a rollout stuck on a missing image
  tag or a missing ConfigMap key, replicas that fit no node, or a failing readiness probe. One
  HPA in ten targets an app without a cpu request; one PDB in twenty allows no disruption; one
  Ingress in twenty lacks its TLS Secret; one allow NetworkPolicy in twenty-five selects no
  pod (a typo).
- StatefulSets with a claim per replica; one in twenty is new and its first claim cannot be
  provisioned (the KMS key is pending deletion).
- CronJobs with their last Jobs; one in ten has failed its last runs.
- One-off migration Jobs; one in ten hit its backoff limit.
- GPU training Jobs filling every GPU, and a few more waiting for one.
"""

from __future__ import annotations

from collections.abc import Mapping

from .capacity import Nodes
from .controllers import Attempt, deployment, job, persistent_volume, statefulset
from .infrastructure import LOAD_BALANCER, PROVISIONER, secret, service_account
from .kit import DAY, HOUR, MINUTE, NOW, REGISTRY, Cluster, Obj, at, fraction, suffix
from .pods import container, is_ready, pod_spec
from .services import ingress, network_policy, service

APPS = ("api", "web", "worker", "checkout", "search", "cart", "auth", "billing", "catalog",
        "notify", "gateway", "reports")
FAULTS = ("CrashLoop", "ImagePull", "Unschedulable", "ConfigError", "Unready")
REPLICAS = (2, 3, 5, 4, 8, 3, 2, 6, 10, 1)
DNS_SEARCH = ("Search Line limits were exceeded, some search paths have been omitted, the applied "
              "search line is: {0}.svc.cluster.local svc.cluster.local cluster.local "
              "eu-west-1.compute.internal corp.example.com example.com")
SCHEDULES = (("*/30 * * * *", 30, 0), ("0 * * * *", 60, 0), ("15 */6 * * *", 360, 15),
             ("30 2 * * *", 1440, 150))
"""Cron expressions with the period and offset (minutes since midnight UTC) they fire at."""
KMS_FAILURE = (
    'failed to provision volume with StorageClass "io2-encrypted": rpc error: code = Internal '
    'desc = Could not create volume "{0}": could not create volume in EC2: operation error EC2: '
    "CreateVolume, https response error StatusCode: 400, RequestID: "
    "5f0e2a1c-9b8d-4e7f-a6c5-d4e3f2a1b0c9, api error InvalidKMSKey.InvalidState: "
    "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef is pending deletion.")


def app(cluster: Cluster, nodes: Nodes, namespace: str, index: int, replicas: int) -> str | None:
    """One application; its name when it requests far more than it uses (it idles)."""
    name = f"{APPS[index % len(APPS)]}-{index:04d}"
    fault = FAULTS[(index // 20) % len(FAULTS)] if index % 20 == 7 else None
    labels = {"app": name}
    account = "default" if index % 8 == 5 else name
    if account != "default":
        service_account(cluster, namespace, account)
    config = f"{name}-config"
    cluster.add({"apiVersion": "v1", "kind": "ConfigMap",
                 "data": {"DATABASE_URL": f"postgres://{name}@postgres.{namespace}.svc:5432/app",
                          "LOG_LEVEL": "info"},
                 "metadata": cluster.meta("ConfigMap", config, namespace, age=60 * DAY,
                                          labels=labels)})
    secret(cluster, namespace, f"{name}-secrets", labels=labels)
    cpu = None if index % 30 == 0 else "6" if fault == "Unschedulable" else "250m"
    image = f"{REGISTRY}/{namespace}/{name}:1.{index % 20}.{index % 7}"
    spec = _app_spec(name, image, cpu, account, "DATABASE_URL")
    age, updated = (30 + index % 60) * DAY, (1 + index % 14) * DAY + index * 13
    detail, pending, new_spec = "", 0, None
    if fault == "ImagePull":
        new_image = f"{image}-rc1"
        new_spec = _app_spec(name, new_image, cpu, account, "DATABASE_URL")
        detail = (f'rpc error: code = NotFound desc = failed to pull and unpack image '
                  f'"{new_image}": failed to resolve reference "{new_image}": {new_image}: '
                  "not found")
    elif fault == "ConfigError":
        new_spec = _app_spec(name, image, cpu, account, "DATABASE_DSN")
        detail = f"couldn't find key DATABASE_DSN in ConfigMap {namespace}/{config}"
    elif fault == "Unschedulable":
        pending, detail = max(1, replicas // 3), nodes.insufficient("cpu")
    _, pods = deployment(cluster, nodes.place, namespace, name, replicas=replicas, labels=labels,
                         spec=spec, age=age, updated=updated,
                         state=fault if fault and fault != "Unschedulable" else "Running",
                         detail=detail, pending=pending, new_spec=new_spec)
    service(cluster, namespace, name, age=age, selector=labels, ports=[("http", 80, "http")],
            pods=pods)
    if index % 3 == 0:
        _hpa(cluster, namespace, name, replicas, pods, cpu is None)
    if index % 2 == 0:
        _pdb(cluster, namespace, name, replicas, pods, strict=index % 40 == 10)
    if index % 5 == 1:
        host = f"{name}.{namespace}.example.com"
        ingress(cluster, namespace, name, age=age, host=host, port=80, tls_secret=f"{name}-tls",
                load_balancer=LOAD_BALANCER)
        if index % 100 != 21:  # cert-manager's order for this one failed: no Secret
            secret(cluster, namespace, f"{name}-tls",
                   labels={"controller.cert-manager.io/fao": "true"},
                   annotations={"cert-manager.io/certificate-name": f"{name}-tls",
                                "cert-manager.io/common-name": host,
                                "cert-manager.io/issuer-kind": "ClusterIssuer",
                                "cert-manager.io/issuer-name": "letsencrypt-prod"})
    if index % 2 == 1:
        selected = {"app": f"{name}-api"} if index % 50 == 13 else labels
        network_policy(cluster, namespace, f"allow-{name}", selected, [{
            "from": [{"namespaceSelector": {"matchLabels": {
                         "kubernetes.io/metadata.name": "ingress-nginx"}}},
                     {"podSelector": {}}],
            "ports": [{"port": 8080, "protocol": "TCP"}]}])
    if index % 50 == 31:
        for made in pods:
            cluster.event(made, "DNSConfigForming", DNS_SEARCH.format(namespace), first=50 * 60,
                          last=40, count=97, host=made["spec"].get("nodeName"))
    return name if index % 10 == 4 else None


def _app_spec(name: str, image: str, cpu: str | None, account: str, key: str) -> Obj:
    """The pod spec of an application reading ``key`` of its ConfigMap."""
    requests = {"cpu": cpu, "memory": "256Mi"} if cpu else {"memory": "256Mi"}
    return pod_spec(
        [container("app", image, ports=[("http", 8080), ("metrics", 9090)], probe_port="http",
                   requests=requests, limits={"memory": "512Mi"},
                   env=[{"name": "DATABASE_URL", "valueFrom": {"configMapKeyRef": {
                       "key": key, "name": f"{name}-config"}}},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                   env_from=[{"secretRef": {"name": f"{name}-secrets"}}],
                   mounts=[{"mountPath": "/var/cache/app", "name": "cache"}])],
        service_account=account, imagePullSecrets=[{"name": "regcred"}],
        volumes=[{"emptyDir": {}, "name": "cache"}])


def _hpa(cluster: Cluster, namespace: str, name: str, replicas: int, pods: list[Obj],
         no_request: bool) -> None:
    def condition(kind: str, ok: bool, reason: str, message: str, since: float) -> Obj:
        return {"lastTransitionTime": at(since), "message": message, "reason": reason,
                "status": "True" if ok else "False", "type": kind}

    status: Obj = {"conditions": [condition("AbleToScale", True, "ReadyForNewScale",
                                            "recommended size matches current size", 3 * DAY)]}
    if no_request:
        missing = f"missing request for cpu in container app of Pod {pods[0]['metadata']['name']}"
        status["conditions"].append(condition(
            "ScalingActive", False, "FailedGetResourceMetric", "the HPA was unable to compute "
            f"the replica count: failed to get cpu utilization: {missing}", 9 * DAY))
    else:
        status["conditions"] += [
            condition("ScalingActive", True, "ValidMetricFound", "the HPA was able to "
                      "successfully calculate a replica count from cpu resource utilization "
                      "(percentage of request)", 20 * DAY),
            condition("ScalingLimited", True, "TooFewReplicas",
                      "the desired replica count is less than the minimum replica count", DAY)]
        percent = 20 + int(fraction(namespace, name, "hpa") * 30)
        status["currentMetrics"] = [{"resource": {"current": {
            "averageUtilization": percent, "averageValue": f"{percent * 5 // 2}m"},
            "name": "cpu"}, "type": "Resource"}]
    status.update({"currentReplicas": replicas, "desiredReplicas": replicas})
    hpa = cluster.add({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": cluster.meta("HorizontalPodAutoscaler", name, namespace, age=30 * DAY),
        "spec": {"maxReplicas": replicas * 3, "metrics": [{"resource": {"name": "cpu", "target": {
                     "averageUtilization": 70, "type": "Utilization"}}, "type": "Resource"}],
                 "minReplicas": replicas,
                 "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": name}},
        "status": status,
    })
    if no_request:
        cluster.event(hpa, "FailedGetResourceMetric", f"failed to get cpu utilization: {missing}",
                      first=HOUR - 60, last=12, count=240,
                      component="horizontal-pod-autoscaler")


def _pdb(cluster: Cluster, namespace: str, name: str, replicas: int, pods: list[Obj], *,
         strict: bool) -> None:
    """``maxUnavailable: 1``, or ``minAvailable`` equal to the replicas when ``strict``."""
    healthy = sum(is_ready(p) for p in pods)
    desired = replicas if strict else max(0, replicas - 1)
    allowed = max(0, healthy - desired)
    rule: Mapping[str, int] = {"minAvailable": replicas} if strict else {"maxUnavailable": 1}
    cluster.add({
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": cluster.meta("PodDisruptionBudget", name, namespace, age=30 * DAY,
                                 generation=1),
        "spec": {**rule, "selector": {"matchLabels": {"app": name}}},
        "status": {"conditions": [{"lastTransitionTime": at(DAY), "message": "",
                                   "observedGeneration": 1,
                                   "reason": "SufficientPods" if allowed else "InsufficientPods",
                                   "status": "True" if allowed else "False",
                                   "type": "DisruptionAllowed"}],
                   "currentHealthy": healthy, "desiredHealthy": desired,
                   "disruptionsAllowed": allowed, "expectedPods": replicas,
                   "observedGeneration": 1},
    })


def database(cluster: Cluster, nodes: Nodes, namespace: str, index: int) -> None:
    """A three-replica StatefulSet with its headless Service."""
    engine, port = (("postgres", 5432), ("redis", 6379), ("kafka", 9092),
                    ("elasticsearch", 9200))[index % 4]
    name = f"{engine}-{index:03d}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": engine}
    broken = index % 20 == 9
    service_account(cluster, namespace, name)
    spec = pod_spec([container(engine, f"{REGISTRY}/platform/{engine}:{16 + index % 3}.4",
                               ports=[("tcp", port)],
                               mounts=[{"mountPath": "/data", "name": "data"}],
                               requests={"cpu": "500m", "memory": "1Gi"},
                               limits={"memory": "1Gi"})], service_account=name)
    total = len(nodes.all)
    claim_uid = cluster.uid("PersistentVolumeClaim", namespace, f"data-{name}-0")
    pods = statefulset(
        cluster, nodes.place, namespace, name, replicas=3, labels=labels, spec=spec,
        age=40 * MINUTE if broken else (20 + index % 40) * DAY, size=f"{20 * (1 + index % 5)}Gi",
        storage_class="io2-encrypted" if broken else "gp3", provisioner=PROVISIONER,
        failure=KMS_FAILURE.format(f"pvc-{claim_uid}") if broken else None,
        unscheduled=f"0/{total} nodes are available: pod has unbound immediate "
                    f"PersistentVolumeClaims. preemption: 0/{total} nodes are available: "
                    f"{total} Preemption is not helpful for scheduling.")
    service(cluster, namespace, name, age=40 * DAY, selector=labels, headless=True,
            ports=[("tcp", port, "tcp")], pods=pods)
    if index % 25 == 3:  # a replica's claim was deleted by hand when it was scaled down
        claim = {"metadata": {"name": f"data-{name}-3", "namespace": namespace,
                              "resourceVersion": "31200417",
                              "uid": cluster.uid("PersistentVolumeClaim", namespace,
                                                 f"data-{name}-3")},
                 "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp3",
                          "resources": {"requests": {"storage": "20Gi"}}}}
        persistent_volume(cluster, f"pvc-{claim['metadata']['uid']}", age=90 * DAY, claim=claim,
                          zone="eu-west-1b", provisioner=PROVISIONER, released=True)


def scheduled_job(cluster: Cluster, nodes: Nodes, namespace: str, index: int) -> None:
    """A CronJob with the Jobs its history limits keep. A broken one (hourly) failed its last
    five runs: only the newest failure and the last success before them are kept."""
    broken = index % 10 == 3
    expression, period, offset = SCHEDULES[1] if broken else SCHEDULES[index % len(SCHEDULES)]
    name = f"{('report', 'cleanup', 'backup', 'sync')[index % 4]}-{index:03d}"
    labels = {"app.kubernetes.io/name": name}
    spec = pod_spec([container("job", f"{REGISTRY}/{namespace}/{name}:2.{index % 9}.0",
                               requests={"cpu": "100m", "memory": "256Mi"},
                               limits={"memory": "256Mi"})],
                    service_account="batch-runner", restart="Never")
    now_minute = int(NOW.timestamp()) // 60
    latest = now_minute - (now_minute - offset) % period
    fired = [(now_minute - (latest - n * period)) * MINUTE + NOW.second for n in range(6)]
    cron: Obj = {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": cluster.meta("CronJob", name, namespace, age=(30 + index % 30) * DAY,
                                 generation=1, labels=labels),
        "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1,
                 "jobTemplate": {"metadata": {"creationTimestamp": None, "labels": labels},
                                 "spec": {"backoffLimit": 2, "template": {
                                     "metadata": {"creationTimestamp": None, "labels": labels},
                                     "spec": spec}}},
                 "schedule": expression, "successfulJobsHistoryLimit": 1 if broken else 3,
                 "suspend": False},
    }
    duration = 40 + int(fraction(namespace, name) * 120)
    runs = [(fired[5], "Complete"), (fired[0], "BackoffLimitExceeded")] if broken else [
        (fired[n], "Complete") for n in (2, 1, 0)]
    successes = [ago for ago, outcome in runs if outcome == "Complete"]
    cron["status"] = {"lastScheduleTime": at(fired[0]),
                      "lastSuccessfulTime": at(min(successes) - duration)}
    cluster.add(cron)
    failure = "psycopg.OperationalError: connection to server at \"10.0.4.12\", port 5432 " \
              "failed: FATAL: password authentication failed for user \"reports\"\n"
    for ago, outcome in runs:
        if outcome == "Complete":
            attempts = [Attempt("Succeeded", ago - 1, ago - duration)]
        else:
            attempts = [Attempt("Failed", ago - 1 - n * 40, ago - 30 - n * 40, failure)
                        for n in range(3)]
        made = job(cluster, nodes.place, namespace, f"{name}-{now_minute - int(ago // 60)}",
                   labels=labels, spec=spec, attempts=attempts, outcome=outcome, owner=cron,
                   backoff_limit=2)
        if ago < HOUR:
            cluster.event(cron, "SuccessfulCreate", f"Created job {made['metadata']['name']}",
                          first=ago, warning=False, component="cronjob-controller")


def migration(cluster: Cluster, nodes: Nodes, namespace: str, index: int) -> None:
    """A one-off schema migration Job; a broken one exhausted its retries 40 minutes ago."""
    name = f"db-migrate-{APPS[index % len(APPS)]}-{index:03d}"
    labels = {"app.kubernetes.io/name": "db-migrate"}
    spec = pod_spec([container("migrate", f"{REGISTRY}/{namespace}/migrations:{index}.0.0",
                               requests={"cpu": "200m", "memory": "256Mi"},
                               limits={"memory": "256Mi"})],
                    service_account="batch-runner", restart="Never")
    if index % 10 == 2:
        error = "alembic.util.exc.CommandError: Can't locate revision identified by 'a41c9e'\n"
        attempts = [Attempt("Failed", 55 * MINUTE - n * 300, 54 * MINUTE - n * 300, error)
                    for n in range(3)]
        outcome = "BackoffLimitExceeded"
    else:
        started = (1 + index % 20) * DAY
        attempts, outcome = [Attempt("Succeeded", started, started - 95)], "Complete"
    job(cluster, nodes.place, namespace, name, labels=labels, spec=spec, attempts=attempts,
        outcome=outcome, backoff_limit=2)


def gpu_training(cluster: Cluster, nodes: Nodes, namespace: str) -> None:
    """A training Job on every allocatable GPU, and one waiting Job per two GPU nodes."""
    selector = {"nodeSelector": {"nvidia.com/gpu.present": "true"},
                "tolerations": [{"effect": "NoSchedule", "key": "nvidia.com/gpu",
                                 "operator": "Exists"}]}

    def trainer(model: str, gpus: int) -> Obj:
        return pod_spec([container(
            "trainer", f"{REGISTRY}/ml/{model}-train:2026.11", requests={
                "cpu": "8", "memory": "64Gi", "nvidia.com/gpu": str(gpus)},
            limits={"memory": "64Gi", "nvidia.com/gpu": str(gpus)})],
            service_account="batch-runner", restart="Never", **selector)

    models = ("resnet", "bert", "whisper", "llama", "vit")
    for g, gpu_node in enumerate(nodes.gpus):
        for slot in range(int(gpu_node["status"]["allocatable"]["nvidia.com/gpu"])):
            model = models[(g + slot) % len(models)]
            started = (2 + (g * 8 + slot) % 30) * HOUR
            job(cluster, nodes.place, namespace, f"train-{model}-{g:03d}{slot}",
                labels={"team": "ml", "model": model}, spec=trainer(model, 1),
                attempts=[Attempt("Running", started, node=gpu_node)], backoff_limit=2)
    for waiting in range(max(1, len(nodes.gpus) // 2)):
        job(cluster, nodes.place, namespace, f"finetune-llm-{waiting:03d}",
            labels={"team": "ml", "model": "llm"}, spec=trainer("llm", 2),
            attempts=[Attempt("Unschedulable", 35 * MINUTE + waiting * 60,
                              detail=nodes.insufficient("nvidia.com/gpu", selects_gpu=True))],
            backoff_limit=2)


def refused_scale_up(cluster: Cluster, namespace: str) -> None:
    """Someone scaled an application in ``namespace`` up by two replicas an hour ago, but the
    namespace's cpu quota is used up: the ReplicaSet controller's pods are refused."""
    quota = next(q for q in cluster.objects["ResourceQuota"]
                 if q["metadata"]["namespace"] == namespace)
    autoscaled = {h["spec"]["scaleTargetRef"]["name"]
                  for h in cluster.objects["HorizontalPodAutoscaler"]
                  if h["metadata"]["namespace"] == namespace}
    live = {r["metadata"]["ownerReferences"][0]["name"]: r for r in cluster.objects["ReplicaSet"]
            if r["metadata"]["namespace"] == namespace and r["spec"]["replicas"]}
    candidates = [
        (d, live[d["metadata"]["name"]]) for d in cluster.objects["Deployment"]
        if d["metadata"]["namespace"] == namespace and d["metadata"]["name"] not in autoscaled
        and d["status"].get("availableReplicas") == d["spec"]["replicas"]
        and "cpu" in d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]]
    if not candidates:
        return
    dep, rs = candidates[0]
    wanted = dep["spec"]["replicas"] + 2
    dep["spec"]["replicas"] = rs["spec"]["replicas"] = wanted
    rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = str(wanted)
    rs_name = rs["metadata"]["name"]
    requested = rs["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    error = (f'pods "{rs_name}-{suffix(5, rs_name, "refused")}" is forbidden: exceeded quota: '
             f'compute-resources, requested: requests.cpu={requested}, used: requests.cpu='
             f'{quota["status"]["used"]["requests.cpu"]}, limited: requests.cpu='
             f'{quota["spec"]["hard"]["requests.cpu"]}')
    failure = {"lastTransitionTime": at(HOUR - 30), "message": error, "reason": "FailedCreate",
               "status": "True", "type": "ReplicaFailure"}
    rs["status"]["conditions"] = [failure]
    dep["status"]["conditions"].append({**failure, "lastUpdateTime": at(HOUR - 30)})
    dep["status"]["unavailableReplicas"] = 2
    cluster.event(rs, "FailedCreate", f"Error creating: {error}", first=HOUR - 30, last=70,
                  count=17, component="replicaset-controller")
