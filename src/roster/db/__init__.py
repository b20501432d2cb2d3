"""Database access: the bound Piccolo engine, write transactions, and the Alembic bridge."""

from roster.db.engine import bind_engine, close_engine, current_engine, make_engine, open_engine
from roster.db.tx import write_tx

__all__ = ["bind_engine", "close_engine", "current_engine", "make_engine", "open_engine", "write_tx"]
