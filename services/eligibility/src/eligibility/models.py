"""Tables of the eligibility service, all in the `eligibility` schema."""

from __future__ import annotations

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("eligibility")
messaging = MessagingTables(Base.metadata)
