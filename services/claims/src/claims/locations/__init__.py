"""locations."""
