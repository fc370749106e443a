"""Outbox, relay and idempotent consumers: state and the events it causes commit together."""
