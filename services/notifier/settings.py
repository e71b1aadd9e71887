"""The notifier's settings (environment prefix NOTIFIER_)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8004, ge=1, le=65535)
    # Where learners reach the badge service: claim links and badge pages start with it.
    badge_public_url: str = "http://127.0.0.1:8002"
    # Where reviewers and learners reach evidence quests.
    evidence_public_url: str = "http://127.0.0.1:8003"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Open Badges <badges@localhost>"
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    # A message is tried this many times, waiting backoff, 2x backoff, 4x ... in between:
    # by default an SMTP outage of about two minutes is ridden out before EmailFailed.
    smtp_attempts: int = Field(default=8, ge=1, le=20)
    smtp_backoff_seconds: float = Field(default=1.0, ge=0)
