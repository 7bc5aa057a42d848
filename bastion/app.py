"""Composition root: Settings -> services -> FastAPI app, CLI commands, workers.

Nothing else builds services; everything else receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI

from bastion.api import create_api
from bastion.audit import AuditLog
from bastion.automations import AutomationService
from bastion.clock import Clock, SystemClock
from bastion.crypto import Keyring, KeyFile
from bastion.engine import Engine
from bastion.identity import TokenService
from bastion.logs import configure_logging
from bastion.settings import Settings
from bastion.store.datakeys import Sealer
from bastion.store.db import Database
from bastion.store.writer import CommitWriter
from bastion.triggers import InputValidator, ManualTrigger, Scheduler, WebhookReceiver


@dataclass
class Services:
    settings: Settings
    clock: Clock
    db: Database
    keyring: Keyring
    sealer: Sealer
    audit: AuditLog
    writer: CommitWriter
    automations: AutomationService
    tokens: TokenService
    engine: Engine
    inputs: InputValidator
    manual: ManualTrigger
    webhooks: WebhookReceiver
    scheduler: Scheduler


def load_keyring(settings: Settings) -> Keyring:
    if settings.master_key is not None:
        return Keyring.from_secret(settings.master_key.get_secret_value())
    return KeyFile(settings.key_file).load_or_create()


def build(settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> Services:
    """Wire every service. Migrates the database first unless told not to."""
    clock = clock or SystemClock()
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if migrate:
        db.migrate()
    keyring = load_keyring(settings)
    sealer = Sealer(db, keyring)
    audit = AuditLog(db, sealer, clock)
    audit.prepare()
    writer = CommitWriter(db, before_commit=audit.append_batch, max_batch=settings.commit_batch_max)
    automations = AutomationService(db, sealer, audit, clock)
    engine = Engine(
        db=db, writer=writer, sealer=sealer, automations=automations, clock=clock, settings=settings
    )
    inputs = InputValidator()
    return Services(
        settings=settings, clock=clock, db=db, keyring=keyring, sealer=sealer, audit=audit,
        writer=writer, automations=automations, tokens=TokenService(db, sealer, audit, clock),
        engine=engine, inputs=inputs, manual=ManualTrigger(automations, engine, inputs),
        webhooks=WebhookReceiver(automations, engine, inputs, writer, settings),
        scheduler=Scheduler(db, automations, engine, clock),
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(services: Services, *, scheduler: bool = True) -> AsyncIterator[Services]:
    """Start the writer, the engine (recovering unfinished executions) and the scheduler."""
    services.writer.start()
    await services.engine.start()
    tick = services.settings.scheduler_interval_seconds
    task = asyncio.create_task(services.scheduler.run_forever(tick)) if scheduler else None
    try:
        yield services
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.engine.stop()
        services.writer.stop()


def create_app(services: Services, *, scheduler: bool = True) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(services, scheduler=scheduler):
            yield

    return create_api(services, lifespan=lifespan)


def serve(settings: Settings) -> None:
    import uvicorn

    configure_logging(settings)
    app = create_app(build(settings))
    uvicorn.run(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        access_log=False, log_level="warning", server_header=False,
    )  # fmt: skip
