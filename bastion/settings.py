"""The one place Bastion reads its configuration: ``BASTION_*`` environment variables.

``Settings`` is built once by the composition root (``bastion.app``) and passed
down; it is frozen, so nothing changes configuration behind another module's back.
"""

from __future__ import annotations

import re
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")  # how resolvers spot an IPv4 address
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BASTION_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=Path(".bastion"), description="Key file, SQLite database.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite in the data directory when unset."
    )
    master_key: SecretStr | None = Field(
        default=None, description="Key-encryption key (base64, 32 bytes) instead of the key file."
    )

    host: str = "127.0.0.1"
    port: int = 8080
    url: str = Field(default="http://127.0.0.1:8080", description="Where the CLI finds the API.")
    token: SecretStr | None = Field(default=None, description="API token the CLI sends.")

    workers: int = Field(default=64, ge=1, description="Executions run at once per process.")
    step_timeout_seconds: float = Field(default=30.0, gt=0)
    execution_deadline_seconds: float = Field(default=3600.0, gt=0)
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    webhook_result_timeout_seconds: float = Field(default=30.0, gt=0)
    scheduler_interval_seconds: float = Field(default=1.0, gt=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"
    commit_batch_max: int = Field(default=512, ge=1, description="Most writes in one commit.")

    # Rate limits (API-2) and webhook hardening; see docs/operations.md.
    rate_limit_storage: str = Field(
        default="memory://",
        description="memory:// (this process) or a redis:// URL shared by every replica.",
    )
    rate_limit_key_prefix: str = Field(default="bastion", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    rate_limit_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    api_rate_limit_per_token: str = Field(default="600/minute", description="Per API token.")
    api_rate_limit_per_ip: str = Field(default="1200/minute", description="Per source IP.")
    webhook_rate_limit: str = Field(default="100/second", description="Per webhook.")
    webhook_source_rate_limit: str = Field(default="600/minute", description="Per source IP.")
    webhook_max_depth: int = Field(default=32, ge=1, le=512, description="JSON nesting.")

    # Users, logins and sessions (AUTH-1, AUTH-3, AUTH-4); see docs/operations.md.
    mfa: Literal["required", "optional"] = Field(
        default="required", description="'required': no full session before a second factor."
    )
    password_min_length: int = Field(default=12, ge=8, le=64)
    password_hash_memory_kib: int = Field(default=19456, ge=7168, description="argon2id m.")
    password_hash_iterations: int = Field(default=2, ge=1, description="argon2id t.")
    password_hash_parallelism: int = Field(default=1, ge=1, description="argon2id p.")
    login_lockout_failures: int = Field(default=10, ge=1, le=100)
    login_lockout_seconds: float = Field(default=900.0, gt=0, description="First lockout.")
    login_lockout_max_seconds: float = Field(default=86400.0, gt=0)
    login_challenge_seconds: float = Field(default=300.0, gt=0, le=3600)
    session_idle_seconds: float = Field(default=900.0, gt=0)
    session_absolute_seconds: float = Field(default=43200.0, gt=0)
    session_touch_seconds: float = Field(default=60.0, ge=0)
    setup_token_seconds: float = Field(default=86400.0, gt=0)

    # Outbound HTTP (NET-1, ENC-1); see docs/operations.md. Lists are comma-separated.
    egress_allow_internal: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names and networks (CIDR) reachable although internal.",
    )
    egress_plain_http_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Hosts outbound requests may reach over plain http://."
    )
    egress_ca_file: Path | None = Field(
        default=None, description="A PEM bundle of extra CAs trusted for outbound TLS."
    )
    egress_connect_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("egress_allow_internal", "egress_plain_http_hosts", mode="before")
    @classmethod
    def _egress_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for entry in value:
                _check_egress_entry(entry)
        return value

    # The credential vault (SA-3); see docs/operations.md.
    credential_grace_seconds: float = Field(
        default=3600.0, ge=0, description="How long a rotated-out version stays valid."
    )
    credential_due_days: int = Field(
        default=14, ge=0, le=365, description="Rotations due within this many days are listed."
    )
    credential_check_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often overdue rotations and grace periods are checked."
    )

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "console"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bastion.db').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def _check_egress_entry(entry: Any) -> None:
    """An egress host entry is an IP address, a CIDR network or a host name."""
    text = str(entry).strip().lower().removeprefix("[").removesuffix("]")
    try:
        if "/" in text:
            ip_network(text)
        else:
            ip_address(text)
    except ValueError:
        pass
    else:
        return
    last_label = text.rstrip(".").rsplit(".", 1)[-1]
    if "/" in text or ":" in text or _NUMERIC_LABEL.match(last_label):
        raise ValueError(f"{entry!r} is not a valid address or network")
    if not _HOST_NAME.match(text):
        raise ValueError(f"{entry!r} is not a valid host name")
