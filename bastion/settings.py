"""The one place Bastion reads its configuration: ``BASTION_*`` environment variables.

``Settings`` is built once by the composition root (``bastion.app``) and passed
down; it is frozen, so nothing changes configuration behind another module's back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
