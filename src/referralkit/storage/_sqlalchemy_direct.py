"""Running the repositories' Core statements straight on the driver's cursor (PostgreSQL).

A unit of work sends a few dozen small statements; SQLAlchemy's execution machinery
(execution contexts, events, result objects) costs about as much per statement as the
round trip to a local server does. So on PostgreSQL each statement is compiled by
SQLAlchemy once (per set of inserted columns), with its bind and result processors
taken from its own types (`TypeEngine.bind_processor`, `TypeEngine.result_processor`),
and then executed on the DB-API cursor of the unit of work's SQLAlchemy connection:
the same SQL text, the same parameters, inside the transaction SQLAlchemy began and
will commit. Statements with expanding ``IN`` lists keep the ordinary path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Executable
from sqlalchemy.sql.elements import BindParameter

__all__ = ["DirectStatements", "Prepared", "Rows"]

_Processor = Callable[[Any], Any]


class Rows:
    """The part of a `sqlalchemy.CursorResult` the repositories use, over fetched rows."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def first(self) -> tuple[Any, ...] | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        """The first column of the only row."""
        (row,) = self._rows
        return row[0]

    def all(self) -> list[tuple[Any, ...]]:
        """Every row."""
        return self._rows

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)


class Prepared:
    """One statement compiled for a dialect, with the processors of its binds and columns."""

    __slots__ = ("binds", "defaults", "results", "returns_rows", "sql")

    def __init__(self, statement: Executable, dialect: Dialect, keys: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys else None)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        binds: Mapping[str, BindParameter[Any]] = compiled.binds
        self.defaults = {
            name: bind.value
            for name, bind in binds.items()
            if bind.value is not None and not bind.required
        }
        self.binds: dict[str, _Processor] = {}
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.binds[name] = processor
        for name in list(self.defaults):
            if name in self.binds:
                self.defaults[name] = self.binds[name](self.defaults[name])
        columns = list(getattr(statement, "exported_columns", ()))
        self.returns_rows = bool(columns)
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.results: list[_Processor | None] | None = (
            processors if any(p is not None for p in processors) else None
        )

    def parameters(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` bound as SQLAlchemy would bind them, with the statement's own literals."""
        out = dict(self.defaults)
        binds = self.binds
        for name, value in params.items():
            processor = binds.get(name)
            out[name] = value if processor is None or value is None else processor(value)
        return out

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A fetched row, read as SQLAlchemy would read it."""
        processors = self.results
        if processors is None:
            return row
        return tuple(
            v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True)
        )


class DirectStatements:
    """`Prepared` statements by statement and inserted columns, for one store's dialect."""

    __slots__ = ("_cache", "_dialect")

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._cache: dict[tuple[int, tuple[str, ...] | None], Prepared | None] = {}

    def get(self, statement: Executable, params: Any) -> Prepared | None:
        """The statement prepared for these parameters' columns; None to run it the usual way."""
        keys: tuple[str, ...] | None = None
        if getattr(statement, "is_insert", False) and params:
            first = params[0] if isinstance(params, list) else params
            keys = tuple(first)
        key = (id(statement), keys)
        try:
            return self._cache[key]
        except KeyError:
            pass
        prepared: Prepared | None = None
        if not _expanding(statement):
            prepared = Prepared(statement, self._dialect, keys)
        self._cache[key] = prepared
        return prepared


def _expanding(statement: Executable) -> bool:
    """Whether ``statement`` has an expanding ``IN`` parameter (rendered per execution)."""
    from sqlalchemy.sql.visitors import iterate  # noqa: PLC0415 - once per statement

    return any(
        isinstance(element, BindParameter) and element.expanding
        for element in iterate(statement)  # type: ignore[arg-type]
    )
