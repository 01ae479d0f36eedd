"""CronJob schedules read the way the Kubernetes CronJob controller reads them.

The API server and the controller parse ``spec.schedule`` with robfig/cron's standard parser:
exactly five fields (minute, hour, day of month, month, day of week 0-6, with ``jan``-``dec``
and ``sun``-``sat`` names), the ``@yearly``/``@annually``/``@monthly``/``@weekly``/``@daily``/
``@midnight``/``@hourly`` macros and ``@every DURATION``, and an optional, unsupported
``TZ=``/``CRON_TZ=`` prefix. ``parse`` accepts exactly that and says why anything else is
refused, in the parser's own words; ``previous_runs`` lists the times a valid schedule last fired
(croniter does the calendar arithmetic). Private to the cronjob analyzer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAYS = {name: number for number, name in enumerate(
    ("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))
_GO_DURATION = re.compile(r"^[+]?((\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_GO_UNIT = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
                 "h": 3600.0}


class ScheduleError(ValueError):
    """The schedule is not one the CronJob controller can parse."""


@dataclass(frozen=True)
class Schedule:
    """A schedule the controller accepts, ready for ``previous_runs``."""

    expression: str
    """Five fields for croniter (macros expanded), or "" for ``@every``."""
    interval: timedelta | None
    """The ``@every`` interval."""
    zone_prefix: str | None
    """The zone of a ``TZ=``/``CRON_TZ=`` prefix."""


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``, as the API server's validation accepts it. ScheduleError if not;
    LookupError when this machine has no time zone database to judge by."""
    if not name or name.lower() == "local":
        raise ScheduleError(f"{name!r} is not an explicit IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if not available_timezones():
            raise LookupError("no time zone database") from None
        raise ScheduleError(f"unknown time zone {name}") from None


def parse(schedule: str) -> Schedule:
    """``spec.schedule`` as robfig/cron's standard parser reads it; ScheduleError, in that
    parser's words, for one the controller refuses."""
    text, zone_prefix = schedule.strip(), None
    if text.startswith(("TZ=", "CRON_TZ=")):
        head, _, text = text.partition(" ")
        zone_prefix = head.split("=", 1)[1]
        try:
            zone(zone_prefix)
        except LookupError:
            pass
        except ScheduleError as err:
            raise ScheduleError(f"provided bad location {zone_prefix}: {err}") from None
        text = text.strip()
    if text.startswith("@"):
        if text in MACROS:
            return Schedule(MACROS[text], None, zone_prefix)
        if text.startswith("@every "):
            return Schedule("", _go_duration(text.removeprefix("@every ").strip()), zone_prefix)
        raise ScheduleError(f"unrecognized descriptor: {text}")
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    for field, (low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in field.split(","):
            _bounds(part, low, high, names)
    return Schedule(" ".join(f.replace("?", "*") for f in fields), None, zone_prefix)


def _bounds(expr: str, low: int, high: int, names: dict[str, int]) -> tuple[int, int, int]:
    """The first and last value and the step of one comma-separated part of a field; raises
    ``ScheduleError`` as the Kubernetes validator does."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        start = _number(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _number(low_and_high[1], names)
        else:
            raise ScheduleError(f"too many hyphens: {expr}")
    if len(range_and_step) == 2:
        step = _number(range_and_step[1], {})
        if len(low_and_high) == 1:
            end = high
    elif len(range_and_step) > 2:
        raise ScheduleError(f"too many slashes: {expr}")
    else:
        step = 1
    if start < low:
        raise ScheduleError(f"beginning of range ({start}) below minimum ({low}): {expr}")
    if end > high:
        raise ScheduleError(f"end of range ({end}) above maximum ({high}): {expr}")
    if start > end:
        raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise ScheduleError(f"step of range should be a positive number: {expr}")
    return start, end, step


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


def never_fires(schedule: Schedule) -> str | None:
    """Why a schedule that parses can never fire (``0 6 30 2 *``: no February 30th), or None.

    As in robfig/cron, a day of month and a day of week that are both restricted match either;
    so only a schedule whose day of week is ``*`` can name days its months never have. The
    controller then finds no next time and reports ``InvalidSchedule``.
    """
    if schedule.interval is not None or not schedule.expression:
        return None
    _, _, dom, month, dow = schedule.expression.split()
    if dow not in ("*", "?") or dom in ("*", "?"):
        return None
    days = _values(dom, *_FIELDS[2])
    months = _values(month, *_FIELDS[3])
    if any(day <= _DAYS_IN_MONTH[m - 1] for m in months for day in days):
        return None
    named = ", ".join(_MONTH_NAMES[m - 1] for m in sorted(months))
    return (f"no month it names ({named}) has day {', '.join(map(str, sorted(days)))}, so "
            "it never fires")


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The numbers a field that ``parse`` accepted matches."""
    values: set[int] = set()
    for part in field.split(","):
        start, end, step = _bounds(part, low, high, names)
        values.update(range(start, end + 1, step))
    return values


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    try:
        value = int(text)
    except ValueError:
        raise ScheduleError(f"failed to parse int from {text}") from None
    if value < 0:
        raise ScheduleError(f"negative number ({value}) not allowed: {text}")
    return value


def _go_duration(text: str) -> timedelta:
    if text in ("0", "+0"):
        return timedelta(seconds=1)
    if not _GO_DURATION.match(text):
        raise ScheduleError(f'failed to parse duration @every {text}: time: invalid duration '
                            f'"{text}"')
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _GO_UNIT.findall(text))
    return timedelta(seconds=max(seconds, 1.0))  # the controller rounds up to a second


@lru_cache(maxsize=256)
def previous_runs(schedule: Schedule, where: tzinfo, now: datetime,
                  count: int) -> tuple[datetime, ...]:
    """The ``count`` most recent times the schedule fired before ``now``, newest first; empty
    when croniter cannot compute them. Remembered: CronJobs share a few schedules, and croniter
    takes a tenth of a millisecond a step."""
    if schedule.interval is not None:
        return tuple(now - schedule.interval * i for i in range(1, count + 1))
    try:
        runs = croniter(schedule.expression, now.astimezone(where))
        return tuple(runs.get_prev(datetime) for _ in range(count))
    except (CroniterError, ValueError, KeyError):
        return ()
