"""Billing guidance."""
