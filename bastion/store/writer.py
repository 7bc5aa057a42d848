"""Group commit: many callers' writes, one transaction, one thread.

The hot path (webhook -> execution -> steps) writes small rows many times per
execution. Committing each on its own would cost a transaction and a thread hop
per write; instead every caller hands its ``Changes`` to this writer and awaits
a future. One thread drains whatever is queued, applies it in one transaction
and resolves every caller's future at once. Under load a single commit carries
hundreds of executions' writes; when idle a write commits immediately.

Ordering: batches are applied in submission order, so a caller that does not
await a write (e.g. an execution moving to ``running``) still knows it commits
no later than the next write it does await. Within a batch, inserts go in
foreign-key order, then updates in submission order.

A batch that fails is retried one ``Changes`` at a time, so one bad write fails
only its own caller.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Insert, Table, Update, bindparam

from bastion.store.base import Base
from bastion.store.db import Database

log = logging.getLogger(__name__)

BeforeCommit = Callable[[Connection, list["Changes"]], None]


@dataclass
class Changes:
    """Rows to write together. ``extra`` carries domain records (e.g. audit events)
    that the ``before_commit`` hook turns into rows."""

    inserts: list[tuple[Table, dict[str, Any]]] = field(default_factory=list)
    updates: list[tuple[Table, str, dict[str, Any]]] = field(default_factory=list)
    extra: list[Any] = field(default_factory=list)

    def insert(self, table: Table, row: dict[str, Any]) -> Changes:
        self.inserts.append((table, row))
        return self

    def update(self, table: Table, key: str, values: dict[str, Any]) -> Changes:
        """Update the row whose primary key ``id`` is ``key``."""
        self.updates.append((table, key, values))
        return self


_STOP = object()


class CommitWriter:
    def __init__(self, db: Database, *, before_commit: BeforeCommit, max_batch: int = 512) -> None:
        self._db = db
        self._before_commit = before_commit
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._order = {t: i for i, t in enumerate(Base.metadata.sorted_tables)}
        self._inserts: dict[Table, Insert] = {}
        self._updates: dict[tuple[Table, frozenset[str]], Update] = {}

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="bastion-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def submit(self, changes: Changes) -> asyncio.Future[None]:
        """Queue ``changes``; the future resolves once they are committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put((changes, future, loop))
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit_batch(batch)
            if stop:
                return

    def _commit_batch(self, batch: list[Any]) -> None:
        results: list[BaseException | None] = [None] * len(batch)
        try:
            self._apply([changes for changes, _, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                log.exception("write failed")
                results = [exc]
            else:
                results = [self._apply_alone(changes) for changes, _, _ in batch]
        by_loop: dict[Any, list[tuple[asyncio.Future[None], BaseException | None]]] = defaultdict(
            list
        )
        for (_, future, loop), error in zip(batch, results, strict=True):
            by_loop[loop].append((future, error))
        for loop, items in by_loop.items():
            loop.call_soon_threadsafe(_resolve, items)

    def _apply_alone(self, changes: Changes) -> BaseException | None:
        try:
            self._apply([changes])
        except Exception as exc:
            log.exception("write failed")
            return exc
        return None

    def _apply(self, batch: list[Changes]) -> None:
        inserts: dict[tuple[Table, frozenset[str]], list[dict[str, Any]]] = defaultdict(list)
        for changes in batch:
            for table, row in changes.inserts:
                inserts[(table, frozenset(row))].append(row)
        with self._db.write_engine.begin() as conn:
            for (table, _), rows in sorted(inserts.items(), key=lambda kv: self._order[kv[0][0]]):
                conn.execute(self._insert(table), rows)
            for stmt, params in self._update_runs(batch):
                conn.execute(stmt, params)
            self._before_commit(conn, batch)

    def _update_runs(self, batch: list[Changes]) -> list[tuple[Update, list[dict[str, Any]]]]:
        """One update per row (its updates merged in submission order, so the last value
        of each column wins, as if they had run one by one), grouped by shape so that
        each shape is one executemany."""
        merged: dict[tuple[Table, str], dict[str, Any]] = {}
        for changes in batch:
            for table, key, values in changes.updates:
                merged.setdefault((table, key), {}).update(values)
        runs: dict[Update, list[dict[str, Any]]] = {}
        for (table, key), values in merged.items():
            stmt = self._update(table, frozenset(values))
            runs.setdefault(stmt, []).append({**values, "_key": key})
        return list(runs.items())

    # Statements are built once per shape: building and cache-keying them on every
    # write cost more CPU than executing them.
    def _insert(self, table: Table) -> Insert:
        stmt = self._inserts.get(table)
        if stmt is None:
            stmt = self._inserts[table] = table.insert()
        return stmt

    def _update(self, table: Table, columns: frozenset[str]) -> Update:
        stmt = self._updates.get((table, columns))
        if stmt is None:
            stmt = table.update().where(table.c.id == bindparam("_key"))
            stmt = stmt.values({c: bindparam(c) for c in sorted(columns)})
            self._updates[(table, columns)] = stmt
        return stmt


def _resolve(items: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    for future, error in items:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
