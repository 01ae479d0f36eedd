"""The API server's clock, read from the ``Date`` header of its answers.

A live run is judged as of the server's time, not this machine's: a laptop whose clock is off by
hours would otherwise see every recent event as old ("stuck for 3 hours") or as not yet
happened. Every HTTP answer carries the server's time in its ``Date`` header (RFC 9110, to the
second), which is as precise as any age check needs.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

API_SERVER = "apiServer"
LOCAL_CLOCK = "localClock"
CAPTURED_AT = "capturedAt"
NEWEST_OBJECT = "newestObject"
SOURCES = (API_SERVER, LOCAL_CLOCK, CAPTURED_AT, NEWEST_OBJECT)
"""What a state's "now" was taken from: the API server's ``Date`` header, this machine's clock,
a snapshot's recorded capture time, or the newest timestamp in a snapshot's objects."""


def date_of(response: Any) -> datetime | None:
    """The ``Date`` header of an HTTP response (the client's or urllib3's), or None."""
    value = header_of(response, "Date")
    return None if value is None else parse_date(value)


def header_of(response: Any, name: str) -> str | None:
    """Header ``name`` of an HTTP response or an ``ApiException`` (the client's or urllib3's),
    or None."""
    headers = getattr(response, "headers", None)
    if headers is None and hasattr(response, "getheaders"):
        headers = response.getheaders()
    value = headers.get(name) if isinstance(headers, Mapping) or hasattr(headers, "get") else None
    return value if isinstance(value, str) else None


def parse_date(value: str) -> datetime | None:
    """An HTTP date (``Thu, 20 Nov 2026 10:00:00 GMT``) as an aware datetime, or None."""
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
