"""A clock tests can move by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["FrozenClock"]


class FrozenClock:
    """A callable clock that stands still until told to move: ``clock.advance(days=15)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
        if self.now.tzinfo is None:
            msg = "FrozenClock needs a timezone-aware start"
            raise ValueError(msg)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; returns the new time."""
        self.now += delta if delta is not None else timedelta(**kwargs)
        return self.now
