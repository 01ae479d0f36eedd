"""Unit tests for the pod analyzer's text readers: the scheduler message, exit codes and
kubelet's errors."""

from __future__ import annotations

import pytest

from k8sdoctor.analyzers import _scheduling
from k8sdoctor.analyzers._containers import (
    config_error_fix,
    exit_code_meaning,
    image_pull_cause,
    waiting_fix,
)


def test_scheduler_message_is_split_into_counted_causes_and_preemption() -> None:
    failure = _scheduling.parse(
        "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient "
        "memory, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are "
        "available: 3 Preemption is not helpful for scheduling, 2 No preemption victims found "
        "for incoming pod."
    )
    assert failure.total_nodes == 5
    assert [(c.nodes, c.text, c.category) for c in failure.causes] == [
        (1, "node(s) had untolerated taint {dedicated: gpu}", _scheduling.TAINT),
        (2, "Insufficient memory", _scheduling.RESOURCES),
        (2, "node(s) didn't match Pod's node affinity/selector", _scheduling.NODE_SELECTION),
    ]
    assert failure.preemption is not None and failure.preemption.startswith("0/5 nodes")


def test_the_post_filter_words_after_the_causes_are_not_taken_for_a_cause() -> None:
    failure = _scheduling.parse(
        "0/6 nodes are available: 3 node(s) didn't match pod affinity rules, 3 node(s) had "
        "untolerated taint(s). no new claims to deallocate, preemption: 0/6 nodes are available: "
        "6 Preemption is not helpful for scheduling."
    )
    assert failure.message == ("0/6 nodes are available: 3 node(s) didn't match pod affinity "
                               "rules, 3 node(s) had untolerated taint(s)")
    assert [str(c) for c in failure.causes] == [
        "3 node(s) didn't match pod affinity rules", "3 node(s) had untolerated taint(s)"]
    assert failure.preemption == "0/6 nodes are available: 6 Preemption is not helpful for " \
                                 "scheduling."


def test_the_old_taint_wording_with_its_inner_comma_stays_one_cause() -> None:
    failure = _scheduling.parse(
        "0/3 nodes are available: 1 node(s) had taint {node-role.kubernetes.io/master: }, that "
        "the pod didn't tolerate, 2 node(s) had volume node affinity conflict."
    )
    assert [str(c) for c in failure.causes] == [
        "1 node(s) had taint {node-role.kubernetes.io/master: }, that the pod didn't tolerate",
        "2 node(s) had volume node affinity conflict",
    ]
    assert [c.category for c in failure.causes] == [_scheduling.TAINT, _scheduling.VOLUME]
    assert failure.preemption is None


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
         "0/3 nodes are available: 3 Preemption is not helpful for scheduling.", "volume"),
        ('0/3 nodes are available: persistentvolumeclaim "data-0" not found. preemption: 0/3 '
         "nodes are available: 3 Preemption is not helpful for scheduling.", "volume"),
        ("no nodes available to schedule pods", "other"),
    ],
)
def test_messages_without_counts_become_one_pod_wide_cause(message: str, category: str) -> None:
    failure = _scheduling.parse(message)
    assert len(failure.causes) == 1
    assert failure.causes[0].nodes is None
    assert failure.causes[0].category == category


def test_advice_names_the_taint_to_tolerate_and_the_pods_memory_request() -> None:
    failure = _scheduling.parse(
        "0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{dedicated: gpu}."
    )
    pod = {
        "metadata": {"name": "x", "namespace": "ml"},
        "spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": "3Gi"}}}]},
    }
    evidence, remediation = _scheduling.advice(failure, pod, "the pod template of Deployment x")
    assert "scheduler: 1 Insufficient memory (the pod requests memory 3Gi (a=3Gi))" in evidence
    assert any("{key: dedicated, operator: Equal, value: gpu" in step for step in remediation)


@pytest.mark.parametrize(
    ("code", "reason", "meaning"),
    [
        (137, "OOMKilled", "more memory than its limit"),
        (137, "Error", "SIGKILL"),
        (143, "Error", "SIGTERM"),
        (127, "Error", "command not found"),
        (126, "Error", "not executable"),
        (1, "Error", "application error"),
        (0, "Completed", "must keep running"),
        (130, "Error", "SIGINT"),
        (138, "Error", "signal 10"),
        (42, "Error", "own exit status"),
    ],
)
def test_exit_codes_are_explained(code: int, reason: str, meaning: str) -> None:
    assert meaning in exit_code_meaning(code, reason)


@pytest.mark.parametrize(
    ("reason", "message", "says", "never"),
    [
        ("PostStartHookError", "Exec lifecycle hook ([/bin/sh -c /init.sh]) for Container "
         '"app" in Pod "web-0_shop(9f1c)" failed - error: command \'/bin/sh -c /init.sh\' exited '
         "with 1", "lifecycle.postStart hook", "kubelet log"),
        ("PreStartHookError", "failed to allocate cpus: not enough cpus available to satisfy "
         "request: requested=4, available=2", "CPU, memory or topology manager",
         "lifecycle.postStart"),
    ],
)
def test_hook_errors_point_at_the_hook_that_failed(reason: str, message: str, says: str,
                                                   never: str) -> None:
    fix = waiting_fix(reason, message, {"name": "app"}, "the pod template of StatefulSet web")
    assert says in fix
    assert never not in fix


def test_run_as_non_root_with_a_named_user_asks_for_the_numeric_uid() -> None:
    fix = config_error_fix("container has runAsNonRoot and image has non-numeric user (app), "
                           "cannot verify user is non-root (pod: \"api-0_shop(1d2e)\", "
                           "container: api)", "api", "shop", "the pod template of StatefulSet api")
    assert "set securityContext.runAsUser to its numeric UID" in fix
    assert "image runs as root" not in fix


def test_an_ambiguous_denied_pull_is_not_called_a_missing_tag() -> None:
    cause, _ = image_pull_cause(
        'failed to pull and unpack image "docker.io/acme/private:1": failed to resolve reference '
        '"docker.io/acme/private:1": pull access denied, repository does not exist or may '
        "require authorization: server message: insufficient_scope: authorization failed"
    )
    assert cause == "the repository does not exist or needs credentials"
