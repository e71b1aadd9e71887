"""The console's settings (environment prefix CONSOLE_): where it listens, where organisers
reach it, and the public APIs it speaks to on their behalf."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kernel.web.origins import session_cookie_secure


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8005, ge=1, le=65535)
    # Where organisers open the console; emailed sign-in links start with it, and an https
    # address makes the session cookie `Secure`.
    public_url: str = "http://127.0.0.1:8005"
    # The public APIs the console reads and writes through, as the signed-in organiser.
    activity_url: str = "http://127.0.0.1:8001"
    badge_url: str = "http://127.0.0.1:8002"
    evidence_url: str = "http://127.0.0.1:8003"
    # How long one call to a backing service may take before the page says "try again".
    backend_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # After signing in, how long to wait for the badge and evidence services to know the new
    # session key (their consumers project it from activity.events) before going on anyway.
    session_ready_seconds: float = Field(default=5.0, ge=0, le=60)

    @property
    def secure_cookies(self) -> bool:
        return session_cookie_secure(self.public_url)
