"""Composition root: Settings -> services -> FastAPI app, CLI commands, workers.

Nothing else builds services; everything else receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from fastapi import FastAPI

from bastion.api import create_api
from bastion.audit import Actor, AuditEvent, AuditLog, AuditTag
from bastion.authz import GrantService
from bastion.automations import AutomationService
from bastion.clock import Clock, SystemClock
from bastion.crypto import KeyFile, Keyring
from bastion.engine import Engine
from bastion.identity import IdentityDeps, IdentityService, SessionService, TokenService
from bastion.logs import configure_logging
from bastion.settings import Settings
from bastion.store.datakeys import Sealer, count_by_kek, rewrap
from bastion.store.db import Database
from bastion.store.writer import CommitWriter
from bastion.throttle import Throttle
from bastion.triggers import InputValidator, ManualTrigger, Scheduler, WebhookReceiver
from bastion.vault import VaultService

log = structlog.get_logger("bastion")


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
    throttle: Throttle
    grants: GrantService
    identity: IdentityService
    sessions: SessionService
    vault: VaultService


def load_keyring(settings: Settings) -> Keyring:
    if settings.master_key is not None:
        return Keyring.from_secret(settings.master_key.get_secret_value())
    return KeyFile(settings.key_file).load_or_create()


def build(settings: Settings, clock: Clock | None = None, *, migrate: bool = True) -> Services:
    """Wire every service. Migrates the database first unless told not to."""
    clock = clock or SystemClock()
    throttle = Throttle.from_settings(settings)  # first: a bad limit stops the start at once
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    if migrate:
        db.migrate()
    keyring = load_keyring(settings)
    sealer = Sealer(db, keyring, reload=lambda: load_keyring(settings))
    audit = AuditLog(db, sealer, clock)
    audit.prepare()
    writer = CommitWriter(db, before_commit=audit.append_batch, max_batch=settings.commit_batch_max)
    automations = AutomationService(db, sealer, audit, clock)
    vault = VaultService(
        db, sealer, audit, writer, clock, grace_seconds=settings.credential_grace_seconds,
        due_days=settings.credential_due_days,
        automation_id=lambda name: automations.get(name).id, automation_name=automations.name_of,
    )  # fmt: skip
    engine = Engine(
        db=db, writer=writer, sealer=sealer, automations=automations, clock=clock,
        settings=settings, vault=vault,
    )  # fmt: skip
    inputs = InputValidator()
    grants = GrantService(db, audit, clock)
    identity = IdentityService(IdentityDeps(db, sealer, audit, clock, settings), grants)
    identity.prepare()
    return Services(
        settings=settings, clock=clock, db=db, keyring=keyring, sealer=sealer, audit=audit,
        writer=writer, automations=automations, tokens=TokenService(db, sealer, audit, clock),
        engine=engine, inputs=inputs, manual=ManualTrigger(automations, engine, inputs),
        webhooks=WebhookReceiver(automations, engine, inputs, writer, settings, throttle),
        scheduler=Scheduler(db, automations, engine, clock), throttle=throttle,
        grants=grants, identity=identity, sessions=identity.sessions, vault=vault,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def running(services: Services, *, scheduler: bool = True) -> AsyncIterator[Services]:
    """Start the writer, the engine (recovering unfinished executions) and the scheduler."""
    services.writer.start()
    await asyncio.to_thread(services.vault.refresh_masker)  # before any step record is written
    await services.engine.start()
    tick = services.settings.scheduler_interval_seconds
    task = asyncio.create_task(_housekeeping(services, tick)) if scheduler else None
    try:
        yield services
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.engine.stop()
        services.writer.stop()


@dataclass(frozen=True)
class Rotation:
    active: str
    started: bool
    rewrapped: int
    retired: list[str]


def rotate_keys(settings: Settings, actor: Actor) -> Rotation:
    """Rotate the KEK of the key file: add a new one, re-wrap every data key, retire the old.

    Resumable: if an earlier run stopped mid-way (data keys still under an older
    KEK), this run finishes that rotation instead of starting another.
    """
    services = build(settings)
    key_file = KeyFile(settings.key_file)
    ring = services.keyring
    stale = any(k != ring.active and n for k, n in count_by_kek(services.db).items())
    if not stale:
        key_file.add_key()
    ring = load_keyring(settings)
    count = _rewrap_until_settled(services, ring)
    in_use = {k for k, n in count_by_kek(services.db).items() if n}
    retired = [k for k in ring.keys if k != ring.active and k not in in_use]
    for old in retired:
        key_file.retire(old)
    data = {"active": ring.active, "rewrapped": count, "retired": retired}
    with services.db.transaction() as session:
        services.audit.record(session, AuditEvent(AuditTag.KEYS_ROTATED, actor, data=data))
    return Rotation(ring.active, not stale, count, retired)


def _rewrap_until_settled(services: Services, ring: Keyring, rounds: int = 5) -> int:
    """Re-wrap, then again while running servers still wrap new data keys under the old
    KEK (they switch to the new one within a scheduler tick of the key file changing)."""
    count = rewrap(services.db, ring)
    for _ in range(rounds):
        time.sleep(services.settings.scheduler_interval_seconds * 2)
        extra = rewrap(services.db, ring)
        count += extra
        if extra == 0:
            break
    return count


async def _housekeeping(services: Services, interval: float) -> None:
    """Every tick: fire due schedules, wake due timers, pick up a rotated key file; about
    once a minute, retire rotated-out credential versions and record overdue rotations."""
    vault_every = services.settings.credential_check_interval_seconds
    vault_last = float("-inf")
    while True:
        try:
            await services.scheduler.tick()
            await services.engine.wake_due()
            await asyncio.to_thread(services.sealer.reload_keyring)
            if time.monotonic() - vault_last >= vault_every:
                vault_last = time.monotonic()
                await asyncio.to_thread(services.vault.check_overdue)
        except Exception:
            log.exception("housekeeping tick failed")
        await asyncio.sleep(interval)


def create_app(services: Services, *, scheduler: bool = True) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with running(services, scheduler=scheduler):
            yield

    return create_api(services, lifespan=lifespan)


def _tune_gc() -> None:
    """Fewer, cheaper collections for a long-running server.

    Everything built at start-up (models, routes, compiled plans) is frozen out of
    the collector's view, and the young generation is collected less often: under
    load the default thresholds made full collections pause every request for
    about 100 ms once a second.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def serve(settings: Settings) -> None:
    import uvicorn

    services = build(settings)
    # Every log line passes through the vault's masker (MIN-1).
    configure_logging(settings, mask=services.vault.masker.mask)
    app = create_app(services)
    _tune_gc()
    log.info(
        "bastion serving",
        url=f"http://{settings.host}:{settings.port}",
        data=str(settings.data_dir),
    )
    uvicorn.run(
        app, host=settings.host, port=settings.port, loop="uvloop", http="httptools",
        access_log=False, log_level="warning", server_header=False,
    )  # fmt: skip
