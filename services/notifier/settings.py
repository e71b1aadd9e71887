"""The notifier's settings (environment prefix NOTIFIER_)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8004, ge=1, le=65535)
    # Where learners reach the badge service: claim links and badge pages start with it.
    badge_public_url: str = "http://127.0.0.1:8002"
    # Where reviewers and learners reach evidence quests.
    evidence_public_url: str = "http://127.0.0.1:8003"
    # Where organisers reach the console: their sign-in links start with it.
    console_public_url: str = Field(
        default="http://127.0.0.1:8005",
        validation_alias=AliasChoices("NOTIFIER_CONSOLE_PUBLIC_URL", "CONSOLE_PUBLIC_URL"),
    )
    # Where the public catalogue is (the activity service): invitations link its playlist pages.
    activity_public_url: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias=AliasChoices("NOTIFIER_ACTIVITY_PUBLIC_URL", "ACTIVITY_PUBLIC_URL"),
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # The sender's address; the display name is the issuing organisation's. A name given here
    # ("Open Badges <badges@example.org>") is used where no organisation is known.
    smtp_from: str = "Open Badges <badges@localhost>"
    smtp_timeout_seconds: float = Field(default=15, gt=0)
    # Messages on their way at once, each over its own kept-open connection. The server
    # accepts them one at a time, each recorded in Kafka before the next (one duplicate at
    # most per crash, however many connections).
    smtp_connections: int = Field(default=8, ge=1, le=64)
    # Messages the server may accept side by side before their records reach Kafka (in one
    # acknowledgement): the most a crash can mail twice. More is faster against a relay that
    # takes its time to accept; 1 keeps the promise of one duplicate per crash at most.
    smtp_duplicates_per_crash: int = Field(default=1, ge=1, le=64)
    # An email whose attempt fails in a way that may pass (no connection, a 4xx answer) waits
    # in the retry schedule: backoff, 2x backoff, 4x ... up to the maximum between attempts,
    # for the retry period counted from its first failure; then it is recorded as EmailFailed.
    smtp_backoff_seconds: float = Field(default=5.0, gt=0)
    smtp_backoff_max_seconds: float = Field(default=600.0, gt=0)
    smtp_retry_period_seconds: float = Field(default=24 * 3600, gt=0)
    # After the server could not be reached, new emails wait this long before one tries again,
    # so an outage costs each email no connection timeout.
    smtp_outage_pause_seconds: float = Field(default=2.0, ge=0)
    # Worker processes that render messages (an offer's QR code is the costly part) while the
    # event loop goes on consuming and sending; 0 renders them on the loop.
    render_processes: int = Field(default=1, ge=0, le=16)
    # How often the retry schedule is looked at for emails whose time has come.
    retry_poll_seconds: float = Field(default=1.0, gt=0)

    @field_validator("smtp_from")
    @classmethod
    def _an_address(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or " " in address:
            raise ValueError(f"{value!r} holds no email address (badges@example.org)")
        return value
