"""What we track and when: the index catalogue, market hours and expiry calendars (pure)."""
