"""The evidence service's settings (environment prefix EVIDENCE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EvidenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8003, ge=1, le=65535)
    # Where learners and reviewers reach this service; evidence pages' addresses start with it.
    # An https address also makes the session cookie `Secure`.
    public_url: str = "http://127.0.0.1:8003"
    # Where learners see their badge once a quest is done.
    badge_public_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("EVIDENCE_BADGE_PUBLIC_URL", "BADGE_PUBLIC_URL"),
    )
    # Where the public catalogue is (the activity service): playlist and activity pages.
    activity_public_url: str = Field(
        default="http://127.0.0.1:8001",
        validation_alias=AliasChoices("EVIDENCE_ACTIVITY_PUBLIC_URL", "ACTIVITY_PUBLIC_URL"),
    )
    blob_dir: Path = Path(".run/evidence")
    # Invitations to a playlist one sender (a learner's address, an organiser) may send per
    # day, and invitations one address may receive per day (0: no limit).
    invitations_per_sender: int = Field(default=20, ge=0)
    invitations_per_address: int = Field(default=2, ge=0)
    # Signs learners' session cookies.
    session_secret: str = Field(min_length=32)
    # Session secrets rotated out, comma-separated: sessions signed with them still work.
    session_previous_secrets: str = ""

    @field_validator("session_previous_secrets")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if any(len(secret) < 32 for secret in cls.split(value)):
            raise ValueError("each previous session secret must be 32+ characters")
        return value

    @staticmethod
    def split(secrets: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in secrets.split(",") if part.strip())

    @property
    def session_key_ring(self) -> tuple[str, ...]:
        """The secret that signs new sessions first, then those that are still accepted."""
        return (self.session_secret, *self.split(self.session_previous_secrets))

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.lower().startswith("https://")
