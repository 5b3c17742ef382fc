"""Drain a program's outbox: claim events, deliver each, acknowledge, retry, give up.

`drain` runs one batch: it claims events under a lease
(`referralkit.ReferralProgram.claim_events`), hands each to a handler, acknowledges
those delivered, hands failures back for a retry after an exponential, capped
`Backoff`, and gives an event up (a dead letter) once it has failed ``max_attempts``
times. `drain_all` repeats batches until nothing is claimable or it is told to stop.
Any number of drainers may run at once, in threads or processes: a claim never shares
an event while its lease holds.

Delivery is at least once. A drainer that dies between delivering and acknowledging
delivers again once its lease ends, so a handler must be idempotent: key it on
`referralkit.Event.id`. Time is the program's clock.

`Webhook` is a ready handler: it POSTs each event's JSON form, signed with HMAC-SHA256
over a timestamp and the body, with a key derived from a webhook secret of its own (never
the program secret). A receiver checks a request with `verify_webhook`, which refuses a
bad signature and a timestamp outside its tolerance (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Any

import attrs

from referralkit._json import JSONForm
from referralkit._validate import positive_int, require_duration
from referralkit.errors import ConfigError, InvalidInput
from referralkit.model import Event
from referralkit.program import ReferralProgram
from referralkit.program._core import utc_now

__all__ = [
    "DEFAULT_BACKOFF",
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "Backoff",
    "DrainResult",
    "Handler",
    "Webhook",
    "drain",
    "drain_all",
    "sign_webhook",
    "verify_webhook",
]

#: What `drain` hands each event to; returning is success, raising is a failed delivery.
Handler = Callable[[Event], object]

#: The header carrying ``t=<unix seconds>,v1=<hex HMAC-SHA256>``.
SIGNATURE_HEADER = "Referralkit-Signature"
#: The header carrying the event id: the receiver's idempotency key.
EVENT_ID_HEADER = "Referralkit-Event-Id"
_TYPE_HEADER = "Referralkit-Event-Type"
_ATTEMPT_HEADER = "Referralkit-Attempt"
_OWN_HEADERS = frozenset(
    h.lower() for h in (SIGNATURE_HEADER, EVENT_ID_HEADER, _TYPE_HEADER, _ATTEMPT_HEADER)
) | {"content-type", "content-length"}
_KEY_LABEL = b"referralkit/webhooks/v1"
_MIN_SECRET = 32
_MAX_URL = 2048
_MAX_TIMEOUT = 300.0


# -- backoff and the drain ---------------------------------------------------------------------


def _base(value: object) -> timedelta:
    return require_duration("backoff.base", value)


def _cap(value: object) -> timedelta:
    return require_duration("backoff.cap", value)


def _factor(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("backoff.factor must be a number", value=value, field="backoff.factor")
    if value < 1:
        raise InvalidInput("backoff.factor must be at least 1", value=value, field="backoff.factor")
    return float(value)


@attrs.frozen(slots=True)
class Backoff:
    """How long a failed event waits before its next attempt: exponential, capped.

    After attempt ``n`` (`Event.attempts`) the wait is ``base * factor ** (n - 1)``, at
    most ``cap``: 30 s, 1 min, 2 min, ... up to an hour by default.
    """

    base: timedelta = attrs.field(default=timedelta(seconds=30), converter=_base)
    factor: float = attrs.field(default=2.0, converter=_factor)
    cap: timedelta = attrs.field(default=timedelta(hours=1), converter=_cap)

    def __attrs_post_init__(self) -> None:
        if self.cap < self.base:
            raise InvalidInput(
                "backoff.cap must be at least backoff.base", value=self.cap, field="backoff.cap"
            )

    def __call__(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        steps = max(attempts - 1, 0)
        if self.factor > 1 and steps >= math.log(self.cap / self.base, self.factor):
            return self.cap
        return min(self.cap, self.base * self.factor**steps)


#: 30 s after the first failure, doubling, at most an hour.
DEFAULT_BACKOFF = Backoff()


@attrs.frozen(slots=True)
class DrainResult(JSONForm):
    """What a drain did with the events it claimed.

    ``delivered``: handled and acknowledged; ``failed``: handed back for a retry after the
    backoff; ``dead_lettered``: given up after ``max_attempts``; ``expired``: not handled
    because the lease ran out before their turn (claimable again, by any drainer).
    """

    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    expired: int = 0

    @property
    def claimed(self) -> int:
        """How many events the drain claimed."""
        return self.delivered + self.failed + self.dead_lettered + self.expired

    def __add__(self, other: DrainResult) -> DrainResult:
        return DrainResult(
            self.delivered + other.delivered,
            self.failed + other.failed,
            self.dead_lettered + other.dead_lettered,
            self.expired + other.expired,
        )


def _now(program: ReferralProgram) -> datetime:
    now: object = program.clock()
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ConfigError(
            "the program clock must return timezone-aware datetimes", value=now, path="clock"
        )
    return now


def _wait(backoff: Callable[[int], timedelta], attempts: int) -> timedelta:
    wait: object = backoff(attempts)
    if not isinstance(wait, timedelta) or wait < timedelta(0):
        raise InvalidInput(
            "backoff(attempts) must return a non-negative timedelta", value=wait, field="backoff"
        )
    return wait


def _check_drain(
    program: object,
    handler: object,
    max_attempts: object,
    backoff: object,
    on_error: object,
) -> None:
    if not isinstance(program, ReferralProgram):
        raise InvalidInput("program must be a ReferralProgram", value=program, field="program")
    if not callable(handler):
        raise InvalidInput(
            "handler must be callable: handler(event)", value=handler, field="handler"
        )
    positive_int("max_attempts", max_attempts)
    if not callable(backoff):
        raise InvalidInput(
            "backoff must be a Backoff, or any callable(attempts) -> timedelta",
            value=backoff,
            field="backoff",
        )
    if on_error is not None and not callable(on_error):
        raise InvalidInput(
            "on_error must be callable: on_error(event, error)", value=on_error, field="on_error"
        )


def drain(
    program: ReferralProgram,
    handler: Handler,
    *,
    batch: int = 100,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 10,
    backoff: Callable[[int], timedelta] = DEFAULT_BACKOFF,
    worker: str | None = None,
    on_error: Callable[[Event, Exception], object] | None = None,
) -> DrainResult:
    """Claim one batch, hand each event to ``handler``, and settle every outcome.

    An event the handler returns from is acknowledged; one it raises on (any
    `Exception`) is handed back for a retry ``backoff(event.attempts)`` from now, or
    given up once it has failed ``max_attempts`` times (`program.dead_letters` lists
    it). ``on_error(event, error)`` hears of each failure (log it there). Once the lease
    has run out, the rest of the batch is left unhandled for the next claim. What was
    delivered is acknowledged even if the drain is interrupted.
    """
    _check_drain(program, handler, max_attempts, backoff, on_error)
    started = _now(program)
    events = program.claim_events(limit=batch, lease=lease, worker=worker)
    ends = started + lease  # the claim's lease ends no earlier than this
    delivered: list[int] = []
    retries: dict[datetime, list[int]] = {}
    dead: list[int] = []
    expired = 0
    try:
        for i, event in enumerate(events):
            now = _now(program)
            if now >= ends:
                expired = len(events) - i  # another drainer may hold them by now
                break
            try:
                handler(event)
            except Exception as error:  # noqa: BLE001 - any failure of the handler is a failed delivery
                if on_error is not None:
                    on_error(event, error)
                if event.attempts >= max_attempts:
                    dead.append(event.id)
                else:
                    retries.setdefault(now + _wait(backoff, event.attempts), []).append(event.id)
            else:
                delivered.append(event.id)
    finally:
        if delivered:
            program.ack(delivered)
    for retry_at, ids in retries.items():
        program.release_events(ids, retry_at=retry_at)
    if dead:
        program.dead_letter(dead)
    return DrainResult(
        delivered=len(delivered),
        failed=sum(len(ids) for ids in retries.values()),
        dead_lettered=len(dead),
        expired=expired,
    )


def drain_all(
    program: ReferralProgram,
    handler: Handler,
    *,
    stop: Callable[[], bool] | None = None,
    batch: int = 100,
    lease: timedelta = timedelta(minutes=5),
    max_attempts: int = 10,
    backoff: Callable[[int], timedelta] = DEFAULT_BACKOFF,
    worker: str | None = None,
    on_error: Callable[[Event, Exception], object] | None = None,
) -> DrainResult:
    """`drain` batch after batch until a claim finds nothing, or ``stop()`` is true.

    ``stop`` is asked before each batch (``threading.Event().is_set`` will do). Events
    waiting for a retry are not claimable yet, so a failing receiver does not keep the
    loop busy: it returns, and the next run retries them when their backoff is over.
    Returns the sum of the batches.
    """
    if stop is not None and not callable(stop):
        raise InvalidInput("stop must be callable: stop() -> bool", value=stop, field="stop")
    total = DrainResult()
    while stop is None or not stop():
        result = drain(
            program,
            handler,
            batch=batch,
            lease=lease,
            max_attempts=max_attempts,
            backoff=backoff,
            worker=worker,
            on_error=on_error,
        )
        total += result
        if not result.claimed:
            break
    return total


# -- webhooks ----------------------------------------------------------------------------------


def _secret(value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) < _MIN_SECRET:
        raise InvalidInput(
            "secret must be at least 32 random bytes (e.g. secrets.token_bytes(32)),"
            " a webhook secret of its own, not the program secret",
            field="secret",
        )
    return value


def _key(secret: bytes) -> bytes:
    # Requests are signed with a key derived from the webhook secret, never with it directly.
    return hmac.new(secret, _KEY_LABEL, hashlib.sha256).digest()


def _signature(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_webhook(body: bytes, secret: bytes, *, now: datetime) -> str:
    """The `SIGNATURE_HEADER` value for ``body`` sent at ``now``: ``t=<unix>,v1=<hex>``.

    ``v1`` is HMAC-SHA256 over ``b"<t>." + body`` with the key
    ``HMAC-SHA256(secret, b"referralkit/webhooks/v1")``, for receivers in any language.
    """
    if not isinstance(body, bytes):
        raise InvalidInput("body must be bytes", value=type(body).__name__, field="body")
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput("now must be a timezone-aware datetime", value=now, field="now")
    timestamp = int(now.timestamp())
    return f"t={timestamp},v1={_signature(_secret(secret), timestamp, body)}"


def _url(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_URL:
        raise InvalidInput(
            f"url must be an http(s) URL of at most {_MAX_URL} characters", value=value, field="url"
        )
    if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
        raise InvalidInput(
            "url must be ASCII (percent-encode the rest), without spaces or control characters",
            value=value,
            field="url",
        )
    try:
        parts = urllib.parse.urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise InvalidInput(f"url is not a URL: {error}", value=value, field="url") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise InvalidInput(
            "url must be an http:// or https:// URL with a host", value=value, field="url"
        )
    return value


def _timeout(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= _MAX_TIMEOUT
    ):
        raise InvalidInput(
            f"timeout must be a number of seconds in (0, {_MAX_TIMEOUT:g}]",
            value=value,
            field="timeout",
        )
    return float(value)


def _extra_headers(value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidInput("headers must map names to values", value=value, field="headers")
    for name, text in value.items():
        if (
            not isinstance(name, str)
            or not isinstance(text, str)
            or not name.strip()
            or not (name + text).isprintable()
            or not (name + text).isascii()
            or name.lower() in _OWN_HEADERS
        ):
            raise InvalidInput(
                "headers must be printable ASCII, and not the signature or content headers",
                value=name,
                field="headers",
            )
    return dict(value)


def _clock(value: object) -> Callable[[], datetime]:
    if not callable(value):
        raise InvalidInput(
            "clock must be callable: clock() -> datetime", value=value, field="clock"
        )
    return value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would follow a POST's redirect as a GET without the body."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@attrs.frozen(slots=True)
class Webhook:
    """A `drain` handler that POSTs each event as JSON to ``url``, signed.

    The body is ``event.to_dict()`` as JSON; `SIGNATURE_HEADER` signs it with a
    timestamp from ``clock`` (use the program's), `EVENT_ID_HEADER` carries the event id
    (the receiver's idempotency key). ``secret`` is the webhook's own secret (at least
    32 bytes, shared with the receiver), never the program secret. Any answer but 2xx
    (redirects included) and any network error or ``timeout`` (seconds) raise: the
    drain retries the event later. Only the standard library (``urllib.request``).
    """

    url: str = attrs.field(converter=_url)
    secret: bytes = attrs.field(converter=_secret, repr=False)
    timeout: float = attrs.field(default=10.0, converter=_timeout)
    clock: Callable[[], datetime] = attrs.field(default=utc_now, converter=_clock)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_extra_headers)

    def request(self, event: Event) -> urllib.request.Request:
        """The signed POST request for ``event``."""
        body = json.dumps(event.to_dict(), separators=(",", ":"), sort_keys=True).encode()
        now: object = self.clock()
        if not isinstance(now, datetime) or now.tzinfo is None:
            raise ConfigError(
                "the webhook clock must return timezone-aware datetimes", value=now, path="clock"
            )
        headers = {
            **self.headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_webhook(body, self.secret, now=now),
            EVENT_ID_HEADER: str(event.id),
            _TYPE_HEADER: event.type,
            _ATTEMPT_HEADER: str(event.attempts),
        }
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - the scheme is checked: http(s) only

    def __call__(self, event: Event) -> None:
        """Deliver ``event``; raises ``urllib.error.URLError`` (or ``HTTPError``) on failure."""
        try:
            with _OPENER.open(self.request(event), timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            error.close()  # the answer's connection: the error still says what it was
            raise


def _header(headers: object, name: str) -> str | None:
    items = headers.items() if isinstance(headers, Mapping | Message) else None
    if items is None:
        raise InvalidInput("headers must be a mapping of the request's headers", field="headers")
    wanted = name.lower()
    for key, value in items:
        if isinstance(key, str) and key.lower() == wanted:
            return str(value)
    return None


def _parse_signature(value: str | None) -> tuple[int, list[str]]:
    if value is None:
        raise InvalidInput(f"no {SIGNATURE_HEADER} header", field="signature")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, _, text = part.strip().partition("=")
        if key == "t" and text.isdigit() and len(text) <= 12:  # noqa: PLR2004 - seconds until year 33658
            timestamp = int(text)
        elif key == "v1" and text:
            signatures.append(text)
    if timestamp is None or not signatures:
        raise InvalidInput(
            f"{SIGNATURE_HEADER} must read t=<unix seconds>,v1=<hex>",
            value=value,
            field="signature",
        )
    return timestamp, signatures


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str] | Message,
    secret: bytes,
    *,
    tolerance: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> Event:
    """The `Event` a webhook request carries, once its signature and timestamp check out.

    ``body`` is the raw request body (bytes, before any JSON parsing), ``headers`` the
    request's headers (any case; ``http.server``'s ``self.headers`` will do), ``secret``
    the webhook secret the sender was given. Raises `referralkit.InvalidInput` naming
    ``signature`` (missing, malformed or wrong), ``timestamp`` (more than ``tolerance``
    away from ``now``, the current time: a replay) or ``body``. Deliveries are at least
    once: a receiver also drops an event id it has seen (`EVENT_ID_HEADER`).
    """
    if not isinstance(body, bytes):
        raise InvalidInput("body must be the raw bytes of the request", field="body")
    secret = _secret(secret)
    tolerance = require_duration("tolerance", tolerance)
    if now is None:
        now = datetime.now(timezone.utc)
    elif not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput("now must be a timezone-aware datetime", value=now, field="now")
    timestamp, signatures = _parse_signature(_header(headers, SIGNATURE_HEADER))
    expected = _signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise InvalidInput("the webhook signature does not match", field="signature")
    try:
        sent = datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(
            "the webhook timestamp is out of range", value=timestamp, field="timestamp"
        ) from None
    if abs(now - sent) > tolerance:
        raise InvalidInput(
            f"the webhook was signed at {sent.isoformat()}, more than {tolerance} from now",
            value=timestamp,
            field="timestamp",
        )
    try:
        return Event.from_dict(json.loads(body))
    except (ValueError, TypeError, InvalidInput) as error:
        raise InvalidInput(f"the webhook body is not an event: {error}", field="body") from None
