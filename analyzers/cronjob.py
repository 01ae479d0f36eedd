"""CronJobs whose schedule or time zone is invalid, or that have not succeeded for several runs.

Faults reported:

- ``InvalidSchedule`` (error): ``spec.schedule`` is not one the CronJob controller can parse:
  not exactly five fields (minute, hour, day of month, month, day of week 0-6), a value out of
  range, an unknown ``@`` macro (only ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``,
  ``@daily``, ``@midnight``, ``@hourly`` and ``@every DURATION``), a ``TZ=``/``CRON_TZ=`` prefix
  naming an unknown zone, or such a prefix together with ``spec.timeZone``. The parser's own
  words are quoted. Also a schedule that parses but can never fire (``0 6 30 2 *``, February
  30th), which the controller answers with ``InvalidSchedule`` events; its ``InvalidSchedule``
  and ``UnexpectedJob`` events are quoted as evidence. Fix: correct the schedule; no Job is
  ever created until then.
- ``UnsupportedSchedule`` (warning): the schedule starts with ``TZ=`` or ``CRON_TZ=``, which
  Kubernetes does not officially support. Fix: move the zone to ``spec.timeZone``.
- ``InvalidTimeZone`` (error): ``spec.timeZone`` is not an IANA zone name (or is ``Local``).
  Fix: use a name such as ``Europe/Berlin``.
- ``InvalidStartingDeadline`` (error): ``spec.startingDeadlineSeconds`` is negative.
  ``StartingDeadlineTooShort`` (warning): it is under 10 seconds, shorter than the
  controller's sync period, so runs can be missed. Fix: raise it or remove it.
- ``NoRecentSuccess`` (error): the last successful run (``status.lastSuccessfulTime``, or the
  newest completed child Job) is older than the last 3 scheduled times and than an hour,
  computed from the schedule in its time zone as of the snapshot's time. The message says
  whether Jobs are started and fail, or never finish (the newest one is named), or are not
  started at all (a run that never ends under ``concurrencyPolicy: Forbid`` is named), with the
  controller's ``FailedCreate``, ``MissSchedule`` or ``JobAlreadyActive`` events. Fix: see the
  Job's findings, or the CronJob's events (``kubectl describe cronjob NAME``).
- ``Suspended`` (info): ``spec.suspend`` is true, so no Job is scheduled. Fix:
  ``kubectl patch cronjob NAME --type=merge -p '{"spec":{"suspend":false}}'``.

Not reported: a CronJob younger than 3 scheduled periods or an hour; a frequent schedule whose
runs take longer than a few periods; staleness of a suspended CronJob. Without
``spec.timeZone`` the schedule is read in UTC, the zone of nearly every
kube-controller-manager.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    conditions,
    describe_condition,
    describe_event,
    format_duration,
    ns_flag,
)
from k8sdoctor.cluster.state import parse_time

from . import _cron
from ._workload_pods import creation_order

STALE_RUNS = 3
"""Scheduled runs that may pass without a success before ``NoRecentSuccess`` is reported."""
MIN_STALE_SECONDS = 3600
"""...and at least this long (an hour): a frequent schedule whose runs last longer than a few
periods (``concurrencyPolicy: Forbid`` skips runs while one is active) is not failing."""
MIN_STARTING_DEADLINE_SECONDS = 10
"""The CronJob controller's sync period: a shorter starting deadline can miss runs."""

_CONTROLLER_EVENTS = {"UnparseableSchedule", "UnknownTimeZone", "InvalidSchedule",
                      "TooManyMissedTimes", "MissSchedule", "FailedNeedsStart", "FailedCreate",
                      "JobAlreadyActive", "UnexpectedJob"}
"""The controller's events that explain why no Job was created (``FailedCreate`` quotes the API
server refusing the Job; ``JobAlreadyActive`` is concurrencyPolicy Forbid skipping a run)."""


def analyze(state: ClusterState) -> Iterator[Finding]:
    for cron_job in state.objects("CronJob"):
        yield from _check(state, cron_job)


def _check(state: ClusterState, cj: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = cj["metadata"], cj.get("spec") or {}
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    text, zone_name = spec.get("schedule", ""), spec.get("timeZone")
    events = [describe_event(e) for e in state.events_for(cj)
              if e.get("reason") in _CONTROLLER_EVENTS][-1:]
    schedule: _cron.Schedule | None = None
    try:
        schedule = _cron.parse(text)
    except _cron.ScheduleError as err:
        yield _finding(cj, Severity.ERROR, "InvalidSchedule",
                       f"CronJob {name} has a schedule the controller cannot parse: \"{text}\": "
                       f"{err}.", [f"spec.schedule={text!r}", *events],
                       ["Write five fields (minute hour day-of-month month day-of-week, days "
                        "0-6) or a macro such as @hourly: kubectl edit cronjob "
                        f"{name}{ns}"])
    if schedule is not None and (never := _cron.never_fires(schedule)):
        yield _finding(cj, Severity.ERROR, "InvalidSchedule",
                       f"CronJob {name} has a schedule that can never fire: \"{text}\": {never}; "
                       "no Job is ever created.", [f"spec.schedule={text!r}", *events],
                       ["Correct the day of month or the month (February has at most 29 days; "
                        "April, June, September and November 30): kubectl edit cronjob "
                        f"{name}{ns}"])
        schedule = None
    if schedule is not None and schedule.zone_prefix is not None:
        if zone_name is not None:
            yield _finding(cj, Severity.ERROR, "InvalidSchedule",
                           f"CronJob {name} sets spec.timeZone and a TZ prefix in its schedule "
                           f"\"{text}\": cannot use both timeZone field and TZ or CRON_TZ in "
                           "schedule.", [f"spec.schedule={text!r}", f"spec.timeZone={zone_name}"],
                           ["Remove the TZ=/CRON_TZ= prefix from spec.schedule."])
            schedule = None
        else:
            yield _finding(cj, Severity.WARNING, "UnsupportedSchedule",
                           f"CronJob {name} puts its time zone in the schedule \"{text}\": "
                           "CRON_TZ or TZ in a schedule is not officially supported.",
                           [f"spec.schedule={text!r}"],
                           [f"Set spec.timeZone: {schedule.zone_prefix} and drop the prefix "
                            "from spec.schedule."])
    where: tzinfo | None = timezone.utc
    zone_source = zone_name if zone_name is not None else (
        schedule.zone_prefix if schedule else None)
    if zone_source is not None:
        try:
            where = _cron.zone(zone_source)
        except LookupError:
            where = None  # no zone database here to judge the name by
        except _cron.ScheduleError as err:
            where = None
            if zone_name is not None:
                yield _finding(cj, Severity.ERROR, "InvalidTimeZone",
                               f"CronJob {name} has an invalid spec.timeZone \"{zone_name}\": "
                               f"{err}; no Job is created.", [f"spec.timeZone={zone_name!r}",
                                                             *events],
                               ["Use an IANA zone name such as Europe/Berlin or "
                                "America/New_York (see the tz database)."])
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and deadline < 0:
        yield _finding(cj, Severity.ERROR, "InvalidStartingDeadline",
                       f"CronJob {name} has a negative startingDeadlineSeconds ({deadline}).",
                       [f"spec.startingDeadlineSeconds={deadline}"],
                       ["Set spec.startingDeadlineSeconds to 0 or more, or remove it."])
    elif deadline is not None and deadline < MIN_STARTING_DEADLINE_SECONDS:
        yield _finding(cj, Severity.WARNING, "StartingDeadlineTooShort",
                       f"CronJob {name} has startingDeadlineSeconds {deadline}, under the "
                       f"controller's {MIN_STARTING_DEADLINE_SECONDS}-second sync period: "
                       "runs can be missed.", [f"spec.startingDeadlineSeconds={deadline}"],
                       ["Raise spec.startingDeadlineSeconds to at least "
                        f"{MIN_STARTING_DEADLINE_SECONDS}, or remove it."])
    if spec.get("suspend"):
        yield _finding(cj, Severity.INFO, "Suspended",
                       f"CronJob {name} is suspended: no Job is scheduled.",
                       ["spec.suspend=true"],
                       [f"kubectl patch cronjob {name}{ns} --type=merge -p "
                        "'{\"spec\":{\"suspend\":false}}'"])
        return
    if schedule is not None and where is not None and (deadline is None or deadline >= 0):
        yield from _staleness(state, cj, schedule, where, events)


def _staleness(state: ClusterState, cj: Mapping[str, Any], schedule: _cron.Schedule,
               where: tzinfo, events: list[str]) -> Iterator[Finding]:
    meta, status = cj["metadata"], cj.get("status") or {}
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    runs = _cron.previous_runs(schedule, where, state.now, STALE_RUNS)
    created = parse_time(meta.get("creationTimestamp"))
    if len(runs) < STALE_RUNS or created is None:
        return
    threshold = min(runs[-1], state.now - timedelta(seconds=MIN_STALE_SECONDS))
    if created > threshold:
        return
    jobs = sorted((j for j in state.owned_by(meta.get("uid", "")) if j.get("kind") == "Job"),
                  key=creation_order)
    success = parse_time(status.get("lastSuccessfulTime")) or _newest_completion(jobs)
    if success is not None and success >= threshold:
        return
    scheduled = parse_time(status.get("lastScheduleTime"))
    since = f"since {_iso(success)}" if success else "since it was created"
    window = (f"across its last {STALE_RUNS} scheduled times" if threshold == runs[-1]
              else f"in the last {format_duration((state.now - threshold).total_seconds())}")
    evidence = [f"spec.schedule={cj['spec'].get('schedule')!r} timeZone="
                f"{cj['spec'].get('timeZone') or 'UTC'}",
                f"last {STALE_RUNS} scheduled times: " + ", ".join(_iso(r) for r in runs),
                f"status.lastScheduleTime={status.get('lastScheduleTime')} "
                f"lastSuccessfulTime={status.get('lastSuccessfulTime')}",
                *events]
    remediation = [f"kubectl describe cronjob {name}{ns}"]
    newest = jobs[-1] if jobs else None
    if newest is not None:
        evidence.append(f"Job {newest['metadata']['name']}: " + (
            "; ".join(describe_condition(c) for c in conditions(newest).values()
                      if c.get("status") == "True") or "running"))
        remediation.insert(0, f"kubectl describe job {newest['metadata']['name']}{ns}  # and "
                              "see the Job's findings")
    if scheduled is None or scheduled < threshold:
        detail = "and no Job has been started in that time"
        if (newest is not None and not _finished(newest)
                and cj["spec"].get("concurrencyPolicy") == "Forbid"):
            detail += (f": Job {newest['metadata']['name']} is still running, and "
                       "concurrencyPolicy Forbid skips every run until it ends")
        else:
            detail += (": check the controller's events, startingDeadlineSeconds and "
                       "concurrencyPolicy")
        remediation.append(f"Start one by hand to test it: kubectl create job {name}-manual "
                           f"--from=cronjob/{name}{ns}")
    elif newest is not None and not _finished(newest):
        detail = (f"although Jobs were started: the newest, {newest['metadata']['name']}, has "
                  "not finished")
    elif newest is not None and _true(newest, "Failed"):
        reason = (conditions(newest).get("Failed") or {}).get("reason") or "Failed"
        detail = (f"although Jobs were started: they fail (the newest, "
                  f"{newest['metadata']['name']}, failed: {reason})")
    else:
        detail = "although Jobs were started: none of them completed"
    yield _finding(cj, Severity.ERROR, "NoRecentSuccess",
                   f"CronJob {name} has not completed a run successfully {since}, {window}, "
                   f"{detail}.", evidence, remediation)


def _true(job: Mapping[str, Any], condition: str) -> bool:
    return (conditions(job).get(condition) or {}).get("status") == "True"


def _finished(job: Mapping[str, Any]) -> bool:
    return _true(job, "Complete") or _true(job, "Failed")


def _newest_completion(jobs: list[Mapping[str, Any]]) -> datetime | None:
    times = [parse_time((j.get("status") or {}).get("completionTime")) for j in jobs
             if _true(j, "Complete")]
    return max((t for t in times if t is not None), default=None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _finding(cj: Mapping[str, Any], severity: Severity, reason: str, message: str,
             evidence: list[str], remediation: list[str]) -> Finding:
    return Finding.about(cj, severity=severity, reason=reason, message=message,
                         evidence=evidence, remediation=remediation)


ANALYZER = Analyzer(
    name="cronjob",
    kinds=("CronJob", "Job", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({
        "InvalidSchedule", "UnsupportedSchedule", "InvalidTimeZone", "InvalidStartingDeadline",
        "StartingDeadlineTooShort", "Suspended"
    }),
)
