"""Stand-ins for parties we cannot reach from here, speaking their protocols over HTTP."""
