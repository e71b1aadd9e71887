"""The evidence service's settings (environment prefix EVIDENCE_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EvidenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8003, ge=1, le=65535)
    # Where learners and reviewers reach this service; evidence pages' addresses start with it.
    public_url: str = "http://127.0.0.1:8003"
    blob_dir: Path = Path(".run/evidence")
    # Signs learners' session cookies.
    session_secret: str = Field(min_length=32)
