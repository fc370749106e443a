"""Tables of the claims service, all in the `claims` schema."""

from __future__ import annotations

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("claims")
messaging = MessagingTables(Base.metadata)
