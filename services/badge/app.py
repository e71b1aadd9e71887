"""Wires the badge service: its spec for the kernel, its handlers and its HTTP app."""

from __future__ import annotations

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC as NOTIFIER_TOPIC
from services.badge.adapters.read_models import CHECKSUM_TABLES, DDL
from services.badge.handlers import build_handlers
from services.badge.settings import BadgeSettings
from services.kernel.blob_store import BlobStore
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="badge",
    own_topic=TOPIC,
    input_topics=(ACTIVITY_TOPIC, EVIDENCE_TOPIC, NOTIFIER_TOPIC),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)


def build_runtime(
    settings: KernelSettings | None = None, badge_settings: BadgeSettings | None = None
) -> ServiceRuntime:
    blobs = BlobStore((badge_settings or BadgeSettings()).blob_dir)
    return ServiceRuntime(SPEC, settings or KernelSettings(), lambda _: build_handlers(blobs))
