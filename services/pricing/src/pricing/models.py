"""Tables of the pricing service, all in the `pricing` schema."""

from __future__ import annotations

from kit.db import make_base
from kit.runtime import MessagingTables

Base = make_base("pricing")
messaging = MessagingTables(Base.metadata)
