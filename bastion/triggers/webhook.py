"""Inbound webhooks: ``POST /hooks/{automation}``.

Order matters: the automation and its trigger are resolved, the body is parsed
and validated against the trigger's schema, and only then is an execution
recorded. A refused body is audited and leaves nothing else behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.automations import AutomationNotFound, AutomationService, Current
from bastion.engine import Engine, State
from bastion.errors import Conflict, Invalid
from bastion.settings import Settings
from bastion.store.writer import Changes, CommitWriter
from bastion.triggers.inputs import InputInvalid, InputValidator


class UnsupportedMediaType(Invalid):
    code = "unsupported_media_type"


class BodyTooLarge(Invalid):
    code = "body_too_large"


class MalformedJson(Invalid):
    code = "invalid_json"


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    body: dict[str, Any] | Any


class WebhookReceiver:
    def __init__(
        self,
        automations: AutomationService,
        engine: Engine,
        inputs: InputValidator,
        writer: CommitWriter,
        settings: Settings,
    ) -> None:
        self._automations, self._engine, self._inputs = automations, engine, inputs
        self._writer, self._settings = writer, settings

    async def receive(
        self,
        name: str,
        body: bytes,
        content_type: str | None,
        *,
        ip: str | None,
        correlation_id: str,
    ) -> WebhookOutcome:
        current = self._resolve(name)
        actor = Actor("webhook", ip, ip)
        try:
            payload = self._parse(body, content_type)
            self._inputs.check(
                (current.id, current.version), current.definition.trigger.input_schema, payload
            )
        except Invalid as exc:
            await self._refused(current, exc, actor, correlation_id)
            raise
        run = await self._engine.submit(
            current, payload, trigger_kind="webhook", actor=actor, correlation_id=correlation_id
        )
        webhook = current.definition.trigger.webhook
        if webhook is None or webhook.respond == "accepted":
            return WebhookOutcome(202, {"execution_id": run.id, "state": run.state.value})
        finished = await self._engine.wait(run, self._settings.webhook_result_timeout_seconds)
        if finished is None:
            return WebhookOutcome(202, {"execution_id": run.id, "state": run.state.value})
        if finished.state == State.succeeded:
            return WebhookOutcome(200, finished.output)
        return WebhookOutcome(
            500,
            {
                "code": "execution_failed",
                "message": f"the execution ended {finished.state.value}: {finished.error_code}",
                "execution_id": run.id,
                "correlation_id": correlation_id,
            },
        )

    def _resolve(self, name: str) -> Current:
        current = self._automations.current(name)
        if current.definition.trigger.webhook is None:
            raise AutomationNotFound(name)  # do not reveal automations that have no webhook
        if not current.enabled:
            raise Conflict(f"automation {name!r} is disabled", code="automation_disabled")
        return current

    def _parse(self, body: bytes, content_type: str | None) -> Any:
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                "webhook bodies must be JSON (Content-Type: application/json)"
            )
        if len(body) > self._settings.webhook_max_body_bytes:
            raise BodyTooLarge(f"body exceeds {self._settings.webhook_max_body_bytes} bytes")
        try:
            return codec.loads(body)
        except codec.JSONDecodeError:
            raise MalformedJson("the body is not valid JSON") from None

    async def _refused(
        self, current: Current, exc: Invalid, actor: Actor, correlation_id: str
    ) -> None:
        problems = len(exc.details or []) if isinstance(exc, InputInvalid) else 0
        event = AuditEvent(
            AuditTag.TRIGGER_REFUSED, actor, subject_kind="automation", subject_id=current.id,
            automation_id=current.id, outcome="denied", correlation_id=correlation_id, ip=actor.id,
            data={"automation": current.name, "code": exc.code, "problems": problems},
        )  # fmt: skip
        await self._writer.submit(Changes(extra=[event]))
