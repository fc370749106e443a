"""Sandbox clearinghouse: claims transactions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["claims"])
