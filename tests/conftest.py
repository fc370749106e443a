"""Shared test setup: the kit's pytest plugin (loaded with -p kit.testing.plugin) provides the database,
broker, per-test isolation and helpers; see libs/kit/src/kit/testing/plugin.py."""
