"""Derive SQLAlchemy metadata from the Piccolo tables, for Alembic.

Piccolo tables are the single source of truth; Alembic autogenerates and checks migrations against
the metadata built here. On SQLite the declared type names must be Piccolo's own (``UUID``,
``TIMESTAMPTZ``, ``ARRAY``...) because Piccolo decodes values by declared type (stack-notes §2).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from piccolo import columns as pc
from piccolo.constraints import Unique
from piccolo.table import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.types import UserDefinedType

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SqliteDeclType(UserDefinedType):
    """A column declared on SQLite with exactly the given type name."""

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: object) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"SqliteDeclType({self.name!r})"


#: Piccolo's SQLite type names that SQLAlchemy's reflection does not know.
PICCOLO_SQLITE_TYPES = ("UUID", "TIMESTAMPTZ", "ARRAY", "SECONDS", "JSONB")


def _reflected(name: str) -> type[SqliteDeclType]:
    return type(
        f"Reflected{name.title()}",
        (SqliteDeclType,),
        {"__init__": lambda self, *a: SqliteDeclType.__init__(self, name)},
    )


def register_sqlite_reflection() -> None:
    """Without this, SQLite reflects these names as NUMERIC and batch migrations rewrite them."""
    for name in PICCOLO_SQLITE_TYPES:
        SQLiteDialect.ischema_names.setdefault(name, _reflected(name))


def _sa_type(column: pc.Column) -> sa.types.TypeEngine:
    if isinstance(column, pc.UUID):
        return sa.Uuid().with_variant(SqliteDeclType("UUID"), "sqlite")
    if isinstance(column, pc.Varchar):
        return sa.String(column.length)
    if isinstance(column, pc.Text):
        return sa.Text()
    if isinstance(column, pc.BigInt):
        return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    if isinstance(column, pc.Integer):
        return sa.Integer()
    if isinstance(column, pc.Real):
        return sa.REAL()
    if isinstance(column, pc.Boolean):
        return sa.Boolean()
    if isinstance(column, pc.Timestamptz):
        return sa.TIMESTAMP(timezone=True).with_variant(SqliteDeclType("TIMESTAMPTZ"), "sqlite")
    if isinstance(column, pc.Date):
        return sa.Date()
    if isinstance(column, pc.JSONB):
        return postgresql.JSONB().with_variant(SqliteDeclType("JSONB"), "sqlite")
    if isinstance(column, pc.JSON):
        return sa.JSON()
    if isinstance(column, pc.Array):
        return postgresql.ARRAY(_sa_type(column.base_column)).with_variant(SqliteDeclType("ARRAY"), "sqlite")
    raise TypeError(f"no SQLAlchemy mapping for Piccolo column {type(column).__name__}")


def _sa_column(column: pc.Column) -> sa.Column:
    meta = column._meta
    if isinstance(column, pc.ForeignKey):
        target = meta.params["references"]
        args: list[object] = [_sa_type(target._meta.primary_key)]
        args.append(
            sa.ForeignKey(
                f"{target._meta.tablename}.{target._meta.primary_key._meta.db_column_name}",
                ondelete=meta.params["on_delete"].value,
                onupdate=meta.params["on_update"].value,
            )
        )
    else:
        args = [_sa_type(column)]
    return sa.Column(
        meta.db_column_name,
        *args,
        primary_key=meta.primary_key,
        nullable=meta.null and not meta.primary_key,
        unique=meta.unique or None,
        index=meta.index or None,
        autoincrement=False,
    )


#: Indexes over several columns, by table (Piccolo declares one-column indexes only). ``(last_name, id)`` is
#: the roster's keyset order: a page reads its rows off the index instead of sorting every match first.
COMPOSITE_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {"physician": (("last_name", "id"),)}


def metadata_from_piccolo(tables: Iterable[type[Table]]) -> sa.MetaData:
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for table in tables:
        items: list[object] = [_sa_column(c) for c in table._meta.columns]
        for constraint in table._meta.constraints:
            if isinstance(constraint, Unique):
                items.append(sa.UniqueConstraint(*constraint.get_column_names()))
            else:
                raise TypeError(f"unsupported constraint on {table._meta.tablename}: {constraint!r}")
        for columns in COMPOSITE_INDEXES.get(table._meta.tablename, ()):
            items.append(sa.Index(f"ix_{table._meta.tablename}_{'_'.join(columns)}", *columns))
        sa.Table(table._meta.tablename, metadata, *items)
    return metadata


def target_metadata() -> sa.MetaData:
    from roster.db.tables import ALL_TABLES

    return metadata_from_piccolo(ALL_TABLES)
