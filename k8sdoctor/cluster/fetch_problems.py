"""What went wrong with a request to the API server, in words for people.

The live source turns urllib3's and the client's exceptions into these: an error status with the
server's own ``Status`` message, a request that went unanswered or whose answer broke off (one
kind's List is lost), or a connection problem with a hint at the fix (the run ends).
"""

from __future__ import annotations

import json

from k8sdoctor.cluster.durations import format_seconds


class Unanswered(Exception):
    """A request that got no whole answer: no answer in time, a body cut short, the fetch's
    deadline passed. One kind's List goes to ``errors``; during discovery the run ends."""


class BrokenBody(Unanswered):
    """A body cut short, or not the JSON the API sends: worth one more try."""


class HttpError(Exception):
    """An error status from the server, with the ``Status`` reason and message it sent."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(status, reason, message)
        self.status, self.reason, self.message = status, reason, message

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}" if self.reason else (
            f"{self.status}: {self.message}"
        )

    def problem(self) -> str:
        """What went wrong, as a kind's fetch error says it."""
        return f"the server answered {self}"


REACH_HINT = "check that the cluster is running and the kubeconfig's server address is right"
TLS_HINT = ("check the kubeconfig's certificate-authority and client certificate, and that the "
             "server speaks HTTPS")


def connection_problem(err: Exception, waited: float) -> tuple[str, str]:
    """A short description of a connection failure, and a hint at the fix."""
    import urllib3.exceptions as ex

    cause: BaseException = err
    if isinstance(err, ex.MaxRetryError) and err.reason is not None:
        cause = err.reason
    name_resolution = getattr(ex, "NameResolutionError", ())
    if isinstance(cause, ex.SSLError):
        return f"TLS failed: {one_line(cause)}", TLS_HINT
    if isinstance(cause, ex.ProxyError):
        return f"the proxy failed: {one_line(cause.__cause__ or cause)}", REACH_HINT
    if isinstance(cause, name_resolution):
        return "the host name does not resolve", REACH_HINT
    if isinstance(cause, ex.NewConnectionError):
        origin = cause.__cause__ or cause.__context__
        detail = getattr(origin, "strerror", None) or str(cause).rsplit(": ", 1)[-1]
        return one_line(detail).lower(), REACH_HINT
    if isinstance(cause, ex.ConnectTimeoutError):
        return f"the connection timed out (gave up after {format_seconds(waited)})", REACH_HINT
    return one_line(cause), REACH_HINT


def request_unanswered(
    err: Exception, path: str, waited: float, by_deadline: bool
) -> Unanswered | None:
    """The failure of a request that reached the server but got no whole answer; None when the
    server could not be reached at all (see ``connection_problem``)."""
    import urllib3.exceptions as ex

    cause: BaseException = err
    if isinstance(err, ex.MaxRetryError) and err.reason is not None:
        cause = err.reason
    if isinstance(cause, ex.ReadTimeoutError):
        limit = "the --fetch-timeout deadline" if by_deadline else "--request-timeout"
        return Unanswered(f"GET {path}: no answer within {format_seconds(waited)} ({limit})")
    if isinstance(cause, ex.ProtocolError):
        return BrokenBody(f"GET {path}: {broken_connection(cause)}")
    return None


def broken_connection(cause: BaseException) -> str:
    """``the response was cut short: 4,096 of 10,240 bytes arrived`` rather than urllib3's
    ``('Connection broken: IncompleteRead(...)', IncompleteRead(...))``."""
    from http.client import IncompleteRead

    for part in (cause, *getattr(cause, "args", ())):
        if isinstance(part, IncompleteRead):
            got = len(part.partial) if isinstance(part.partial, bytes) else part.partial
            if part.expected is not None:
                return (f"the response was cut short: {got:,} of {got + part.expected:,} bytes "
                        "arrived")
            return f"the response was cut short after {got:,} bytes"
        if hasattr(part, "partial") and hasattr(part, "expected"):  # urllib3's own IncompleteRead
            return (f"the response was cut short: {part.partial:,} of "
                    f"{part.partial + part.expected:,} bytes arrived")
    reason = cause.args[0] if cause.args and isinstance(cause.args[0], str) else str(cause)
    return f"the connection broke off mid-answer ({one_line(reason, 120)})"


def first_words(body: bytes) -> str:
    text = one_line(body.decode("utf-8", errors="replace"), 60)
    return f"it began {text!r}" if text else "it was empty"


def http_error(status: int, body: bytes) -> HttpError:
    """The server's own words for an error: a ``Status`` object's reason and message, or the
    text it sent."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("kind") == "Status":
        return HttpError(status, str(document.get("reason") or ""),
                          one_line(document.get("message") or text))
    return HttpError(status, "", one_line(text) or "no message")


def fetch_problem(err: HttpError) -> str:
    if err.status == 403:
        return f"forbidden: {err.message}"
    return err.problem()


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line, cut at a word boundary when it is longer than ``limit``."""
    flat = " ".join(str(text).split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0] if " " in flat[: limit - 1] else flat[: limit - 1]
    return cut.rstrip(",;:") + "…"
