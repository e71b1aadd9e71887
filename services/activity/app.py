"""Wires the activity service: its spec for the kernel, its handlers and its HTTP app."""

from __future__ import annotations

from contracts.activity import TOPIC
from services.activity.adapters.read_models import CHECKSUM_TABLES, DDL
from services.activity.handlers import HANDLERS
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="activity",
    own_topic=TOPIC,
    input_topics=(),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)


def build_runtime(settings: KernelSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or KernelSettings(), lambda _: HANDLERS)
