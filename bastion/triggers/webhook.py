"""Inbound webhooks: ``POST /hooks/{automation}``.

Order matters, cheapest refusal first, and no execution exists until every check
has passed:

1. ``admit`` (no body read yet): the automation exists and has a webhook, the
   caller's address is on its ``allow_ips`` list, the automation is enabled, and
   the per-source and per-webhook rate limits have room;
2. the adapter reads the body, no further than the size limit;
3. ``accept``: size, content type, JSON parse, nesting depth, the trigger's
   schema, and only then the execution is recorded.

A refused body is audited and leaves nothing else behind. Refusals of the address
or the rate are audited too, at most once a minute per automation and source, so
that a flood never turns into a flood of audit writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from bastion import codec
from bastion.audit import Actor, AuditEvent, AuditTag
from bastion.automations import AutomationNotFound, AutomationService, Current
from bastion.automations.definition import WebhookTrigger
from bastion.engine import Engine, State
from bastion.errors import BastionError, Conflict, Forbidden, Invalid, RateLimited
from bastion.settings import Settings
from bastion.store.writer import Changes, CommitWriter
from bastion.throttle import (
    RateLimitUnavailable,
    Throttle,
    parse_network,
    parse_source,
    source_key,
)
from bastion.triggers.inputs import InputInvalid, InputValidator

# Audited refusals of the address or the rate: one per automation, code and source a
# minute, and at most this many per automation and code a minute whatever the sources.
AUDIT_PER_SOURCE = "1/minute"
AUDIT_PER_AUTOMATION = "60/minute"


class UnsupportedMediaType(Invalid):
    code = "unsupported_media_type"


class BodyTooLarge(Invalid):
    code = "body_too_large"


class MalformedJson(Invalid):
    code = "invalid_json"


class TooDeep(Invalid):
    code = "json_too_deep"


class SourceNotAllowed(Forbidden):
    code = "source_not_allowed"


Networks = tuple[IPv4Network | IPv6Network, ...]


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
        throttle: Throttle,
    ) -> None:
        self._automations, self._engine, self._inputs = automations, engine, inputs
        self._writer, self._settings, self._throttle = writer, settings, throttle
        self._networks: dict[tuple[str, int], Networks] = {}

    async def receive(
        self,
        name: str,
        body: bytes,
        content_type: str | None,
        *,
        ip: str | None,
        correlation_id: str,
    ) -> WebhookOutcome:
        """``admit`` then ``accept``, for a caller that already holds the body."""
        current = await self.admit(name, ip=ip, correlation_id=correlation_id)
        return await self.accept(current, body, content_type, ip=ip, correlation_id=correlation_id)

    async def admit(self, name: str, *, ip: str | None, correlation_id: str) -> Current:
        """The checks that need no body. Returns the automation to hand to ``accept``.

        Raises AutomationNotFound (no such automation, or it has no webhook),
        SourceNotAllowed (the address is not on ``allow_ips``), Conflict
        (``automation_disabled``), RateLimited, or RateLimitUnavailable (the
        rate-limit storage fails: refused, never let through uncounted).
        """
        current = self._automations.current(name)
        webhook = current.definition.trigger.webhook
        if webhook is None:
            raise AutomationNotFound(name)  # do not reveal automations that have no webhook
        try:
            self._check_source(current, webhook, ip)
            if not current.enabled:
                raise Conflict(f"automation {name!r} is disabled", code="automation_disabled")
            await self._check_rates(current, webhook, ip)
        except (SourceNotAllowed, RateLimited) as exc:
            await self._refused_once(current, exc, ip, correlation_id)
            raise
        return current

    async def accept(
        self,
        current: Current,
        body: bytes,
        content_type: str | None,
        *,
        ip: str | None,
        correlation_id: str,
    ) -> WebhookOutcome:
        """Validate ``body`` and record the execution (after ``admit``).

        Raises BodyTooLarge, UnsupportedMediaType, MalformedJson, TooDeep or
        InputInvalid (each audited, nothing recorded), or the engine's Unavailable
        when it has no room.
        """
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

    # -- admission -------------------------------------------------------------------

    def _check_source(self, current: Current, webhook: WebhookTrigger, ip: str | None) -> None:
        if webhook.allow_ips is None:
            return
        address = parse_source(ip)
        if address is None or not any(address in net for net in self._allowed(current, webhook)):
            # The message does not say which addresses are allowed.
            raise SourceNotAllowed("this webhook does not accept requests from this address")

    def _allowed(self, current: Current, webhook: WebhookTrigger) -> Networks:
        key = (current.id, current.version)
        if key not in self._networks:
            self._networks[key] = tuple(parse_network(c) for c in webhook.allow_ips or ())
        return self._networks[key]

    async def _check_rates(self, current: Current, webhook: WebhookTrigger, ip: str | None) -> None:
        # The source's own limit first: a source over it is refused without spending
        # the webhook's shared budget, so one noisy sender cannot starve the others.
        settings = self._settings
        await self._throttle.hit_async(
            webhook.source_rate_limit or settings.webhook_source_rate_limit,
            "webhook", current.id, "source", source_key(ip),
            what="requests to this webhook from this address",
        )  # fmt: skip
        await self._throttle.hit_async(
            webhook.rate_limit or settings.webhook_rate_limit,
            "webhook", current.id, "all",
            what="requests to this webhook",
        )  # fmt: skip

    # -- the body ----------------------------------------------------------------------

    def _parse(self, body: bytes, content_type: str | None) -> Any:
        if len(body) > self._settings.webhook_max_body_bytes:
            raise BodyTooLarge(f"body exceeds {self._settings.webhook_max_body_bytes} bytes")
        media = (content_type or "").split(";", 1)[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                "webhook bodies must be JSON (Content-Type: application/json)"
            )
        try:
            payload = codec.loads(body)
        except codec.JSONDecodeError:
            raise MalformedJson("the body is not valid JSON") from None
        limit = self._settings.webhook_max_depth
        if nested_deeper_than(payload, limit):
            # Before the schema: a validator recursing through a deep document costs
            # far more than this walk, and a deep body is not a sensible input anyway.
            raise TooDeep(f"the body nests objects and arrays more than {limit} levels deep")
        return payload

    # -- audit -------------------------------------------------------------------------

    async def _refused(
        self, current: Current, exc: BastionError, actor: Actor, correlation_id: str
    ) -> None:
        problems = len(exc.details or []) if isinstance(exc, InputInvalid) else 0
        event = AuditEvent(
            AuditTag.TRIGGER_REFUSED, actor, subject_kind="automation", subject_id=current.id,
            automation_id=current.id, outcome="denied", correlation_id=correlation_id, ip=actor.id,
            data={"automation": current.name, "code": exc.code, "problems": problems},
        )  # fmt: skip
        await self._writer.submit(Changes(extra=[event]))

    async def _refused_once(
        self, current: Current, exc: BastionError, ip: str | None, correlation_id: str
    ) -> None:
        """Audit a refused address or rate, unless one like it was audited within the
        minute. If the throttle itself fails, the event is skipped (and logged by it):
        the request is refused either way."""
        keys = ("audit", current.id, exc.code)
        try:
            first = await self._throttle.allow_async(AUDIT_PER_SOURCE, *keys, source_key(ip))
            if first and await self._throttle.allow_async(AUDIT_PER_AUTOMATION, *keys):
                await self._refused(current, exc, Actor("webhook", ip, ip), correlation_id)
        except RateLimitUnavailable:
            return


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep
    (``{}`` and ``[]`` are one level, a scalar none). Iterative: no recursion limit."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
