"""remittances."""
