"""The AsyncAPI description of every topic and event, for `faststream docs gen`:

    uv run faststream docs gen contracts.asyncapi:docs --out contracts/asyncapi.json

It only describes the contracts (who publishes which event where); the services consume with
the kernel in services/kernel, which FastStream's defaults would not make safe enough.
"""

from __future__ import annotations

from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from contracts import activity, badge, evidence, notifier
from contracts.envelope import Envelope, registry

PRODUCERS = {
    activity.TOPIC: "activity",
    badge.TOPIC: "badge",
    evidence.TOPIC: "evidence",
    notifier.TOPIC: "notifier",
}


def build() -> FastStream:
    broker = KafkaBroker("kafka:9092", description="The event logs; every topic keeps everything.")
    for name, model in sorted(registry().items()):
        publisher: Any = broker.publisher(
            model.topic,
            title=f"{model.topic}:{name}",
            description=(model.__doc__ or name).strip().splitlines()[0]
            + f" Published by the {PRODUCERS[model.topic]} service; key = stream_id.",
            schema=Envelope[model],  # type: ignore[valid-type]
        )
        del publisher
    return FastStream(
        broker,
        specification=AsyncAPI(
            broker,
            title="Open Badges platform events",
            version="1.0.0",
            description="Events the activity, badge, evidence and notifier services exchange.",
        ),
    )


docs = build()
