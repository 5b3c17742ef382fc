"""The attribution model: which referrer a visitor's clicks (or a typed code) credit.

Rules, as pure functions of the facts:

- a code typed at checkout beats any link click;
- otherwise, among the visitor's clicks inside the window (``now - window <= t <= now``),
  ``first_touch`` credits the earliest and ``last_touch`` the latest (clicks at the
  same instant are ordered by when they were recorded);
- once a referee is attributed the binding is permanent (the program refuses a second
  attribution), until an operator moves it with ``program.reassign(...)``.

Clicks are facts, not notifications: `record_click` stores them in the store's click
repository (``uow.clicks``, `referralkit.protocols.ClickRepository`), never in the event
outbox. The program reads a visitor's clicks in the unit of work that attributes them,
and the metrics views count clicks from the same repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

import attrs

from referralkit._validate import opt_name, require_aware, require_id
from referralkit.errors import ConfigError, InvalidInput
from referralkit.metrics._source import Click, MetricsSource
from referralkit.protocols import CLICKS, MeasurableStore, UnitOfWork, missing_members

__all__ = [
    "ATTRIBUTION_MODELS",
    "CLICK_EVENT",
    "DEFAULT_WINDOW",
    "Attribution",
    "AttributionModel",
    "metrics_source",
    "record_click",
    "resolve_attribution",
    "visitor_clicks",
    "winning_click",
]

#: ``first_touch``: the first referrer a visitor clicked keeps them; ``last_touch``: the last.
AttributionModel = Literal["first_touch", "last_touch"]
ATTRIBUTION_MODELS: tuple[AttributionModel, ...] = ("first_touch", "last_touch")
DEFAULT_WINDOW = timedelta(days=30)
#: The event type tracked clicks were stored as before they had a table of their own; no
#: click event is written now (an older SQLite file's click events move to its clicks).
CLICK_EVENT = "click"


def _model(value: object) -> AttributionModel:
    for model in ATTRIBUTION_MODELS:
        if value == model:
            return model
    raise ConfigError(
        f"attribution must be 'first_touch' or 'last_touch', not {value!r}",
        value=value,
        path="attribution",
    )


def _window(value: object) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigError(
            "attribution_window must be a positive timedelta, e.g. timedelta(days=30)",
            value=value,
            path="attribution_window",
        )
    return value


def winning_click(
    clicks: Iterable[Click],
    *,
    model: AttributionModel = "last_touch",
    window: timedelta = DEFAULT_WINDOW,
    now: datetime,
) -> Click | None:
    """The click that earns the attribution at ``now``, or None if none is in the window.

    Raises:
        InvalidInput: ``clicks`` is not an iterable of `Click`, or ``now`` not aware.
    """
    now = require_aware("now", now)
    clicks = _clicks(clicks)
    inside = [c for c in clicks if now - window <= c.occurred_at <= now]
    if not inside:
        return None

    def order(c: Click) -> tuple[datetime, int]:
        return c.occurred_at, c.id

    return min(inside, key=order) if model == "first_touch" else max(inside, key=order)


def _clicks(clicks: object) -> list[Click]:
    if isinstance(clicks, str | bytes) or not isinstance(clicks, Iterable):
        raise InvalidInput("clicks must be an iterable of Click", value=clicks, field="clicks")
    found = list(clicks)
    for click in found:
        if not isinstance(click, Click):
            raise InvalidInput("clicks must hold Click objects only", value=click, field="clicks")
    return found


def resolve_attribution(
    clicks: Iterable[Click],
    typed_code: str | None = None,
    *,
    model: AttributionModel = "last_touch",
    window: timedelta = DEFAULT_WINDOW,
    now: datetime,
) -> str | None:
    """The code a new customer is attributed to: the typed one, else the winning click's."""
    if typed_code is not None:
        return require_id("typed_code", typed_code)
    click = winning_click(clicks, model=model, window=window, now=now)
    return None if click is None else click.code


@attrs.frozen(slots=True)
class Attribution:
    """A programme's attribution settings: the model and the window. Validated on build."""

    model: AttributionModel = attrs.field(default="last_touch", converter=_model)
    window: timedelta = attrs.field(default=DEFAULT_WINDOW, converter=_window)

    @classmethod
    def of(cls, value: Attribution | AttributionModel | None) -> Attribution:
        """Settings from a program argument: an `Attribution`, a model name, or None."""
        if value is None:
            return cls()
        if isinstance(value, Attribution):
            return value
        return cls(model=_model(value))

    def winner(self, clicks: Iterable[Click], now: datetime) -> Click | None:
        """The click that earns the attribution at ``now`` under these settings."""
        return winning_click(clicks, model=self.model, window=self.window, now=now)

    def resolve(self, clicks: Iterable[Click], typed_code: str | None, now: datetime) -> str | None:
        """The code to attribute: the typed one, else the winning click's."""
        return resolve_attribution(
            clicks, typed_code, model=self.model, window=self.window, now=now
        )


def record_click(
    uow: UnitOfWork,
    *,
    code: str,
    visitor: str,
    now: datetime,
    channel: str | None = None,
    campaign: str | None = None,
) -> Click:
    """Store a click in this unit of work's click repository; returns it with its id.

    ``visitor`` is stored as given: the program passes a keyed hash of the host's visitor
    id (`referralkit.ReferralProgram.track_click`), so no raw id reaches the disk. A unit
    of work without ``clicks`` is a `ConfigError` naming what it lacks.
    """
    click = Click(
        code=require_id("code", code),
        visitor=require_id("visitor", visitor),
        occurred_at=now,
        channel=opt_name("channel", channel),
        campaign=opt_name("campaign", campaign),
    )
    return CLICKS.repository(uow, store=uow).add(click)


def metrics_source(store: object) -> MetricsSource:
    """The store's `MetricsSource`; `ConfigError` unless the store is a `MeasurableStore`."""
    # missing_members also refuses a metrics_source that is not callable; isinstance narrows.
    if missing_members(store, MeasurableStore) or not isinstance(store, MeasurableStore):
        raise ConfigError(
            f"{type(store).__name__} has no metrics_source(): metrics and click attribution"
            " need a store that implements referralkit.protocols.MeasurableStore"
            " (metrics_source() returning a referralkit.metrics.MetricsSource)",
            value=type(store).__name__,
            path="store",
        )
    source = store.metrics_source()
    if not isinstance(source, MetricsSource):
        raise ConfigError(
            f"{type(store).__name__}.metrics_source() returned {type(source).__name__},"
            " which has no snapshot() method",
            value=source,
            path="store",
        )
    return source


def visitor_clicks(
    store: object,
    visitor: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Click]:
    """The clicks stored under ``visitor`` in ``[since, until]``, oldest first.

    ``visitor`` is the stored key: for clicks tracked by a program, the keyed hash of the
    host's visitor id. `referralkit.ReferralProgram.attribution_for` looks a visitor up
    by the id itself.
    """
    with metrics_source(store).snapshot() as view:
        return view.visitor_clicks(visitor, since, until)
