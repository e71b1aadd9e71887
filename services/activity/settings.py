"""The activity service's settings (environment prefix ACTIVITY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ActivitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8001, ge=1, le=65535)
    # How long a console session (a sign-in by emailed link) lasts before signing in again.
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
