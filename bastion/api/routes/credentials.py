"""``/api/v1/credentials``: the vault over HTTP. Secret values go in (create, rotate)
and never come out: every response is metadata, and a refused secret is reported
by field and rule, never by value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from bastion.api.auth import actor_of, require, services
from bastion.authz import Permission, Principal
from bastion.vault import CredentialDetail, CredentialRead, DueRotation, GrantRead

router = APIRouter(prefix="/api/v1/credentials", tags=["credentials"])
Reader = Annotated[Principal, Depends(require(Permission.VAULT_CREDENTIAL_READ))]
Writer = Annotated[Principal, Depends(require(Permission.VAULT_CREDENTIAL_WRITE))]
Granter = Annotated[Principal, Depends(require(Permission.VAULT_CREDENTIAL_GRANT))]


class CredentialCreate(BaseModel):
    name: str = Field(max_length=64)
    kind: str = Field(max_length=64)
    secret: dict[str, Any] = Field(description="The kind's fields; stored sealed, never returned")
    description: str | None = Field(default=None, max_length=2000)
    rotation_period_days: int | None = None


class CredentialRotate(BaseModel):
    secret: dict[str, Any] = Field(description="The new version's fields")


class GrantCreate(BaseModel):
    automation: str = Field(max_length=64)


@router.post("", response_model=CredentialRead, status_code=201)
def create(request: Request, body: CredentialCreate, principal: Writer) -> Any:
    return services(request).vault.create(
        body.name, body.kind, body.secret, actor_of(principal),
        description=body.description, rotation_period_days=body.rotation_period_days,
    )  # fmt: skip


@router.get("", response_model=list[CredentialRead])
def list_credentials(request: Request, _p: Reader) -> Any:
    return services(request).vault.list()


@router.get("/due", response_model=list[DueRotation])
def due(request: Request, _p: Reader) -> Any:
    return services(request).vault.due()


@router.get("/{name}", response_model=CredentialDetail)
def show(request: Request, name: str, _p: Reader) -> Any:
    return services(request).vault.show(name)


@router.post("/{name}/rotate", response_model=CredentialRead)
def rotate(request: Request, name: str, body: CredentialRotate, principal: Writer) -> Any:
    return services(request).vault.rotate(name, body.secret, actor_of(principal))


@router.post("/{name}/revoke", response_model=CredentialRead)
def revoke(request: Request, name: str, principal: Writer) -> Any:
    return services(request).vault.revoke(name, actor_of(principal))


@router.post("/{name}/grants", response_model=GrantRead, status_code=201)
def grant(request: Request, name: str, body: GrantCreate, principal: Granter) -> Any:
    return services(request).vault.grant(name, body.automation, actor_of(principal))


@router.delete("/{name}/grants/{automation}", response_model=GrantRead)
def revoke_grant(request: Request, name: str, automation: str, principal: Granter) -> Any:
    return services(request).vault.revoke_grant(name, automation, actor_of(principal))
