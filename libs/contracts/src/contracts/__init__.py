"""Event contracts shared by producers and consumers: import these, never another service."""

from contracts.base import Event, Money
from contracts.registry import DLQ_SUFFIX, EVENT_TYPES, TOPICS, all_topics, event_class

__all__ = ["DLQ_SUFFIX", "EVENT_TYPES", "TOPICS", "Event", "Money", "all_topics", "event_class"]
