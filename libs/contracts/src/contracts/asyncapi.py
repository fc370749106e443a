"""AsyncAPI 3.0 document generated from the topic registry; `python -m contracts.asyncapi` prints YAML."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from contracts.registry import DLQ_SUFFIX, TOPICS


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_")


def build() -> dict[str, Any]:
    """The whole AsyncAPI document as a dict (deterministic: sorted topics and types)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in sorted(TOPICS):
        channel_id = topic.replace(".", "_")
        channel_messages: dict[str, Any] = {}
        for cls in sorted(TOPICS[topic], key=lambda c: c.event_type()):
            name = _message_name(cls.event_type())
            schema = cls.model_json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
            for def_name, def_schema in schema.pop("$defs", {}).items():
                schemas[def_name] = def_schema
            schemas[name] = schema
            messages[name] = {
                "name": cls.event_type(),
                "title": cls.__name__,
                "summary": cls.description,
                "contentType": "application/json",
                "bindings": {"kafka": {"key": {"type": "string", "description": f"{cls.key_field}"}}},
                "headers": {
                    "type": "object",
                    "required": ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion"],
                    "properties": {
                        "ce_specversion": {"type": "string", "const": "1.0"},
                        "ce_id": {"type": "string", "format": "uuid"},
                        "ce_type": {"type": "string", "const": cls.event_type()},
                        "ce_source": {"type": "string"},
                        "ce_time": {"type": "string", "format": "date-time"},
                        "ce_subject": {"type": "string", "description": f"the {cls.key_field}"},
                        "ce_correlationid": {"type": "string"},
                    },
                },
                "payload": {"$ref": f"#/components/schemas/{name}"},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[channel_id] = {
            "address": topic,
            "description": f"Dead letters go to `{topic}{DLQ_SUFFIX}` with the error in the `x-error` header.",
            "messages": channel_messages,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parity events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary content mode. Keys are client ids unless noted; "
            "payloads carry opaque ids only.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return yaml.safe_dump(build(), sort_keys=False, width=110)


if __name__ == "__main__":
    sys.stdout.write(render())
