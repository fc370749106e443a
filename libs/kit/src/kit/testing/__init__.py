"""Test fixtures: real PostgreSQL and a real Kafka-protocol broker, isolated per test."""
