"""How the SQLAlchemy store reports a backend failure: always a `StorageError`.

A failure that may pass if the same call is made again (the connection was lost, the
server is shutting down or restarting, a lock or statement timed out, a deadlock or a
serialization failure rolled the transaction back, the pool had no connection free, the
SQLite file was busy) is a `RetryableStorageError`; the rest is a plain `StorageError`.
The driver's exception is always ``__cause__``.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from referralkit.errors import ReferralError, RetryableStorageError, StorageError

__all__ = ["cause", "is_retryable", "storage_error"]

# SQLSTATE classes and codes that describe a passing condition, not a wrong statement:
# 08 connection exception, 40 transaction rollback (serialization failure, deadlock),
# 53300 too many connections, 55P03 lock not available (lock_timeout), 57014 query
# canceled (statement_timeout), 57P01-57P05 the server shutting down, crashed or idle.
_RETRYABLE_CLASSES = ("08", "40")
_RETRYABLE_CODES = frozenset({"53300", "55P03", "57014", "57P01", "57P02", "57P03", "57P05"})
_LOST = frozenset({"OperationalError", "InterfaceError"})
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def _sqlstate(error: BaseException | None) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_retryable(error: BaseException) -> bool:
    """Whether ``error`` (a SQLAlchemy or driver exception) may pass on a second attempt."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection free in time
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    orig = error.orig if isinstance(error, sa_exc.StatementError) else error
    state = _sqlstate(orig)
    if state is not None:
        return state.startswith(_RETRYABLE_CLASSES) or state in _RETRYABLE_CODES
    if any(busy in str(orig).lower() for busy in _SQLITE_BUSY):
        return True
    # psycopg raises these without a SQLSTATE when the connection is gone.
    kind = type(orig)
    return kind.__module__.startswith("psycopg") and kind.__name__ in _LOST


def storage_error(error: BaseException, doing: str) -> ReferralError:
    """The error to raise for ``error``, which happened while ``doing`` (for the message).

    A referralkit error raised inside SQLAlchemy (a naive time refused while binding a
    parameter) is returned as it is; anything else becomes a `StorageError`, a
    `RetryableStorageError` when it may pass. Raise it ``from cause(error)``, so that its
    ``__cause__`` is the driver's exception.
    """
    orig = error.orig if isinstance(error, sa_exc.StatementError) else None
    if isinstance(orig, ReferralError):
        return orig
    detail = str(orig if orig is not None else error).strip().splitlines()
    first = detail[0] if detail else type(error).__name__
    kind = RetryableStorageError if is_retryable(error) else StorageError
    return kind(f"{doing} failed: {first}", value=_sqlstate(orig))


def cause(error: BaseException) -> BaseException | None:
    """What to raise `storage_error` from: the driver's exception (SQLAlchemy's without one).

    ``raise storage_error(error, doing) from cause(error)``; None for a referralkit error
    that SQLAlchemy only carried, which is raised as it is.
    """
    orig = error.orig if isinstance(error, sa_exc.StatementError) else None
    if isinstance(orig, ReferralError):
        return None
    return orig if isinstance(orig, BaseException) else error
