"""The webhook handler signs and posts events; `verify_webhook` accepts them and nothing else.

A local ``http.server`` on 127.0.0.1 (a free port) plays the receiver: never the internet.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.error
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import referralkit as rk
from referralkit.outbox import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    DrainResult,
    Webhook,
    drain,
    sign_webhook,
    verify_webhook,
)
from referralkit.policies import Fixed
from referralkit.storage import MemoryStore
from referralkit.testing import FrozenClock
from strategies import junk_secrets, junk_webhook_urls

HOOK_SECRET = b"webhook-secret-0123456789abcdef-0123"
PROGRAM_SECRET = b"program-secret-0123456789abcdef-0123"
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the server's next status; records what it was sent."""

    def do_POST(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server.requests.append((self.command, dict(self.headers), body))
        status = server.statuses.pop(0) if server.statuses else 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", f"http://127.0.0.1:{server.server_port}/elsewhere")
        self.end_headers()

    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        server.requests.append((self.command, dict(self.headers), b""))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        """Quiet."""


class _Server(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/hooks/referrals"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def program(clock: FrozenClock) -> rk.ReferralProgram:
    return rk.ReferralProgram(
        store=MemoryStore(), secret=PROGRAM_SECRET, policy=Fixed(rk.Money("5", "USD")), clock=clock
    )


def _event(**changes: Any) -> rk.Event:
    fields = {"id": 7, "type": "code.enrolled", "payload": {"customer_id": "ann"}}
    return rk.Event(occurred_at=T0, **{**fields, **changes})


def test_each_event_is_posted_as_signed_json_and_verifies_on_the_receiving_side(
    server, program, clock
) -> None:
    program.enroll("ann")
    program.enroll("bob")
    hook = Webhook(server.url, secret=HOOK_SECRET, clock=clock, headers={"X-Shop": "demo"})
    assert drain(program, hook) == DrainResult(delivered=2)
    assert program.pending_events() == []
    sent = [verify_webhook(b, h, HOOK_SECRET, now=T0) for _, h, b in server.requests]
    assert [(e.type, e.payload["customer_id"], e.attempts) for e in sent] == [
        ("code.enrolled", "ann", 1),
        ("code.enrolled", "bob", 1),
    ]
    method, headers, body = server.requests[0]
    assert method == "POST"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Shop"] == "demo"
    assert headers[EVENT_ID_HEADER] == str(sent[0].id)
    assert headers["Referralkit-Event-Type"] == "code.enrolled"
    assert headers["Referralkit-Attempt"] == "1"
    assert headers[SIGNATURE_HEADER].startswith(f"t={int(T0.timestamp())},v1=")
    assert json.loads(body) == sent[0].to_dict()
    assert PROGRAM_SECRET not in body
    assert HOOK_SECRET not in body


def test_a_receiver_error_is_a_failed_delivery_retried_later(server, program, clock) -> None:
    program.enroll("ann")
    server.statuses = [500]
    hook = Webhook(server.url, secret=HOOK_SECRET, clock=clock)
    failures: list[Exception] = []
    result = drain(program, hook, on_error=lambda _, error: failures.append(error))
    assert result == DrainResult(failed=1)
    assert isinstance(failures[0], urllib.error.HTTPError)
    assert failures[0].code == 500
    clock.advance(seconds=30)
    assert drain(program, hook) == DrainResult(delivered=1)
    assert [
        verify_webhook(b, h, HOOK_SECRET, now=clock()).attempts for _, h, b in server.requests
    ] == [1, 2]


@pytest.mark.parametrize("status", [301, 302, 303, 307])
def test_a_redirect_is_a_failure_not_a_silent_get(server, status) -> None:
    server.statuses = [status]
    with pytest.raises(urllib.error.HTTPError) as caught:
        Webhook(server.url, secret=HOOK_SECRET)(_event())
    assert caught.value.code == status
    assert [m for m, _, _ in server.requests] == ["POST"]


def test_an_unreachable_receiver_raises() -> None:
    closed = _Server()
    url = closed.url
    closed.server_close()  # the port is free again: nothing listens
    with pytest.raises(urllib.error.URLError):
        Webhook(url, secret=HOOK_SECRET, timeout=2)(_event())


def test_a_slow_receiver_times_out() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        hook = Webhook(url, secret=HOOK_SECRET, timeout=0.2)
        with pytest.raises((TimeoutError, urllib.error.URLError)):
            hook(_event())
    finally:
        listener.close()


# -- the receiving side ------------------------------------------------------------------------


def _signed(event: rk.Event, at: datetime = T0, secret: bytes = HOOK_SECRET) -> tuple[bytes, dict]:
    request = Webhook("https://example.invalid/h", secret=secret, clock=lambda: at).request(event)
    assert isinstance(request.data, bytes)
    return request.data, {k.title(): v for k, v in request.header_items()}


def test_verify_accepts_any_header_case_and_returns_the_event() -> None:
    body, headers = _signed(_event(attempts=3))
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_webhook(body, lowered, HOOK_SECRET, now=T0) == _event(attempts=3)
    upper = {k.upper(): v for k, v in headers.items()}
    assert verify_webhook(body, upper, HOOK_SECRET, now=T0 + timedelta(minutes=5)).id == 7


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda body, h: (body.replace(b"ann", b"eve"), h), "signature"),
        (lambda body, h: (body, {}), "signature"),
        (lambda body, h: (body, {SIGNATURE_HEADER: "garbage"}), "signature"),
        (lambda body, h: (body, {SIGNATURE_HEADER: "t=abc,v1=00"}), "signature"),
        (
            lambda body, h: (body, {SIGNATURE_HEADER: h[SIGNATURE_HEADER].replace("t=", "t=1")}),
            "signature",
        ),
        (lambda body, h: (body, {SIGNATURE_HEADER: h[SIGNATURE_HEADER][:-2] + "00"}), "signature"),
    ],
)
def test_verify_refuses_a_tampered_or_unsigned_request(tamper, field) -> None:
    body, headers = tamper(*_signed(_event()))
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(body, headers, HOOK_SECRET, now=T0)
    assert caught.value.field == field


def test_verify_refuses_another_secret_and_the_program_secret() -> None:
    body, headers = _signed(_event())
    for secret in (b"x" * 32, PROGRAM_SECRET):
        with pytest.raises(rk.InvalidInput) as caught:
            verify_webhook(body, headers, secret, now=T0)
        assert caught.value.field == "signature"


@pytest.mark.parametrize(
    "offset", [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1), timedelta(days=3)]
)
def test_verify_refuses_a_replay_outside_the_tolerance(offset) -> None:
    body, headers = _signed(_event())
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(body, headers, HOOK_SECRET, now=T0 + offset)
    assert caught.value.field == "timestamp"
    wider = verify_webhook(body, headers, HOOK_SECRET, tolerance=abs(offset), now=T0 + offset)
    assert wider == _event()


def test_verify_accepts_any_of_several_signatures_and_refuses_a_body_that_is_no_event() -> None:
    body, headers = _signed(_event())
    other = sign_webhook(body, b"y" * 32, now=T0).split(",")[1]
    headers[SIGNATURE_HEADER] = f"{headers[SIGNATURE_HEADER]},{other}"
    assert verify_webhook(body, headers, HOOK_SECRET, now=T0) == _event()
    junk = b'{"not": "an event"}'
    junk_headers = {SIGNATURE_HEADER: sign_webhook(junk, HOOK_SECRET, now=T0)}
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(junk, junk_headers, HOOK_SECRET, now=T0)
    assert caught.value.field == "body"
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(
            b"[1, 2",
            {SIGNATURE_HEADER: sign_webhook(b"[1, 2", HOOK_SECRET, now=T0)},
            HOOK_SECRET,
            now=T0,
        )
    assert caught.value.field == "body"


@settings(max_examples=50)
@given(
    body=st.binary(max_size=200),
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_a_signature_holds_for_exactly_its_body_and_time(body, seconds, flip) -> None:
    at = datetime.fromtimestamp(seconds, timezone.utc)
    header = sign_webhook(body, HOOK_SECRET, now=at)
    t, v1 = header.split(",")
    assert t == f"t={seconds}"
    assert header == sign_webhook(body, HOOK_SECRET, now=at)  # deterministic
    if body:
        i = flip % len(body)
        changed = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
        assert sign_webhook(changed, HOOK_SECRET, now=at) != header
    assert sign_webhook(body, HOOK_SECRET, now=at + timedelta(seconds=1)).split(",")[1] != v1


# -- refusing junk -------------------------------------------------------------------------------


@settings(max_examples=40)
@given(url=junk_webhook_urls)
def test_a_junk_url_is_refused(url) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        Webhook(url, secret=HOOK_SECRET)
    assert caught.value.field == "url"


@settings(max_examples=40)
@given(secret=junk_secrets)
def test_a_junk_secret_is_refused_on_both_sides(secret) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        Webhook("https://example.com/hook", secret=secret)
    assert caught.value.field == "secret"
    body, headers = _signed(_event())
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(body, headers, secret, now=T0)
    assert caught.value.field == "secret"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": 301}, "timeout"),
        ({"timeout": "10"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"clock": "now"}, "clock"),
        ({"headers": ["X: y"]}, "headers"),
        ({"headers": {"X-A": "b\r\nX-Evil: 1"}}, "headers"),
        ({"headers": {SIGNATURE_HEADER.lower(): "t=1,v1=00"}}, "headers"),
        ({"headers": {"Content-Type": "text/plain"}}, "headers"),
        ({"headers": {"X-A": 1}}, "headers"),
    ],
)
def test_a_junk_webhook_option_is_refused(kwargs, field) -> None:
    with pytest.raises(rk.InvalidInput) as caught:
        Webhook("https://example.com/hook", secret=HOOK_SECRET, **kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"body": "text, not bytes"}, "body"),
        ({"headers": "X: y"}, "headers"),
        ({"tolerance": timedelta(0)}, "tolerance"),
        ({"tolerance": 300}, "tolerance"),
        ({"now": datetime(2026, 5, 4, 9, 0)}, "now"),  # noqa: DTZ001 - naive on purpose
    ],
)
def test_verify_refuses_junk_arguments(kwargs, field) -> None:
    body, headers = _signed(_event())
    options: dict[str, Any] = {"body": body, "headers": headers, "now": T0, **kwargs}
    with pytest.raises(rk.InvalidInput) as caught:
        verify_webhook(options.pop("body"), options.pop("headers"), HOOK_SECRET, **options)
    assert caught.value.field == field


def test_the_secret_is_not_in_the_webhooks_repr() -> None:
    hook = Webhook("https://example.com/hook", secret=HOOK_SECRET)
    assert "secret" not in repr(hook)
    assert HOOK_SECRET.decode() not in repr(hook)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=20)
@given(now=st.datetimes(timezones=st.just(timezone.utc)))
def test_a_webhook_clock_must_be_aware(now) -> None:
    naive = now.replace(tzinfo=None)
    hook = Webhook("https://example.com/hook", secret=HOOK_SECRET, clock=lambda: naive)
    with pytest.raises(rk.ConfigError):
        hook.request(_event())
