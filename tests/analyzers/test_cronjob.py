"""Unit tests for the CronJob schedule reader: it must accept and refuse what Kubernetes does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from k8sdoctor.analyzers import _cron


@pytest.mark.parametrize(
    "schedule",
    ["*/5 * * * *", "0 2 * * *", "30 6 1,15 * mon-fri", "0 12 * JAN-MAR 1-5", "5/15 * * * ?",
     "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
     "@every 1h30m", "@every 90s", "CRON_TZ=Europe/Berlin 0 2 * * *", "TZ=UTC @daily",
     "*/90 * * * *"],
)
def test_schedules_the_controller_accepts(schedule: str) -> None:
    _cron.parse(schedule)


@pytest.mark.parametrize(
    ("schedule", "error"),
    [
        ("0 0 2 * * *", "expected exactly 5 fields, found 6: [0 0 2 * * *]"),
        ("0 2 * *", "expected exactly 5 fields, found 4"),
        ("0 3 * * 7", "end of range (7) above maximum (6)"),
        ("60 * * * *", "end of range (60) above maximum (59)"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1)"),
        ("0 5-2 * * *", "beginning of range (5) beyond end of range (2)"),
        ("*/0 * * * *", "step of range should be a positive number"),
        ("0 0 * * MON-FRI/2/3", "too many slashes"),
        ("0 0 L * *", "failed to parse int from L"),
        ("@reboot", "unrecognized descriptor: @reboot"),
        ("@every 10 minutes", 'failed to parse duration @every 10 minutes: time: invalid duration '
                              '"10 minutes"'),
        ("CRON_TZ=Mars/Olympus 0 2 * * *", "provided bad location Mars/Olympus"),
    ],
)
def test_schedules_the_controller_refuses(schedule: str, error: str) -> None:
    with pytest.raises(_cron.ScheduleError) as raised:
        _cron.parse(schedule)
    assert error in str(raised.value)


def test_macros_and_intervals_give_the_previous_runs() -> None:
    now = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    hourly = _cron.previous_runs(_cron.parse("@hourly"), timezone.utc, now, 2)
    assert [r.astimezone(timezone.utc).hour for r in hourly] == [9, 8]
    every = _cron.previous_runs(_cron.parse("@every 45m"), timezone.utc, now, 2)
    assert every == (now - timedelta(minutes=45), now - timedelta(minutes=90))


@pytest.mark.parametrize("name", ["", "Local", "local", "Europe/Berln"])
def test_time_zones_kubernetes_refuses(name: str) -> None:
    with pytest.raises(_cron.ScheduleError):
        _cron.zone(name)
