"""Engines, sessions and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode; every write transaction starts with ``BEGIN IMMEDIATE``
so that two writers queue on the database lock (``busy_timeout``) instead of one
of them failing when it upgrades a read lock. Reads use a separate engine with
plain deferred transactions, which never block writers in WAL mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.write_engine = self._engine(url, immediate=True, sync=sqlite_synchronous, echo=echo)
        self.read_engine = (
            self._engine(url, immediate=False, sync=sqlite_synchronous, echo=echo)
            if self.is_sqlite
            else self.write_engine
        )
        self._writes = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)

    def _engine(self, url: str, *, immediate: bool, sync: str, echo: bool) -> Engine:
        if not self.is_sqlite:
            return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
        path = url.split("///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file 0600 ourselves: SQLite gives its -wal and -shm files the
            # same mode as the database, so nothing of it is readable by other users.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        _sqlite_pragmas(engine, immediate=immediate, synchronous=sync)
        return engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self._writes() as session, session.begin():
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        with self._reads() as session:
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision of every domain's migrations."""
        from alembic import command

        try:
            command.upgrade(self.alembic_config(), "heads")
        except Exception as exc:
            raise Unavailable(f"database migration failed: {type(exc).__name__}") from exc

    def alembic_config(self) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        config.attributes["engine"] = self.write_engine
        return config

    def dispose(self) -> None:
        self.write_engine.dispose()
        self.read_engine.dispose()


def _sqlite_pragmas(engine: Engine, *, immediate: bool, synchronous: str) -> None:
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let the "begin" hook below choose the mode
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
