"""Type-checked, never run: draining the outbox and receiving webhooks, from a host's seat."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import referralkit as rk
from referralkit.outbox import Backoff, DrainResult, Webhook, drain, drain_all, verify_webhook


def send(event: rk.Event) -> dict[str, object]:
    return {"id": event.id, "attempts": event.attempts, **event.to_dict()}


def worker(program: rk.ReferralProgram, stopping: threading.Event) -> int:
    events: list[rk.Event] = program.claim_events(
        limit=100, lease=timedelta(minutes=5), worker="w1"
    )
    delivered: int = program.ack(e.id for e in events)
    program.release_events([e.id for e in events], retry_at=datetime.now(timezone.utc))
    program.dead_letter([1, 2])
    dead: list[rk.Event] = program.dead_letters(limit=10)
    pruned: int = program.prune_events(older_than=timedelta(days=90))
    once: DrainResult = drain(program, send, backoff=Backoff(base=timedelta(seconds=10)))
    hook = Webhook("https://hooks.example/referrals", secret=b"x" * 32, clock=program.clock)
    total = drain_all(program, hook, stop=stopping.is_set, max_attempts=5, worker="w1")
    return delivered + len(dead) + pruned + once.claimed + total.delivered


def receive(body: bytes, headers: dict[str, str]) -> str:
    event: rk.Event = verify_webhook(body, headers, b"x" * 32, tolerance=timedelta(minutes=5))
    return event.type
