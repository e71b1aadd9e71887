"""The activity service's settings (environment prefix ACTIVITY_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# OpenStreetMap's own tile server; its usage policy asks for the attribution below and a light
# load, so a busy deployment sets its own (ACTIVITY_MAP_TILE_URL).
OPENSTREETMAP_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OPENSTREETMAP_ATTRIBUTION = "© OpenStreetMap contributors"


class ActivitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACTIVITY_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8001, ge=1, le=65535)
    # How long a console session (a sign-in by emailed link) lasts before signing in again.
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    # Where learners' browsers reach the badge service: the catalogue shows each badge's image
    # and links its Open Badges BadgeClass there.
    badge_public_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("ACTIVITY_BADGE_PUBLIC_URL", "BADGE_PUBLIC_URL"),
    )
    # The catalogue map's tiles come from outside: a Leaflet URL template ({z}/{x}/{y}, and {s}
    # for subdomains), and the attribution its provider asks for.
    map_tile_url: str = OPENSTREETMAP_TILES
    map_attribution: str = OPENSTREETMAP_ATTRIBUTION

    @field_validator("map_tile_url")
    @classmethod
    def _a_tile_template(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            raise ValueError(
                "the tile URL is an http(s) template with {z}, {x} and {y}, "
                f"e.g. {OPENSTREETMAP_TILES}"
            )
        return value
