"""The SQLite schema, as an ordered list of migration steps.

Version N of the schema is the result of applying ``MIGRATIONS[:N]``. A file records
its version in ``schema_version``; opening an older file applies the missing steps in
one transaction, and a newer file is refused. Add a step, never edit a shipped one.

A step is a sequence of single SQL statements, each run with one ``execute``: nothing
splits a script on ``;``, so a trigger body or a string literal holding one is safe.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence

from referralkit.errors import ConfigError, SchemaVersionError, StorageError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Step", "migrate"]

#: One migration step: its statements, in order, each a single complete statement.
Step = tuple[str, ...]

_V1: Step = (
    """CREATE TABLE codes (
    code        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    campaign    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    max_uses    INTEGER,
    UNIQUE (owner, campaign)
)""",
    """CREATE TABLE referrals (
    id              TEXT PRIMARY KEY,
    code            TEXT NOT NULL REFERENCES codes(code),
    referrer        TEXT NOT NULL,
    referee         TEXT NOT NULL,
    status          TEXT NOT NULL,
    reasons         TEXT NOT NULL,
    attributed_at   TEXT NOT NULL,
    campaign        TEXT NOT NULL,
    policy_version  TEXT NOT NULL,
    channel         TEXT
)""",
    """CREATE UNIQUE INDEX referrals_one_active_per_referee
    ON referrals(referee) WHERE status <> 'rejected'""",
    "CREATE INDEX referrals_by_referrer ON referrals(referrer, attributed_at)",
    "CREATE INDEX referrals_by_status ON referrals(status, attributed_at)",
    "CREATE INDEX referrals_by_code ON referrals(code)",
    """CREATE TABLE conversions (
    order_id        TEXT PRIMARY KEY,
    referee         TEXT NOT NULL,
    currency        TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL,
    refunded_minor  INTEGER NOT NULL DEFAULT 0,
    occurred_at     TEXT NOT NULL,
    first_order     INTEGER NOT NULL,
    referral_id     TEXT REFERENCES referrals(id)
)""",
    "CREATE INDEX conversions_by_referee ON conversions(referee)",
    "CREATE INDEX conversions_by_referral ON conversions(referral_id)",
    """CREATE TABLE rewards (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    key             TEXT NOT NULL,
    referral_id     TEXT NOT NULL REFERENCES referrals(id),
    beneficiary     TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    currency        TEXT,
    amount_minor    INTEGER,
    granted_minor   INTEGER,
    points          INTEGER NOT NULL,
    granted_points  INTEGER NOT NULL,
    state           TEXT NOT NULL,
    order_id        TEXT REFERENCES conversions(order_id),
    policy          TEXT NOT NULL,
    explanation     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    hold_until      TEXT,
    perk            TEXT,
    coupon_code     TEXT,
    proportional    INTEGER NOT NULL,
    clawback_minor  INTEGER,
    clawback_points INTEGER NOT NULL DEFAULT 0,
    UNIQUE (customer_id, key)
)""",
    "CREATE INDEX rewards_by_order ON rewards(order_id)",
    "CREATE INDEX rewards_by_customer ON rewards(customer_id)",
    "CREATE INDEX rewards_by_referral ON rewards(referral_id)",
    "CREATE INDEX rewards_due ON rewards(hold_until) WHERE state = 'held'",
    """CREATE TABLE ledger (
    id           INTEGER PRIMARY KEY,
    reward_id    TEXT NOT NULL REFERENCES rewards(id),
    customer_id  TEXT NOT NULL,
    bucket       TEXT NOT NULL,
    currency     TEXT,
    amount_minor INTEGER,
    points       INTEGER NOT NULL,
    occurred_at  TEXT NOT NULL,
    reason       TEXT NOT NULL
)""",
    "CREATE INDEX ledger_by_customer ON ledger(customer_id, bucket)",
    """CREATE TABLE events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    type         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    acked        INTEGER NOT NULL DEFAULT 0
)""",
    "CREATE INDEX events_pending ON events(id) WHERE acked = 0",
)

_V2: Step = (
    """CREATE TABLE identity_signals (
    customer_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    digest       TEXT NOT NULL,
    PRIMARY KEY (customer_id, kind, digest)
) WITHOUT ROWID""",
    "CREATE INDEX identity_signals_by_digest ON identity_signals(kind, digest)",
)

# Metrics and click attribution: orders per referral up to a time (covering the old
# referral index, which it replaces), events by type and time (clicks in a window),
# a visitor's clicks (attribution), referrals by attribution time (report windows).
_V3: Step = (
    "CREATE INDEX conversions_by_referral_time ON conversions(referral_id, occurred_at)",
    "DROP INDEX conversions_by_referral",
    "CREATE INDEX events_by_type ON events(type, occurred_at)",
    """CREATE INDEX events_click_visitor ON events(json_extract(payload, '$.visitor'), occurred_at)
    WHERE type = 'click'""",
    "CREATE INDEX referrals_by_time ON referrals(attributed_at)",
)

# Money paths: when a referral started counting as qualified, each order's number among
# its customer's orders, what a coupon was used on and what netted or recovered a
# clawback; refunds by id, coupon redemptions, payouts and clawback settlements, each
# once per key; the definition of every policy version; and the running spend totals a
# budget reads, kept exact by triggers in the transaction that changes a reward.
_MONEY_PATHS: Step = (
    "ALTER TABLE referrals ADD COLUMN qualified_at TEXT",
    """UPDATE referrals SET qualified_at = coalesce(
        (SELECT min(w.created_at) FROM rewards w WHERE w.referral_id = referrals.id),
        (SELECT min(c.occurred_at) FROM conversions c WHERE c.referral_id = referrals.id),
        attributed_at)
    WHERE status = 'qualified'""",
    """CREATE INDEX referrals_qualified ON referrals(referrer, qualified_at)
    WHERE status = 'qualified'""",
    "ALTER TABLE conversions ADD COLUMN order_number INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE conversions ADD COLUMN recorded_at TEXT",
    "UPDATE conversions SET recorded_at = occurred_at",
    """UPDATE conversions SET order_number = (
        SELECT count(*) FROM conversions c
        WHERE c.referee = conversions.referee AND c.rowid <= conversions.rowid)""",
    "ALTER TABLE rewards ADD COLUMN netted_minor INTEGER",
    "ALTER TABLE rewards ADD COLUMN recovered_minor INTEGER",
    "ALTER TABLE rewards ADD COLUMN redeemed_order TEXT",
    "ALTER TABLE rewards ADD COLUMN payout_id TEXT",
    "ALTER TABLE rewards ADD COLUMN expires_at TEXT",
    "CREATE UNIQUE INDEX rewards_by_coupon ON rewards(coupon_code) WHERE coupon_code IS NOT NULL",
    "CREATE INDEX rewards_available ON rewards(id) WHERE state = 'available'",
    """CREATE TABLE refunds (
    refund_id     TEXT PRIMARY KEY,
    order_id      TEXT NOT NULL REFERENCES conversions(order_id),
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    occurred_at   TEXT NOT NULL,
    reward_ids    TEXT NOT NULL
)""",
    """CREATE TABLE coupon_redemptions (
    coupon_code  TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    redeemed_at  TEXT NOT NULL
)""",
    """CREATE TABLE payouts (
    payout_id   TEXT PRIMARY KEY,
    reward_ids  TEXT NOT NULL,
    created_at  TEXT NOT NULL
)""",
    """CREATE TABLE clawback_settlements (
    reference     TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    settled_at    TEXT NOT NULL
)""",
    """CREATE TABLE policy_versions (
    version     TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,
    created_at  TEXT NOT NULL
)""",
    """CREATE TABLE spend_totals (
    currency      TEXT PRIMARY KEY,
    amount_minor  INTEGER NOT NULL,
    points        INTEGER NOT NULL
)""",
    """INSERT INTO spend_totals (currency, amount_minor, points)
    SELECT coalesce(currency, ''), sum(coalesce(amount_minor, 0)), sum(points)
    FROM rewards WHERE state <> 'reversed' GROUP BY coalesce(currency, '')""",
    """CREATE TRIGGER rewards_spend_insert AFTER INSERT ON rewards
    WHEN NEW.state <> 'reversed'
    BEGIN
        INSERT OR IGNORE INTO spend_totals (currency, amount_minor, points)
            VALUES (coalesce(NEW.currency, ''), 0, 0);
        UPDATE spend_totals
            SET amount_minor = amount_minor + coalesce(NEW.amount_minor, 0),
                points = points + NEW.points
            WHERE currency = coalesce(NEW.currency, '');
    END""",
    """CREATE TRIGGER rewards_spend_update AFTER UPDATE OF state, amount_minor, points ON rewards
    WHEN (OLD.state <> 'reversed') <> (NEW.state <> 'reversed')
        OR coalesce(OLD.amount_minor, 0) <> coalesce(NEW.amount_minor, 0)
        OR OLD.points <> NEW.points
    BEGIN
        INSERT OR IGNORE INTO spend_totals (currency, amount_minor, points)
            VALUES (coalesce(NEW.currency, ''), 0, 0);
        UPDATE spend_totals
            SET amount_minor = amount_minor
                    + (CASE WHEN NEW.state <> 'reversed'
                        THEN coalesce(NEW.amount_minor, 0) ELSE 0 END)
                    - (CASE WHEN OLD.state <> 'reversed'
                        THEN coalesce(OLD.amount_minor, 0) ELSE 0 END),
                points = points
                    + (CASE WHEN NEW.state <> 'reversed' THEN NEW.points ELSE 0 END)
                    - (CASE WHEN OLD.state <> 'reversed' THEN OLD.points ELSE 0 END)
            WHERE currency = coalesce(NEW.currency, '');
    END""",
)

# Outbox claims and clicks as facts. Events get what a claim needs: an attempt count,
# when the event may next be claimed (a lease's end, or a retry's), who holds the lease,
# and when it was given up (a dead letter); the pending index leaves dead letters out.
# Clicks leave the outbox for a table of their own, keeping their ids (the order of
# clicks at the same instant) and their metrics; the indexes that found clicks among
# events go with them. Visitor ids of clicks moved here stay as they were stored (the
# file holds no secret to hash them with); the program still finds them by that id.
_OUTBOX_CLAIMS_AND_CLICKS: Step = (
    "ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE events ADD COLUMN claimable_at TEXT",
    "ALTER TABLE events ADD COLUMN worker TEXT",
    "ALTER TABLE events ADD COLUMN dead_at TEXT",
    "DROP INDEX events_pending",
    # Covering: a claim skips leased and waiting events without reading their rows.
    """CREATE INDEX events_undelivered ON events(id, claimable_at)
    WHERE acked = 0 AND dead_at IS NULL""",
    """CREATE TABLE clicks (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL,
    visitor      TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    channel      TEXT,
    campaign     TEXT
)""",
    """INSERT INTO clicks (id, code, visitor, occurred_at, channel, campaign)
    SELECT id, coalesce(json_extract(payload, '$.code'), ''),
        coalesce(json_extract(payload, '$.visitor'), ''), occurred_at,
        json_extract(payload, '$.channel'), json_extract(payload, '$.campaign')
    FROM events WHERE type = 'click' ORDER BY id""",
    "DELETE FROM events WHERE type = 'click'",
    "DROP INDEX events_click_visitor",
    "DROP INDEX events_by_type",
    "CREATE INDEX clicks_by_visitor ON clicks(visitor, occurred_at)",
    "CREATE INDEX clicks_by_time ON clicks(occurred_at)",
)

# What a host's pages read. Codes are found by their key (`referralkit.codes.code_key`:
# case, spaces and dashes ignored) and kept unique by it. Of codes an older file holds
# under one key, the code spelled as the key keeps it, else the oldest; the others keep
# a NULL key and are still found by their exact text. A referee's referrals, a
# referrer's referees, and the store's metadata (the check value of the program secret).
_HOST_PAGES: Step = (
    "ALTER TABLE codes ADD COLUMN lookup_key TEXT",
    """UPDATE codes SET lookup_key = upper(
        replace(replace(replace(replace(code, '-', ''), ' ', ''), '_', ''), char(9), ''))""",
    """UPDATE codes SET lookup_key = NULL WHERE EXISTS (
        SELECT 1 FROM codes o
        WHERE o.lookup_key = codes.lookup_key AND o.rowid <> codes.rowid
        AND ((o.code = o.lookup_key) > (codes.code = codes.lookup_key)
            OR ((o.code = o.lookup_key) = (codes.code = codes.lookup_key)
                AND o.rowid < codes.rowid)))""",
    "CREATE UNIQUE INDEX codes_by_key ON codes(lookup_key)",
    "CREATE INDEX referrals_by_referee ON referrals(referee, attributed_at)",
    "CREATE INDEX referrals_by_referrer_referee ON referrals(referrer, referee)",
    """CREATE TABLE meta (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
)""",
)

#: Trigger moments (moments, invitation decisions, their shares), deliveries, and the
#: invitee's side: referrers' display names and spent app-link claim tokens.
_MOMENTS: Step = (
    """CREATE TABLE moments (
    customer_id  TEXT NOT NULL,
    key          TEXT NOT NULL,
    moment       TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    score        INTEGER,
    order_id     TEXT,
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    UNIQUE (customer_id, key)
)""",
    "CREATE INDEX moments_scored ON moments(customer_id, occurred_at) WHERE score IS NOT NULL",
    """CREATE TABLE moment_decisions (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    moment        TEXT NOT NULL,
    invite        INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    follow_until  TEXT NOT NULL,
    key           TEXT,
    next_allowed_at TEXT,
    exploration   REAL,
    UNIQUE (customer_id, key)
)""",
    "CREATE INDEX moment_decisions_by_customer ON moment_decisions(customer_id, decided_at)",
    "CREATE INDEX moment_decisions_by_time ON moment_decisions(decided_at)",
    """CREATE TABLE moment_shares (
    decision_id  TEXT PRIMARY KEY REFERENCES moment_decisions(id),
    channel      TEXT,
    shared_at    TEXT NOT NULL
)""",
    """CREATE TABLE deliveries (
    order_id      TEXT PRIMARY KEY,
    delivered_at  TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
)""",
    """CREATE TABLE display_names (
    customer_id  TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    updated_at   TEXT NOT NULL
)""",
    """CREATE TABLE claims (
    token_id     TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    claimed_at   TEXT NOT NULL
)""",
)

# Growth: indexes as a file grows. A reward's customer is found through the unique
# (customer_id, key) index, which begins with it, so the customer-only index goes (one
# index fewer written per reward). The debts a reward becoming available is netted
# against are read from an index of the rewards whose clawback is still owed (almost
# none), not from every reward of the customer, which grows with a busy referrer.
_GROWTH_INDEXES: Step = (
    "DROP INDEX rewards_by_customer",
    """CREATE INDEX rewards_owed ON rewards(customer_id, currency)
    WHERE clawback_minor > coalesce(recovered_minor, 0)""",
)

#: Group-buys: a group and its places. ``filled`` counts places taken; a place is taken by
#: a conditional UPDATE on it, and a member holds one place per group (the primary key).
_GROUP_BUYS: Step = (
    """CREATE TABLE groups (
    id                  TEXT PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    initiator           TEXT NOT NULL,
    campaign            TEXT NOT NULL,
    size                INTEGER NOT NULL CHECK (size >= 2),
    filled              INTEGER NOT NULL CHECK (filled <= size),
    state               TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    deadline            TEXT NOT NULL,
    policy_version      TEXT NOT NULL,
    new_customers_only  INTEGER NOT NULL,
    closed_at           TEXT
)""",
    "CREATE INDEX groups_open_by_deadline ON groups(deadline) WHERE state = 'open'",
    """CREATE TABLE group_members (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id      TEXT NOT NULL REFERENCES groups(id),
    member        TEXT NOT NULL,
    joined_at     TEXT NOT NULL,
    referral_id   TEXT REFERENCES referrals(id),
    new_customer  INTEGER NOT NULL,
    order_id      TEXT,
    UNIQUE (group_id, member)
)""",
    "CREATE INDEX group_members_by_member ON group_members(member)",
    (
        "CREATE UNIQUE INDEX group_members_by_order ON group_members(order_id)"
        " WHERE order_id IS NOT NULL"
    ),
)

#: Invitations: a code with its uses. ``used`` counts uses taken, by a conditional UPDATE
#: on it (never past ``uses``); a customer redeems an invitation once (the unique pair).
_INVITATIONS: Step = (
    """CREATE TABLE invitations (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE,
    holder      TEXT NOT NULL,
    campaign    TEXT NOT NULL,
    uses        INTEGER NOT NULL CHECK (uses >= 1),
    used        INTEGER NOT NULL CHECK (used >= 0 AND used <= uses),
    created_at  TEXT NOT NULL,
    expires_at  TEXT
)""",
    "CREATE INDEX invitations_by_holder ON invitations(holder)",
    """CREATE TABLE invitation_redemptions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    code         TEXT NOT NULL REFERENCES invitations(code),
    customer     TEXT NOT NULL,
    referral_id  TEXT NOT NULL REFERENCES referrals(id),
    redeemed_at  TEXT NOT NULL,
    UNIQUE (code, customer)
)""",
)

#: A waitlist: ``seq`` is the join sequence, ``referred`` the accepted friends a
#: waitlister brought (grown by a conditional UPDATE), admission an UPDATE on ``state``.
_WAITLIST: Step = (
    """CREATE TABLE waitlist (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    member       TEXT NOT NULL UNIQUE,
    code         TEXT NOT NULL UNIQUE,
    campaign     TEXT NOT NULL,
    joined_at    TEXT NOT NULL,
    state        TEXT NOT NULL,
    referred_by  TEXT,
    referred     INTEGER NOT NULL CHECK (referred >= 0),
    admitted_at  TEXT
)""",
    "CREATE INDEX waitlist_waiting ON waitlist(seq) WHERE state = 'waiting'",
)

_PARTNERS: Step = (
    """CREATE TABLE partner_groups (
    id             TEXT PRIMARY KEY,
    terms_version  TEXT NOT NULL,
    created_at     TEXT NOT NULL
)""",
    """CREATE TABLE partners (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    account_referral  TEXT NOT NULL UNIQUE,
    audience          INTEGER NOT NULL CHECK (audience >= 0),
    niches            TEXT NOT NULL,
    region            TEXT,
    payout_ref        TEXT,
    terms_version     TEXT,
    group_id          TEXT REFERENCES partner_groups(id)
)""",
    """CREATE TABLE partner_codes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    code        TEXT NOT NULL UNIQUE REFERENCES codes(code),
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    post_id     TEXT
)""",
    "CREATE INDEX partner_codes_by_partner ON partner_codes(partner_id, seq)",
    """CREATE TABLE partner_posts (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    channel     TEXT,
    created_at  TEXT NOT NULL,
    currency    TEXT,
    cost_minor  INTEGER,
    reward_id   TEXT
)""",
    """CREATE TABLE partner_engagement (
    post_id      TEXT NOT NULL REFERENCES partner_posts(id),
    as_of        TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    impressions  INTEGER NOT NULL,
    reach        INTEGER NOT NULL,
    engagements  INTEGER NOT NULL,
    likes        INTEGER NOT NULL,
    comments     INTEGER NOT NULL,
    shares       INTEGER NOT NULL,
    saves        INTEGER NOT NULL,
    PRIMARY KEY (post_id, as_of)
)""",
    """CREATE TABLE partner_orders (
    order_id       TEXT PRIMARY KEY REFERENCES conversions(order_id),
    partner_id     TEXT NOT NULL REFERENCES partners(id),
    code           TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    terms_version  TEXT NOT NULL,
    attributed_at  TEXT NOT NULL,
    post_id        TEXT
)""",
    "CREATE INDEX partner_orders_by_partner ON partner_orders(partner_id)",
)

#: Partner payouts: a partner's (and a group's) hold and payout threshold, the host's
#: verification decision (yes/no and its reference only), and payout batches sent
#: through a provider, each line once per (batch, line) with what became of it.
_PARTNER_PAYOUTS: Step = (
    "ALTER TABLE partners ADD COLUMN threshold_currency TEXT",
    "ALTER TABLE partners ADD COLUMN threshold_minor INTEGER",
    "ALTER TABLE partners ADD COLUMN hold_seconds INTEGER",
    "ALTER TABLE partners ADD COLUMN verified INTEGER",
    "ALTER TABLE partners ADD COLUMN verification_ref TEXT",
    "ALTER TABLE partner_groups ADD COLUMN threshold_currency TEXT",
    "ALTER TABLE partner_groups ADD COLUMN threshold_minor INTEGER",
    "ALTER TABLE partner_groups ADD COLUMN hold_seconds INTEGER",
    """CREATE TABLE partner_payout_batches (
    batch_id    TEXT PRIMARY KEY,
    currency    TEXT,
    created_at  TEXT NOT NULL
)""",
    """CREATE TABLE partner_payout_lines (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id      TEXT NOT NULL REFERENCES partner_payout_batches(batch_id),
    line_id       TEXT NOT NULL UNIQUE,
    partner_id    TEXT NOT NULL REFERENCES partners(id),
    payout_ref    TEXT,
    currency      TEXT NOT NULL,
    amount_minor  INTEGER NOT NULL,
    reward_ids    TEXT NOT NULL,
    status        TEXT NOT NULL,
    reference     TEXT,
    reason        TEXT
)""",
    "CREATE INDEX partner_payout_lines_by_batch ON partner_payout_lines(batch_id, seq)",
)

#: Partner fraud signals: a partner's hashed identity signals, each checkout order's click
#: check (counted by partner and time for a leaked code's burst), and the reviews a
#: partner's rewards wait in: one open review per reward (a partial unique index).
_PARTNER_REVIEWS: Step = (
    """CREATE TABLE partner_signals (
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    kind        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    PRIMARY KEY (partner_id, kind, digest)
)""",
    """CREATE TABLE partner_checks (
    order_id    TEXT PRIMARY KEY REFERENCES partner_orders(order_id),
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    checked_at  TEXT NOT NULL,
    clicked     INTEGER NOT NULL
)""",
    (
        "CREATE INDEX partner_checks_unclicked ON partner_checks(partner_id, checked_at)"
        " WHERE clicked = 0"
    ),
    """CREATE TABLE partner_reviews (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    reward_id   TEXT NOT NULL REFERENCES rewards(id),
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    order_id    TEXT,
    reasons     TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    decision    TEXT,
    decided_at  TEXT,
    note        TEXT
)""",
    "CREATE UNIQUE INDEX partner_reviews_open ON partner_reviews(reward_id) WHERE decision IS NULL",
    "CREATE INDEX partner_reviews_by_order ON partner_reviews(order_id)",
)

# Partner terms: bounty submissions, and the attributes a host sent with an order (its
# categories, products, labels) for the policies that read them, kept for repricing.
_PARTNER_TERMS: Step = (
    """CREATE TABLE partner_submissions (
    id            TEXT PRIMARY KEY,
    partner_id    TEXT NOT NULL REFERENCES partners(id),
    url           TEXT NOT NULL,
    currency      TEXT NOT NULL,
    fee_minor     INTEGER NOT NULL CHECK (fee_minor > 0),
    state         TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    submitted_at  TEXT NOT NULL,
    decided_at    TEXT,
    reason        TEXT,
    reward_id     TEXT
)""",
    "CREATE INDEX partner_submissions_by_partner ON partner_submissions(partner_id)",
    """CREATE TABLE order_attributes (
    order_id    TEXT PRIMARY KEY REFERENCES conversions(order_id),
    attributes  TEXT NOT NULL
)""",
)

#: Ordered migration steps; the schema version is how many have been applied.
MIGRATIONS: tuple[Step, ...] = (
    _V1,
    _V2,
    _V3,
    _MONEY_PATHS,
    _OUTBOX_CLAIMS_AND_CLICKS,
    _HOST_PAGES,
    _MOMENTS,
    _GROWTH_INDEXES,
    _GROUP_BUYS,
    _INVITATIONS,
    _WAITLIST,
    _PARTNERS,
    _PARTNER_PAYOUTS,
    _PARTNER_REVIEWS,
    _PARTNER_TERMS,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(
    conn: sqlite3.Connection,
    path: str,
    migrations: Sequence[Step] = MIGRATIONS,
    *,
    allow_foreign_tables: bool = False,
) -> None:
    """Bring the file on ``conn`` to version ``len(migrations)``, inside the caller's transaction.

    The file is read before anything is written: its recorded version, that it holds
    every table, column, index and trigger of that version, and no table that is not
    referralkit's unless ``allow_foreign_tables``.

    Raises:
        SchemaVersionError: the file records a newer version than ``migrations`` reach.
        StorageError: the file is damaged (its version unreadable, a table missing).
        ConfigError: the file holds another application's tables (``.path`` is
            ``allow_foreign_tables``), or tables named like referralkit's.
    """
    steps = tuple(migrations)
    target = len(steps)
    found = _objects(conn)
    recorded = _recorded_version(conn, path, found)
    current = recorded or 0
    if current > target:
        raise SchemaVersionError(
            f"{path!r} has schema version {current}, newer than this referralkit "
            f"understands ({target}); upgrade referralkit to open it",
            value=current,
        )
    if _VERSION_TABLE in found:
        _check_objects(conn, path, found, steps, current)
    _check_foreign(path, found, steps, current, allow=allow_foreign_tables)
    if _VERSION_TABLE not in found:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for step in steps[current:]:
        for statement in step:
            conn.execute(statement)
    if recorded is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
    elif current < target:
        conn.execute("UPDATE schema_version SET version = ?", (target,))


_VERSION_TABLE = "schema_version"


def _objects(conn: sqlite3.Connection) -> dict[str, str]:
    """Every schema object of the file but SQLite's own: name -> type."""
    rows = conn.execute(
        "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _damaged(path: str, what: str, value: object = None) -> StorageError:
    return StorageError(
        f"{path!r} is a damaged referralkit database: {what}; restore it from a backup",
        value=value,
    )


def _recorded_version(conn: sqlite3.Connection, path: str, found: Mapping[str, str]) -> int | None:
    """The version the file records; None when it records none (a new file)."""
    if found.get(_VERSION_TABLE) != "table":
        return None
    rows = conn.execute("SELECT version FROM schema_version LIMIT 2").fetchall()
    if len(rows) > 1:
        raise _damaged(path, "schema_version holds more than one row", len(rows))
    if not rows:
        return None
    version = rows[0][0]
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise _damaged(path, f"schema_version holds {version!r:.40}, not a version", version)
    return version


def _check_objects(
    conn: sqlite3.Connection,
    path: str,
    found: Mapping[str, str],
    steps: tuple[Step, ...],
    current: int,
) -> None:
    """Refuse a file that lacks part of its version's schema or holds a later version's table."""
    objects, columns = _expected(steps[:current])
    missing = [
        f"table {name}" for name, kind in objects.items() if kind == "table" and name not in found
    ]
    if not missing:
        for table, names in columns.items():
            have = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
            missing += [f"column {table}.{c}" for c in names if c not in have]
        missing += [f"{kind} {name}" for name, kind in objects.items() if found.get(name) != kind]
    if missing:
        raise _damaged(path, f"schema version {current} needs {', '.join(missing)}", missing)
    later, _ = _expected(steps)
    early = sorted(name for name, kind in found.items() if name not in objects and name in later)
    if early and current == 0:
        raise _damaged(path, f"schema_version records no version, yet it holds {', '.join(early)}")
    if early:
        raise _damaged(
            path, f"it holds {', '.join(early)}, which schema version {current} lacks", early
        )


def _check_foreign(
    path: str, found: Mapping[str, str], steps: tuple[Step, ...], current: int, *, allow: bool
) -> None:
    """Refuse a file holding tables that are not referralkit's, unless ``allow``."""
    objects, _ = _expected(steps[:current])
    foreign = sorted(
        name
        for name, kind in found.items()
        if kind == "table" and name != _VERSION_TABLE and name not in objects
    )
    if not foreign:
        return
    later, _ = _expected(steps)
    clash = [name for name in foreign if name in later]
    if clash:
        raise ConfigError(
            f"{path!r} holds tables that are not referralkit's under names referralkit "
            f"needs ({', '.join(clash)}): give referralkit a file of its own",
            value=clash,
            path="path",
        )
    if not allow:
        raise ConfigError(
            f"{path!r} holds tables that are not referralkit's ({', '.join(foreign)}): "
            "give referralkit a file of its own, or pass allow_foreign_tables=True to "
            "share this one",
            value=foreign,
            path="allow_foreign_tables",
        )


@functools.cache
def _expected(steps: tuple[Step, ...]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The schema ``steps`` build: its objects (name -> type), and each table's columns."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in steps:
            for statement in step:
                conn.execute(statement)
        objects = _objects(conn)
        columns = {
            name: tuple(str(row[1]) for row in conn.execute(f"PRAGMA table_info({name})"))
            for name, kind in objects.items()
            if kind == "table"
        }
    finally:
        conn.close()
    return objects, columns
