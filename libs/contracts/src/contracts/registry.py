"""The topic registry: which event types live on which topic, derived from the event models."""

from __future__ import annotations

import inspect

from contracts import events
from contracts.base import Event

DLQ_SUFFIX = ".dlq"


def _collect() -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    for _, obj in inspect.getmembers(events, inspect.isclass):
        if issubclass(obj, Event) and obj is not Event and obj.__module__ == events.__name__:
            event_cls: type[Event] = obj
            found[event_cls.event_type()] = event_cls
    return found


EVENT_TYPES: dict[str, type[Event]] = _collect()
TOPICS: dict[str, list[type[Event]]] = {}
for _cls in EVENT_TYPES.values():
    TOPICS.setdefault(_cls.topic, []).append(_cls)


def event_class(event_type: str) -> type[Event]:
    """The model for a CloudEvents `type`; KeyError when unknown."""
    return EVENT_TYPES[event_type]


def all_topics(*, with_dlq: bool = True) -> list[str]:
    topics = sorted(TOPICS)
    return topics + [t + DLQ_SUFFIX for t in topics] if with_dlq else topics
