"""The activity service's one composition root: reads its settings once and wires the kernel's
runtime (spec, handlers), the HTTP app and the operator's commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from contracts.activity import TOPIC
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.activity.adapters.read_models import CHECKSUM_TABLES, DDL
from services.activity.commands import COMMANDS
from services.activity.entrypoints.http import build_app
from services.activity.entrypoints.sign_in import SignInSettings
from services.activity.handlers import HANDLERS
from services.activity.settings import ActivitySettings
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="activity",
    own_topic=TOPIC,
    input_topics=(BADGE_TOPIC,),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment, read once, here."""

    kernel: KernelSettings = field(default_factory=KernelSettings)
    activity: ActivitySettings = field(default_factory=ActivitySettings)


def build_runtime(settings: KernelSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or KernelSettings(), HANDLERS)


def sign_in_settings(settings: ActivitySettings) -> SignInSettings:
    """Read when serving only: the operator's commands need no token secret."""
    return SignInSettings(
        tokens=ClaimTokens.from_settings(ClaimTokenSettings()),
        session_lifetime=timedelta(hours=settings.session_hours),
    )


def run(argv: list[str] | None = None) -> int:
    """`serve`, the kernel's commands and the operator's (commands.py), on one set of settings."""
    settings = Settings()
    return main(
        lambda: build_runtime(settings.kernel),
        lambda runtime: build_app(runtime, sign_in_settings(settings.activity), settings.activity),
        lambda: (settings.activity.http_host, settings.activity.http_port),
        extra=COMMANDS,
        argv=argv,
    )
