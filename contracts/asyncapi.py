"""The AsyncAPI 3.0 description of every topic and event, built from the contract models and
the catalogue of services (contracts/services.py); `python -m contracts export` writes it to
contracts/schemas/asyncapi.json beside the JSON Schemas, and a unit test fails on drift.

It only describes the contracts (who publishes which event where): the services consume with
the kernel in services/kernel, so no messaging framework is needed to write it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from contracts.envelope import Envelope, registry
from contracts.services import producer_of

TITLE = "Open Badges platform events"
DESCRIPTION = "Events the activity, badge, evidence and notifier services exchange."
SERVER = {
    "development": {
        "description": "The event logs; every topic keeps everything.",
        "host": "kafka:9092",
        "pathname": "",
        "protocol": "kafka",
        "protocolVersion": "auto",
    }
}
SCHEMAS = "#/components/schemas/"


def _ref(name: str) -> str:
    return SCHEMAS + quote(name, safe="")


def document() -> dict[str, Any]:
    """The AsyncAPI document: one channel and one send operation per event type."""
    events = sorted(registry().items())
    schemas: dict[str, Any] = {}
    for name, model in events:
        envelope = Envelope[model].model_json_schema(ref_template=SCHEMAS + "{model}")  # type: ignore[valid-type]
        schemas.update(envelope.pop("$defs", {}))
        schemas[f"Envelope[{name}]"] = envelope
    schemas = {name: _with_quoted_refs(schemas[name]) for name in sorted(schemas)}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for name, model in events:
        key = f"{model.topic}:{name}"
        summary = (model.__doc__ or name).strip().splitlines()[0]
        producer = producer_of(model.topic).name
        messages[f"{key}:Message"] = {
            "correlationId": {"location": "$message.header#/correlation_id"},
            "payload": {"$ref": _ref(f"Envelope[{name}]")},
            "title": f"{key}:Message",
        }
        channels[key] = {
            "address": model.topic,
            "bindings": {"kafka": {"bindingVersion": "0.4.0", "topic": model.topic}},
            "description": f"{summary} Published by the {producer} service; key = stream_id.",
            "messages": {"Message": {"$ref": f"#/components/messages/{key}:Message"}},
            "servers": [{"$ref": "#/servers/development"}],
        }
        operations[key] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/Message"}],
        }
    return {
        "asyncapi": "3.0.0",
        "channels": channels,
        "components": {"messages": messages, "schemas": schemas},
        "defaultContentType": "application/json",
        "info": {"description": DESCRIPTION, "title": TITLE, "version": "1.0.0"},
        "operations": operations,
        "servers": SERVER,
    }


def _with_quoted_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: _ref(value.removeprefix(SCHEMAS))
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMAS)
            else _with_quoted_refs(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_with_quoted_refs(item) for item in node]
    return node
