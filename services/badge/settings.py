"""The badge service's settings (environment prefix BADGE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BadgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BADGE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8002, ge=1, le=65535)
    # The address learners and verifiers reach this service at; every Open Badges id starts with it.
    public_url: str = "http://127.0.0.1:8002"
    blob_dir: Path = Path(".run/blobs")
    # Where learners do evidence quests (the evidence service).
    evidence_public_url: str = "http://127.0.0.1:8003"
    # Issuers' signing keys are derived from the first of these (comma-separated, 32+
    # characters each; older ones after it still derive the keys made under them). Back them
    # up: without them no new credential can be signed. See the README, "Issuer keys".
    issuer_key_secrets: str = Field(default="", repr=False)
