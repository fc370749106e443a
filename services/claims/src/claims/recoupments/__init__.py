"""recoupments."""
