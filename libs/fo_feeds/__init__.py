"""Feed sources that are pure: the market simulator (and, later, tapes)."""
