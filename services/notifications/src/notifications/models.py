"""Tables of the notifications service, all in the `notifications` schema."""

from __future__ import annotations

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("notifications")
messaging = MessagingTables(Base.metadata)
